import { useId, useRef, useState } from 'react'
import { useStudio, runActive } from '../../state/store'
import { chooseColumns, chooseObjective, downloadRecipe, loadLmData, trainLm, useLm, type LmChoice } from '../../state/lmObjectives'
import { MaskPreview } from './MaskPreview'
import { DpoCharts } from './DpoCharts'
import { ChatPlayground } from './ChatPlayground'
import { PseudoLabelling } from './PseudoLabelling'
import { DraftNumberInput } from '../common/DraftNumberInput'

const CHOICES: { id: LmChoice; label: string; help: string }[] = [
  {
    id: 'sft',
    label: 'Instruction tuning (SFT)',
    help: 'Teach the model to answer: JSON Lines of {"prompt", "completion"} or chat {"messages": [system, user, assistant]}, or a CSV with prompt and completion columns. The loss counts only the answer tokens.',
  },
  {
    id: 'dpo',
    label: 'Preference tuning (DPO)',
    help: 'Teach the model which of two answers people prefer: JSON Lines of {"prompt", "chosen", "rejected"}. The model before tuning is the reference; the line to beat is how often it already prefers the chosen answer.',
  },
  {
    id: 'pseudo',
    label: 'Learning without labels',
    help: 'Texts with no labels and class names you type: the model labels them zero-shot, you keep the confident ones, and they train a classifier head or the model’s own label scores; further rounds re-label with the tuned model.',
  },
]

const SAMPLES: Record<'sft' | 'dpo', { train: string; validation: string }> = {
  sft: { train: 'afinn-instructions.jsonl', validation: 'afinn-instructions-validation.jsonl' },
  dpo: { train: 'spam-ham-preferences.jsonl', validation: 'spam-ham-preferences-validation.jsonl' },
}

async function sampleFile(name: string): Promise<File> {
  const r = await fetch(new URL(`samples/lm/${name}`, document.baseURI).href)
  if (!r.ok) throw new Error(`${name}: the sample could not be read (${r.status})`)
  return new File([await r.blob()], name)
}

/** Instruction tuning, preference tuning and learning without labels on the loaded language
 *  model: each trains through the same loop and run bar as any run, with its own data check,
 *  charts and playground. */
export function LmObjectivesPanel() {
  const objective = useLm((s) => s.objective)
  const error = useLm((s) => s.error)
  const model = useStudio((s) => s.model)
  const textLm = !!model && model.input?.kind !== 'image' && model.input?.kind !== 'tabular' && model.vocabSize !== undefined
  return (
    <section className="panel" aria-labelledby="objectives-title" id="objectives">
      <h2 id="objectives-title">Instruction, preference and label-free tuning</h2>
      <p className="help">
        Three more ways to tune the text model, each trained by the same loop, shown in the same charts and run bar: choose one, bring its data, then train here.
      </p>
      <fieldset className="group">
        <legend>Objective</legend>
        {CHOICES.map((c) => (
          <label key={c.id} className="choice">
            <input type="radio" name="lm-objective" value={c.id} checked={objective === c.id} onChange={() => chooseObjective(c.id)} aria-describedby={`objective-${c.id}-help`} />
            {c.label}
            <span className="help" id={`objective-${c.id}-help`}>
              {' '}
              — {c.help}
            </span>
          </label>
        ))}
      </fieldset>
      {!textLm ? (
        <p className="muted">Load a language model in step 2 to use these objectives: the built-in text model, or a Hugging Face GPT-2 or Llama.</p>
      ) : objective === 'pseudo' ? (
        <PseudoLabelling />
      ) : (
        // keyed: the file fields start empty for each objective (an SFT held-out file chosen
        // before stayed chosen for DPO, and was read as its held-out pairs)
        <PairOrInstruction key={objective} objective={objective} />
      )}
      {error && (
        <p role="alert" className="error" data-testid="lm-error">
          {error}
        </p>
      )}
    </section>
  )
}

