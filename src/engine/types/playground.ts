/** The playground's questions to a model and its answers (the protocol carries them as they are). */

/** "before" = the base weights (with the run's head as it was before training), "after" = tuned. */
export type Which = 'before' | 'after'

/** What the playground sends to a model: text, an image's RGBA pixels, or a table row. */
export type PlaygroundInput =
  | { kind: 'text'; text: string }
  | { kind: 'image'; width: number; height: number; rgba: Uint8ClampedArray; name: string }
  | { kind: 'row'; values: Record<string, string> } // a table row: feature column → typed value

/** A conversation for a model whose tokenizer has a chat template (Hugging Face
 *  tokenizer_config.json's chat_template): rendered by it with the generation prompt; greedy, or
 *  the sampling the model's generation_config.json asks for. */
export interface PlaygroundChat {
  messages: { role: 'system' | 'user' | 'assistant'; content: string }[]
  greedy: boolean
}

/** One answer to a playground request. */
export type PlaygroundAnswer =
  | { type: 'prediction'; requestId: string; which: Which; classes: { name: string; prob: number }[]; note: string; value?: { name: string; value: number } } // value: regression, in the target's units
  | { type: 'generation'; requestId: string; which: Which; text: string; done: boolean; stopped: boolean; prompt?: string } // prompt: a chat as the model's template rendered it (text is then the reply alone)
  | { type: 'playground'; requestId: string; message: string } // why a playground request gave no answer
