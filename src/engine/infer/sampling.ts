/**
 * Next-token choice from one row of logits, in plain JS (the row is read back once with
 * `await data()`, so sampling costs no extra GPU round trips).
 */
export interface SamplingOptions {
  /** Divides the logits; ≤ 1e-6 means greedy (argmax). Higher = more varied text. */
  temperature: number
  /** Keep only the k most likely tokens; 0 keeps all. k = 1 is greedy. */
  topK: number
}

/** Index of the largest value (the first one on ties). */
export function argmax(values: ArrayLike<number>): number {
  let best = 0
  for (let i = 1; i < values.length; i++) if ((values[i] as number) > (values[best] as number)) best = i
  return best
}

/** softmax(logits / temperature), computed stably; sums to 1. */
export function softmax(logits: ArrayLike<number>, temperature = 1): Float64Array {
  const t = Math.max(temperature, 1e-6)
  let max = -Infinity
  for (let i = 0; i < logits.length; i++) max = Math.max(max, logits[i] as number)
  const out = new Float64Array(logits.length)
  let sum = 0
  for (let i = 0; i < logits.length; i++) {
    const e = Math.exp(((logits[i] as number) - max) / t)
    out[i] = e
    sum += e
  }
  for (let i = 0; i < out.length; i++) out[i] = (out[i] as number) / sum
  return out
}

/** The probabilities sampling draws from: softmax at the temperature, restricted to the
 *  top k (ties broken by lower index) and renormalised; zero elsewhere. */
export function samplingDistribution(logits: ArrayLike<number>, opts: SamplingOptions): Float64Array {
  const n = logits.length
  if (n === 0) throw new Error('Cannot sample from an empty vocabulary')
  if (opts.temperature <= 1e-6 || opts.topK === 1) {
    const out = new Float64Array(n)
    out[argmax(logits)] = 1
    return out
  }
  const probs = softmax(logits, opts.temperature)
  const k = opts.topK > 0 ? Math.min(Math.floor(opts.topK), n) : n
  if (k < n) {
    const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => (logits[b] as number) - (logits[a] as number) || a - b)
    const keep = new Uint8Array(n)
    for (let i = 0; i < k; i++) keep[order[i] as number] = 1
    let sum = 0
    for (let i = 0; i < n; i++) {
      if (!keep[i]) probs[i] = 0
      sum += probs[i] as number
    }
    for (let i = 0; i < n; i++) probs[i] = (probs[i] as number) / sum
  }
  return probs
}

/** Draws one index; `random` gives floats in [0, 1) (seeded for reproducible text). */
export function sampleToken(logits: ArrayLike<number>, opts: SamplingOptions, random: () => number): number {
  const probs = samplingDistribution(logits, opts)
  const r = random()
  let acc = 0
  let last = 0
  for (let i = 0; i < probs.length; i++) {
    const p = probs[i] as number
    if (p <= 0) continue
    acc += p
    last = i
    if (r < acc) return i
  }
  return last // rounding left r just above the total
}
