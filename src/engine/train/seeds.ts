/** Seeds for every random mask a training step draws (dropout in the body, the head, LoRA).
 *
 *  tfjs seeds its generators with `alea(String(seed))`, so a seed may be a string. Seeds
 *  here are strings built from their parts, which makes them distinct for distinct parts by
 *  construction: the old arithmetic seed `seed·100003 + step·31 + m` repeated as soon as
 *  m reached 31 (accumulation allows 64), and a product like `seed·7919 + k` could land on
 *  another step's seed. Everything a mask depends on is in its seed and nothing is kept in
 *  a counter between steps, so a run resumed from a checkpoint draws the same masks as an
 *  uninterrupted one. */
export type Seed = number | string

/** The seed of micro-batch `micro` of optimizer step `step` (0-based) in a run seeded `seed`. */
export function microBatchSeed(seed: number, step: number, micro: number): string {
  return `${seed}:${step}:${micro}`
}

/** A seed for one named draw inside a step (e.g. "h0.attn.qkv" for a LoRA layer's dropout,
 *  "drop3" for the body's fourth dropout); undefined stays undefined (unseeded). */
export function subSeed(seed: Seed | undefined, part: string | number): string | undefined {
  return seed === undefined ? undefined : `${seed}/${part}`
}