function PairOrInstruction({ objective }: { objective: 'sft' | 'dpo' }) {
  const trainRef = useRef<HTMLInputElement>(null)
  const valRef = useRef<HTMLInputElement>(null)
  const data = useLm((s) => s.data)
  const loading = useLm((s) => s.loading)
  const beta = useLm((s) => s.beta)
  const sftWeight = useLm((s) => s.sftWeight)
  const pack = useLm((s) => s.pack)
  const status = useStudio((s) => s.status)
  const runObjective = useLm((s) => s.runObjective)
  const result = useStudio((s) => s.result)
  const running = runActive(status)
  const [sampleError, setSampleError] = useState<string | null>(null)
  const id = useId()
  const check = () => {
    const f = trainRef.current?.files?.[0]
    if (f) loadLmData(f, valRef.current?.files?.[0] ?? null)
  }
  const useSample = async () => {
    try {
      setSampleError(null)
      loadLmData(await sampleFile(SAMPLES[objective].train), await sampleFile(SAMPLES[objective].validation))
    } catch (e) {
      setSampleError(e instanceof Error ? e.message : String(e))
    }
  }
  const ready = data?.objective === objective
  return (
    <>
      <div className="field">
        <label htmlFor={`${id}-train`}>Training file</label>
        <input id={`${id}-train`} ref={trainRef} type="file" accept=".jsonl,.json,.csv,.txt" onChange={check} aria-describedby={`${id}-train-help`} />
        <p className="help" id={`${id}-train-help`}>
          {objective === 'sft' ? 'JSON Lines with prompt/completion or chat messages, or a CSV with prompt and completion columns.' : 'JSON Lines with prompt, chosen and rejected (plain text, or chat messages).'}
        </p>
      </div>
      <div className="field">
        <label htmlFor={`${id}-val`}>Held-out file (optional)</label>
        <input id={`${id}-val`} ref={valRef} type="file" accept=".jsonl,.json,.csv,.txt" onChange={check} aria-describedby={`${id}-val-help`} />
        <p className="help" id={`${id}-val-help`}>
          Rows never trained on, to measure the model before and after; without it the last share of the rows (the validation split) is held out.
        </p>
      </div>
      <p>
        <button type="button" onClick={useSample} disabled={loading || running}>
          Use the sample ({SAMPLES[objective].train})
        </button>
      </p>
      {sampleError && <p role="alert">{sampleError}</p>}
      {loading && <p aria-live="polite">Reading and checking the rows…</p>}
      {ready && <DataSummary />}
      {objective === 'dpo' ? (
        <div className="field-row">
          <div className="field">
            <label htmlFor={`${id}-beta`}>DPO beta</label>
            <DraftNumberInput id={`${id}-beta`} min={0.01} max={2} step={0.01} value={beta} onCommit={(v) => useLm.setState({ beta: v })} aria-describedby={`${id}-beta-help`} />
            <p className="help" id={`${id}-beta-help`}>
              How far the tuned model may move from the reference: small values (0.05–0.1) let it move more; large values keep it close and saturate the loss sooner.
            </p>
          </div>
          <div className="field">
            <label htmlFor={`${id}-sft`}>SFT term weight</label>
            <DraftNumberInput id={`${id}-sft`} min={0} max={2} step={0.1} value={sftWeight} onCommit={(v) => useLm.setState({ sftWeight: v })} aria-describedby={`${id}-sft-help`} />
            <p className="help" id={`${id}-sft-help`}>
              Adds this times the chosen answers' cross-entropy to the loss (0 = off), so the chosen answers also become more likely, not only more likely than the rejected ones.
            </p>
          </div>
        </div>
      ) : (
        <label className="choice">
          <input type="checkbox" checked={pack} onChange={(e) => useLm.setState({ pack: e.target.checked })} aria-describedby={`${id}-pack-help`} />
          Pack short rows
          <span className="help" id={`${id}-pack-help`}>
            {' '}
            — put several short rows back to back in one sequence (fewer, fuller steps); each row's answer still counts alone.
          </span>
        </label>
      )}
      <p className="help">The method, learning rate, epochs, batch size and sequence length come from step 3.</p>
      <p>
        <button type="button" className="primary" onClick={trainLm} disabled={!ready || running} data-testid="lm-train">
          Train with {objective === 'sft' ? 'instruction tuning' : 'preference tuning'}
        </button>{' '}
        <button type="button" onClick={downloadRecipe} disabled={!ready} aria-describedby={`${id}-recipe-help`}>
          Download the TRL recipe
        </button>
      </p>
      <p className="help" id={`${id}-recipe-help`}>
        The same run for a GPU cluster: train.py for Hugging Face TRL ({objective === 'sft' ? 'SFTTrainer' : 'DPOTrainer'} with PEFT&apos;s LoraConfig), the data as train.jsonl, and the accelerate command.
      </p>
      {runObjective === objective && result && (
        <p role="status" data-testid="lm-result">
          {result.message}
        </p>
      )}
      {objective === 'dpo' && runObjective === 'dpo' && <DpoCharts />}
      {ready && <ChatPlayground />}
    </>
  )
}

