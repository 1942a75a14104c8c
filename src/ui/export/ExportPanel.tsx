import { formatBytes, formatDecimal } from '../../format/format'
import { useId, useState } from 'react'
import { reportHtml, reportJson } from '../../shared/report'
import { exportModel } from '../../state/actions'
import { openHtml, saveBlob } from '../../state/download'
import { useExport } from '../../state/exportState'
import { useStudio } from '../../state/store'
import type { ExportChoice } from '../../worker/protocol'
import { Panel } from '../common/Panel'
import { CopyLink } from './CopyLink'
import { reportFromStore } from './reportFromStore'

const CHOICES: { value: ExportChoice; label: string; help: string }[] = [
  { value: 'merged', label: 'Merged model', help: 'The whole fine-tuned model in one file, LoRA folded into the weights. Loads on its own.' },
  { value: 'adapter', label: 'Adapter only', help: 'Only what fine-tuning added or changed (head, LoRA, adapters): small, but needs the same base model loaded first.' },
  { value: 'interpolated', label: 'Interpolated at the kept α', help: 'The whole model at θ(α) between base and fine-tuned; choose α in Evaluate (Keep best α).' },
]

/** For a Hugging Face model: the formats its own tools load (worker/hfModelHost.ts). */
const HF_CHOICES: typeof CHOICES = [
  { value: 'adapter', label: 'PEFT LoRA adapter (Hugging Face)', help: 'adapter_config.json + adapter_model.safetensors in a .zip: PeftModel.from_pretrained loads it on the same base model, and so does this studio (choose its files under Hugging Face models). Needs a LoRA run. After a classification or regression run it also holds the head (PEFT’s modules_to_save: score, or classifier with BERT’s pooler / DistilBERT’s pre_classifier), with seq_cls_labels.json and a README giving the Python that loads it: AutoModelForSequenceClassification.from_pretrained(base, num_labels=…, id2label=…), then PeftModel.from_pretrained.' },
  { value: 'merged', label: 'Merged model (Hugging Face)', help: 'model.safetensors (LoRA merged into the weights) + config.json + the tokenizer files in a .zip: from_pretrained loads it, and so does this studio. After a classification or regression run: the whole model with its head as AutoModelForSequenceClassification loads it (a head on mean-pooled features is written in the studio’s own format, which it does not load).' },
]

const mb = (n: number) => formatBytes(n)

/** Step 7: take the result away — the model as a .zip, a report, a link to the settings. */
export function ExportPanel() {
  const id = useId()
  const [choice, setChoice] = useState<ExportChoice>('merged')
  const hf = useStudio((s) => s.model?.card?.source === 'huggingface')
  const choices = hf ? HF_CHOICES : CHOICES
  const trained = useStudio((s) => s.status === 'done' && s.result !== null)
  // A studio .zip with its measured figures, or a PEFT adapter loaded onto a Hugging Face model
  // (no figures of its own: its weights are what the merged export folds in, as PEFT's
  // merge_and_unload does).
  const hasImported = useExport((s) => s.imported !== null && (s.imported.metrics !== null || s.imported.choice === 'adapter'))
  // A restored checkpoint's weights (or θ(α) of them) are the session's, so they can be exported
  // too (not while a run trains).
  const hasRestored = useExport((s) => s.restored)
  const idle = useStudio((s) => s.status === 'done' || s.status === 'idle')
  const restored = hasRestored && idle
  const busy = useStudio((s) => s.busy)
  const { kept, pending, lastExport } = useExport()
  const canExport = (trained || restored || hasImported) && pending === null
  const report = () => reportFromStore()
  return (
    <Panel step={8} title="Export and share" id="export">
      {!trained && !restored && !hasImported && <p className="muted">Train a model first; then download it, a report of the run, or a link to its settings.</p>}
      <fieldset className="export-choice" disabled={!canExport}>
        <legend>What to download</legend>
        {choices.map((c) => (
          <div key={c.value} className="radio">
            <input type="radio" id={`${id}-${c.value}`} name={`${id}-choice`} value={c.value} checked={choice === c.value} onChange={() => setChoice(c.value)} aria-describedby={`${id}-${c.value}-help`} />
            <label htmlFor={`${id}-${c.value}`}>
              {c.label}
              {c.value === 'interpolated' ? ` (α = ${formatDecimal(kept, 2)})` : ''}
            </label>
            <p className="help" id={`${id}-${c.value}-help`}>
              {c.help}
            </p>
          </div>
        ))}
      </fieldset>
      <div className="controls">
        <button type="button" className="primary" disabled={!canExport} onClick={() => exportModel(choice, choice === 'interpolated' ? kept : 1)} title="Builds a .zip with model.json, weights.bin, the task head and a model card">
          Download model (.zip)
        </button>
        {pending === 'export' && (
          <label>
            {busy?.task === 'export' ? busy.label : 'Preparing the export'}
            <progress max={busy?.task === 'export' ? busy.total : 1} {...(busy?.task === 'export' ? { value: busy.done } : {})} aria-label="Export progress" />
          </label>
        )}
        {lastExport && pending !== 'export' && (
          <span role="status" data-testid="export-status">
            Downloaded {lastExport.fileName} ({mb(lastExport.bytes)}).
          </span>
        )}
      </div>
      <div className="controls">
        <button type="button" disabled={!trained} onClick={() => saveBlob(new Blob([reportJson(report())], { type: 'application/json' }), 'training-report.json')} title="Settings, data, metrics and curves as JSON">
          Download report (JSON)
        </button>
        <button type="button" disabled={!trained} onClick={() => openHtml(reportHtml(report()))} title="A printable page with the charts, in a new tab">
          Open printable report
        </button>
      </div>
      <CopyLink />
    </Panel>
  )
}
