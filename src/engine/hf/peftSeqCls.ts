/**
 * A SEQ_CLS PEFT adapter's companions: the labels file beside it (adapter_config.json keeps PEFT's
 * own keys: PEFT's config classes may refuse others) and the README with the exact Python that
 * loads it, num_labels and id2label included (AutoModelForSequenceClassification needs
 * num_labels to build the head the adapter's saved one replaces). The adapter itself is
 * peftAdapter.ts's writePeftAdapter with `head` (seqClsHead.ts's seqClsTensors).
 */
/** What a SEQ_CLS adapter's head predicts: AutoModelForSequenceClassification needs num_labels
 *  (and takes id2label / problem_type) when it builds the base the adapter goes on. */
export interface LabelInfo {
  num_labels: number
  id2label: Record<string, string>
  label2id: Record<string, number>
  problem_type: 'single_label_classification' | 'regression'
  /** A decoder's regression: `score` has no bias, so the target's mean is added to its output. */
  studio_regression_offset?: number
}

/** The file beside a SEQ_CLS adapter with its LabelInfo (adapter_config.json keeps PEFT's keys only). */
export const SEQ_CLS_LABELS_FILE = 'seq_cls_labels.json'

export function labelInfo(labels: number, names: readonly string[], regression: boolean, offset: number): LabelInfo {
  const n = names.length === labels ? names : Array.from({ length: labels }, (_, i) => `LABEL_${i}`)
  return {
    num_labels: labels,
    id2label: Object.fromEntries(n.map((x, i) => [String(i), x])),
    label2id: Object.fromEntries(n.map((x, i) => [x, i])),
    problem_type: regression ? 'regression' : 'single_label_classification',
    ...(offset ? { studio_regression_offset: offset } : {}),
  }
}

export function seqClsAdapterReadme(base: string, config: Record<string, unknown>, labels: LabelInfo, padTokenId: number | null): string {
  const regression = labels.problem_type === 'regression'
  const args = [`num_labels=${labels.num_labels}`, ...(regression ? ['problem_type="regression"'] : [`id2label=${pyDict(labels.id2label)}`, `label2id=${pyDict(labels.label2id)}`])]
  const pad = padTokenId !== null ? `\nbase.config.pad_token_id = ${padTokenId}  # the class finds each row's last real token by it` : ''
  const offset = labels.studio_regression_offset ? `\n\nThe score layer has no bias, so the targets' mean is not in the weights: add ${labels.studio_regression_offset} (studio_regression_offset in ${SEQ_CLS_LABELS_FILE}) to the model's output to get the target's units.` : ''
  return `# PEFT LoRA adapter with a ${regression ? 'regression' : 'classification'} head for ${base}

Fine-tuned in the browser studio: LoRA on ${JSON.stringify(config.target_modules)} (r = ${String(config.r)}, lora_alpha = ${String(config.lora_alpha)}) and the sequence-classification head, saved whole as PEFT saves modules_to_save (${JSON.stringify(config.modules_to_save)}) in adapter_model.safetensors. ${SEQ_CLS_LABELS_FILE} holds num_labels and the label names. Load it with Hugging Face PEFT:

\`\`\`python
from transformers import AutoModelForSequenceClassification
from peft import PeftModel
base = AutoModelForSequenceClassification.from_pretrained("${base}", ${args.join(', ')})${pad}
model = PeftModel.from_pretrained(base, "path/to/this/folder")
model.eval()
\`\`\`

The head's weights come from the adapter (PEFT replaces the randomly initialised head the first line creates); num_labels must be ${labels.num_labels} so its shapes match.${regression ? ' The output is in the target\'s own units.' : ''}${offset}
`
}

/** A Python dict literal: id2label with int keys (as transformers keeps them), label2id with str keys. */
function pyDict(o: Record<string, string | number>): string {
  return `{${Object.entries(o).map(([k, v]) => `${typeof v === 'string' ? k : JSON.stringify(k)}: ${JSON.stringify(v)}`).join(', ')}}`
}