/** A CSV's two chosen columns: the prompt and the completion the model learns to write. */
function CsvColumns() {
  const csv = useLm((s) => s.data!.csv!)
  const id = useId()
  return (
    <div className="field-row">
      <div className="field">
        <label htmlFor={`${id}-p`}>Prompt column</label>
        <select id={`${id}-p`} value={csv.prompt} onChange={(e) => chooseColumns(e.target.value, csv.completion)} aria-describedby={`${id}-p-help`}>
          {csv.columns.map((c) => (
            <option key={c}>{c}</option>
          ))}
        </select>
        <span className="help" id={`${id}-p-help`}>
          The column the model reads: the question or instruction. Its tokens are context, never counted in the loss.
        </span>
      </div>
      <div className="field">
        <label htmlFor={`${id}-c`}>Completion column</label>
        <select id={`${id}-c`} value={csv.completion} onChange={(e) => chooseColumns(csv.prompt, e.target.value)} aria-describedby={`${id}-c-help`}>
          {csv.columns.map((c) => (
            <option key={c}>{c}</option>
          ))}
        </select>
        <span className="help" id={`${id}-c-help`}>
          The column the model learns to write after the prompt: only these tokens (and the end token) count in the loss.
        </span>
      </div>
    </div>
  )
}

function DataSummary() {
  const d = useLm((s) => s.data)!
  return (
    <div data-testid="lm-data">
      <p>
        <strong>{d.name}</strong>: {d.rows} {d.objective === 'dpo' ? 'pairs' : 'rows'}
        {d.chat ? ' (chat, rendered with the model’s chat template)' : ''}
        {d.validationName ? `; held out: ${d.validationName}, ${d.validationRows}` : ''}; sequence length {d.seqLen} tokens of {d.model}’s tokenizer.
      </p>
      {d.csv && <CsvColumns />}
      {d.truncated.length > 0 && (
        <p>
          {d.truncated.length} row{d.truncated.length === 1 ? '' : 's'} longer than the sequence length: the start of the prompt is cut, never the answer (rows {d.truncated.slice(0, 10).join(', ')}
          {d.truncated.length > 10 ? ', …' : ''}).
        </p>
      )}
      {d.problemCount > 0 && (
        <details open>
          <summary>
            {d.problemCount} row{d.problemCount === 1 ? '' : 's'} left out
          </summary>
          <ul data-testid="lm-problems">
            {d.problems.map((p, i) => (
              <li key={i}>
                {p.file}: {p.message}
              </li>
            ))}
          </ul>
        </details>
      )}
      <MaskPreview />
    </div>
  )
}
