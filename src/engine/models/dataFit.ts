import type { ModelInput, TaskKind } from '../types/model'

/** Why this model cannot be fine-tuned on this dataset, or null when it can. */
export function dataFitProblem(model: { title: string; input: ModelInput; hasTokenizer: boolean }, dataset: { name: string; task: TaskKind } | null): string | null {
  if (!dataset) return null
  const textTask = dataset.task === 'text-classification' || dataset.task === 'language-modelling'
  if (textTask && model.input.kind === 'image') {
    return `${model.title} reads ${model.input.description}, but ${dataset.name} is a text dataset (${dataset.task}). Choose an image dataset for this model, or load a text model (the built-in Tiny LM) for this dataset. The model stays loaded and can still be tried in the playground.`
  }
  if (textTask && !model.hasTokenizer) {
    return `${model.title} reads ${model.input.description}; text needs the model's own tokenizer, which a layers model does not carry. Load the built-in Tiny LM (or a studio model file) for ${dataset.name}.`
  }
  return null
}

/** Why a text model (the built-in Tiny LM, a Hugging Face checkpoint) cannot be fine-tuned on
 *  this dataset, or null when it can: it reads tokens, so an image set needs an image model. */
export function textModelFitProblem(title: string, dataset: { name: string; task: TaskKind } | null): string | null {
  if (dataset?.task !== 'image-classification') return null
  return `${title} reads text, but ${dataset.name} is an image dataset. Load an image model for it (the built-in Emoji CNN, under Base model), or choose a text dataset for ${title}.`
}
