/** Where a model's weights came from, in the words the Base model panel shows after its title. */
import type { ModelSummary } from '../../worker/protocol'

/**
 * "fine-tuned from <base>", "pretrained" or "randomly initialised"; null where the title says
 * it already. A studio export loaded back is titled "<base> fine-tuned on <data>" (its card,
 * engine/export/modelCard.ts): saying "— fine-tuned from <base>" after that says it twice.
 * A title that does not name both (a file's own name, a renamed model) keeps the words.
 */
export function originWords(model: Pick<ModelSummary, 'title' | 'pretrained' | 'finetunedFrom'>): string | null {
  const base = model.finetunedFrom
  if (!base) return model.pretrained ? 'pretrained' : 'randomly initialised'
  const title = model.title.toLowerCase()
  return title.includes(base.toLowerCase()) && /fine-?tuned/.test(title) ? null : `fine-tuned from ${base}`
}
