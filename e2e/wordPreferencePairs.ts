// Preference pairs a tiny language model can learn, built from the shipped samples
// (public/samples/lm/): the prompt is the start of an e-mail's subject with "One word:", the
// chosen answer a positive word and the rejected answer a negative word of the AFINN list the
// word-sentiment pairs are made of (each one GPT-2 token with its leading space).
//
// Why it is learnable: whatever the prompt, the chosen answer is always one of the same few
// positive words and the rejected one of the same few negative words, so "raise these words,
// lower those" carries over to held-out pairs (other prompts, the same words in pairs the
// training pairs never made); a randomly initialised model has no such preference, so its held-out
// preference accuracy starts near chance.
import { encode } from 'gpt-3-encoder'

export interface Pair {
  prompt: string
  chosen: string
  rejected: string
}

/** `train` and `val` pairs from the texts of afinn-preferences.jsonl and spam-ham-preferences.jsonl. */
export function wordPreferencePairs(afinnJsonl: string, emailsJsonl: string, train: number, val: number, words = 8): { train: Pair[]; val: Pair[] } {
  const pos: string[] = []
  const neg: string[] = []
  for (const line of afinnJsonl.trim().split('\n')) {
    const r = JSON.parse(line) as Pair
    const w = /"([a-z]+)"/.exec(r.prompt)?.[1]
    if (!w || encode(` ${w}`).length !== 1) continue
    const to = r.chosen.trim() === 'positive' ? pos : neg
    if (to.length < words && !to.includes(` ${w}`)) to.push(` ${w}`)
  }
  const prompts = emailsJsonl
    .trim()
    .split('\n')
    .map((l) => (JSON.parse(l) as Pair).prompt.replace(/^E-mail: /, '').split(' — ')[0]!.split(/\s+/).slice(0, 5).join(' '))
  // held-out pairs: other prompts, and each positive word against another negative word than in training
  const pair = (i: number, shift: number): Pair => ({ prompt: `${prompts[i % prompts.length]}\nOne word:`, chosen: pos[(i * 3) % pos.length]!, rejected: neg[(i * 5 + shift) % neg.length]! })
  return { train: Array.from({ length: train }, (_, i) => pair(i, 1)), val: Array.from({ length: val }, (_, i) => pair(train + i, 4)) }
}

export const jsonl = (pairs: readonly Pair[]) => pairs.map((p) => JSON.stringify(p)).join('\n') + '\n'
