import type { Encoded } from './encoded'

/** A two-block toy LM's shape for the loop's guard tests (impossibleLoss.test.ts,
 *  nonFiniteValidation.test.ts). */
export const TOY_CFG = { vocabSize: 24, seqLen: 8, dModel: 16, nLayers: 2, nHeads: 2, dFF: 32 }

/** n rows of two classes: class 1 texts contain token 5, class 0 texts token 6 (as
 *  fineTune.test.ts), the other tokens a fixed pattern. */
export function toyClassification(n: number): Encoded {
  const T = TOY_CFG.seqLen
  const tokens = new Int32Array(n * T)
  const mask = new Float32Array(n * T)
  const labels = new Int32Array(n)
  for (let i = 0; i < n; i++) {
    labels[i] = i % 2
    for (let t = 0; t < 6; t++) {
      tokens[i * T + t] = t === 1 ? (i % 2 ? 5 : 6) : 7 + ((i * 7 + t * 3) % 16)
      mask[i * T + t] = 1
    }
  }
  return { kind: 'classification', n, seqLen: T, tokens, mask, labels, classes: ['a', 'b'] }
}
