/** The playground's questions to a model and its answers (the protocol carries them as they are). */

/** "before" = the base weights (with the run's head as it was before training), "after" = tuned. */
export type Which = 'before' | 'after'

/** What the playground sends to a model: text, an image's RGBA pixels, or a table row. */
export type PlaygroundInput =
  | { kind: 'text'; text: string }
  | { kind: 'image'; width: number; height: number; rgba: Uint8ClampedArray; name: string }
  | { kind: 'row'; values: Record<string, string> } // a table row: feature column → typed value

/** One answer to a playground request. */
export type PlaygroundAnswer =
  | { type: 'prediction'; requestId: string; which: Which; classes: { name: string; prob: number }[]; note: string; value?: { name: string; value: number } } // value: regression, in the target's units
  | { type: 'generation'; requestId: string; which: Which; text: string; done: boolean; stopped: boolean }
  | { type: 'playground'; requestId: string; message: string } // why a playground request gave no answer
