/** The LM objectives' chat playground for the built-in LM: a greedy answer to a conversation
 *  rendered with its chat template and generation prompt, by the base weights and by the
 *  tuned model, so the page shows both. */
import * as tf from '@tensorflow/tfjs'
import { withWeights } from '../../infer/playground'
import type { ForwardHooks } from '../../models/tinyGpt'
import { encodeWithSpecials, renderChat, tinyLmChatFormat } from '../../tasks/sft/data'
import type { LmChatMessage } from '../../types/lmObjectives'
import type { ChatAnswer, ChatRequest } from '../family'
import type { HeldText } from './text'

/** Greedy answer with `hooks` (the tuning's, or none for the base). */
async function answer(held: HeldText, messages: readonly LmChatMessage[], maxTokens: number, hooks: ForwardHooks | undefined, raw: boolean): Promise<{ prompt: string; text: string }> {
  const { body: model, tokenizer } = held
  const chat = tinyLmChatFormat(tokenizer)
  // Prompt/completion rows trained as bos + prompt → completion; chat rows with the template.
  const prompt = raw ? messages.at(-1)!.content : renderChat(chat, messages, true)
  const context = raw ? [...(tokenizer.bosId !== null ? [tokenizer.bosId] : []), ...tokenizer.encode(prompt)] : encodeWithSpecials(prompt, tokenizer, chat.specials)
  const out: number[] = []
  const T = model.config.seqLen
  for (let i = 0; i < maxTokens; i++) {
    const window = context.slice(-T)
    const logits = tf.tidy(() => {
      const hidden = model.forward(tf.tensor2d([window], [1, window.length], 'int32'), hooks ? { hooks } : {})
      return model.lmLogits(hidden.slice([0, window.length - 1, 0], [1, 1, model.config.dModel]) as tf.Tensor3D).reshape([model.config.vocabSize])
    })
    const v = await logits.data()
    logits.dispose()
    v[tokenizer.padId] = -Infinity
    if (tokenizer.bosId !== null) v[tokenizer.bosId] = -Infinity
    let next = 0
    for (let k = 1; k < v.length; k++) if (v[k]! > v[next]!) next = k
    if (next === tokenizer.eosId) break
    out.push(next)
    context.push(next)
  }
  return { prompt, text: tokenizer.decode(out) }
}

export async function textChat(held: HeldText, r: ChatRequest): Promise<ChatAnswer> {
  const run = () => answer(held, r.messages, r.maxTokens, undefined, r.raw)
  const base = held.base ? await withWeights(held.body, held.base, run) : await run()
  const tuning = held.tuning && !held.tuning.head ? held.tuning : null
  const tuned = tuning ? await answer(held, r.messages, r.maxTokens, tuning.hooks, r.raw) : null
  return { prompt: base.prompt, base: base.text, tuned: tuned?.text ?? null }
}
