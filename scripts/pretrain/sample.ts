/** Text samples from a TinyGpt, for the model card and a smoke test of saved weights. */
import * as tf from '@tensorflow/tfjs'
import type { BpeTokenizer } from '../../src/engine/data/bpeTokenizer'
import type { TinyGpt } from '../../src/engine/models/tinyGpt'
import { mulberry32 } from '../../src/engine/train/pretrainLm'

export async function sampleText(model: TinyGpt, tokenizer: BpeTokenizer, prompt: string, newTokens: number, temperature = 0.8, seed = 1): Promise<string> {
  const rand = mulberry32(seed)
  const ids = [tokenizer.eosId, ...tokenizer.encode(prompt)] // <eos> marks a document start in pretraining
  for (let i = 0; i < newTokens; i++) {
    const context = ids.slice(-model.config.seqLen)
    const logits = tf.tidy(() => {
      const h = model.forward(tf.tensor2d([context], [1, context.length], 'int32'))
      return model.lmLogits(h).slice([0, context.length - 1, 0], [1, 1, model.config.vocabSize]).reshape([model.config.vocabSize])
    })
    const values = await logits.data()
    logits.dispose()
    ids.push(pick(values, temperature, rand))
    if (ids.at(-1) === tokenizer.eosId) break
  }
  return prompt + tokenizer.decode(ids.slice(1 + tokenizer.encode(prompt).length))
}

/** Samples from softmax(logits / temperature); special ids other than <eos> are never picked. */
function pick(logits: ArrayLike<number>, temperature: number, rand: () => number): number {
  let max = -Infinity
  for (let i = 2; i < logits.length; i++) max = Math.max(max, logits[i] ?? -Infinity)
  const p = new Float64Array(logits.length)
  let sum = 0
  for (let i = 2; i < logits.length; i++) sum += p[i] = Math.exp(((logits[i] ?? -Infinity) - max) / temperature)
  let r = rand() * sum
  for (let i = 2; i < p.length; i++) if ((r -= p[i] ?? 0) <= 0) return i
  return logits.length - 1
}
