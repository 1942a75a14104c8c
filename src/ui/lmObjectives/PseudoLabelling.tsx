import { useEffect, useId, useMemo, useRef, useState } from 'react'
import { useStudio, runActive } from '../../state/store'
import { continueSelfTraining, deleteSavedSelfTraining, labelTexts, listSavedSelfTraining, restoreSelfTraining, trainLm, useLm } from '../../state/lmObjectives'
import { formatBytes, formatDateTime } from '../../format/format'
import { ConfirmDelete } from '../common/ConfirmDelete'
import { DraftNumberInput } from '../common/DraftNumberInput'

async function sampleFile(name: string): Promise<File> {
  const r = await fetch(new URL(`samples/lm/${name}`, document.baseURI).href)
  if (!r.ok) throw new Error(`${name}: the sample could not be read (${r.status})`)
  return new File([await r.blob()], name)
}

/** Learning without labels: zero-shot labels, a confidence histogram with the threshold,
 *  rows kept per class, self-training rounds, and the accuracies side by side. */
export function PseudoLabelling() {
  const fileRef = useRef<HTMLInputElement>(null)
  const valRef = useRef<HTMLInputElement>(null)
  const [classes, setClasses] = useState('sea, government')
  const pseudo = useLm((s) => s.pseudo)
  const loading = useLm((s) => s.loading)
  const threshold = useLm((s) => s.threshold)
  const rounds = useLm((s) => s.rounds)
  const balance = useLm((s) => s.balance)
  const results = useLm((s) => s.roundResults)
  const status = useStudio((s) => s.status)
  const result = useStudio((s) => s.result)
  const runObjective = useLm((s) => s.runObjective)
  const saved = useLm((s) => s.saved)
  const restored = useLm((s) => s.restored)
  const pausedBefore = useLm((s) => s.pausedBefore)
  const note = useLm((s) => s.pseudoNote)
  // Self-training kept in this browser: listed when the panel opens (and after each kept round).
  useEffect(() => listSavedSelfTraining(), [])
  const running = runActive(status)
  const id = useId()
  const names = classes.split(',').map((c) => c.trim())
  const label = () => {
    const f = fileRef.current?.files?.[0]
    if (f) labelTexts(f, valRef.current?.files?.[0] ?? null, names)
    else {
      useLm.setState({ error: 'No texts to label yet: choose a CSV of unlabelled texts under "Unlabelled texts (CSV)" above (or use the sample), then label them.' })
      fileRef.current?.focus()
    }
  }
  // The sample's class names are its validation file's labels: typed in for the person to see.
  const sample = async () => {
    setClasses('sea, government')
    labelTexts(await sampleFile('sea-or-government-unlabelled.csv'), await sampleFile('sea-or-government-validation.csv'), ['sea', 'government'])
  }
  const kept = useMemo(() => {
    if (!pseudo) return null
    const per = pseudo.classes.map(() => 0)
    pseudo.confidence.forEach((c, i) => {
      if (c >= threshold) per[pseudo.labels[i]!]!++
    })
    return per
  }, [pseudo, threshold])
  const total = kept?.reduce((a, b) => a + b, 0) ?? 0
  // A class no row reaches: round 1 is refused (the classifier could not learn it), and
  // balancing cannot make "each class" of it.
  const empty = pseudo && kept ? pseudo.classes.filter((_, i) => kept[i] === 0) : []
  return (
    <>
      <div className="field">
        <label htmlFor={`${id}-file`}>Unlabelled texts (CSV)</label>
        <input id={`${id}-file`} ref={fileRef} type="file" accept=".csv,.txt" aria-describedby={`${id}-file-help`} />
        <p className="help" id={`${id}-file-help`}>
          A column named text (or the first column); a label column may label a handful of rows (blank elsewhere), which are kept as given.
        </p>
      </div>
      <div className="field">
        <label htmlFor={`${id}-val`}>Labelled validation file (optional)</label>
        <input id={`${id}-val`} ref={valRef} type="file" accept=".csv,.txt" aria-describedby={`${id}-val-help`} />
        <p className="help" id={`${id}-val-help`}>
          A CSV with text and label columns: scores the zero-shot labels, each round and the base model side by side.
        </p>
      </div>
      <div className="field">
        <label htmlFor={`${id}-classes`}>Class names</label>
        <input id={`${id}-classes`} type="text" value={classes} onChange={(e) => setClasses(e.target.value)} aria-describedby={`${id}-classes-help`} />
        <p className="help" id={`${id}-classes-help`}>
          Separated by commas, spelled as the validation file spells its labels; the model scores each as the word after the text.
        </p>
      </div>
      <p>
        <button type="button" onClick={label} disabled={loading || running}>
          Label the texts zero-shot
        </button>{' '}
        <button type="button" onClick={sample} disabled={loading || running}>
          Use the sample (sea-or-government-unlabelled.csv)
        </button>
      </p>
      {saved && saved.length > 0 && (
        <section aria-labelledby={`${id}-saved`} data-testid="pseudo-saved">
          <h4 id={`${id}-saved`}>Saved self-training</h4>
          <p className="help">Each finished round is kept in this browser with its figures, its model and the labels the next round trains on: restore one to see its rounds and use its model, then continue with the next round.</p>
          <ul>
            {saved.map((j) => (
              <li key={j.id}>
                {j.name} ({j.classes.join(' / ')}): {j.roundsDone} of {j.rounds} {j.rounds === 1 ? 'round' : 'rounds'} finished, {j.modelTitle}, {formatDateTime(j.updatedAt, false)}, {formatBytes(j.bytes)}{' '}
                <button type="button" onClick={() => restoreSelfTraining(j.id)} disabled={loading || running} aria-label={`Restore the self-training rounds on ${j.name}`}>
                  Restore
                </button>{' '}
                <ConfirmDelete
                  disabled={running}
                  onDelete={() => deleteSavedSelfTraining(j.id)}
                  label={`Delete the saved self-training rounds on ${j.name}`}
                  question={`Delete the self-training on ${j.name} (${j.roundsDone} of ${j.rounds} ${j.rounds === 1 ? 'round' : 'rounds'} finished)? Its rounds' figures, charts, models and labels cannot be brought back.`}
                />
              </li>
            ))}
          </ul>
        </section>
      )}
      {loading && <p aria-live="polite">Scoring each class name for every text…</p>}
      {pseudo && kept && (
        <div data-testid="pseudo">
          <p>
            <strong>{pseudo.name}</strong>: {pseudo.rows} texts labelled zero-shot as {pseudo.classes.join(' / ')}
            {pseudo.labelledRows > 0 ? ` (${pseudo.labelledRows} came with a label, kept as given)` : ''}.
            {pseudo.zeroShotAccuracy !== null && (
              <>
                {' '}
                Zero-shot accuracy on {pseudo.validationName}: <span data-testid="zero-shot-accuracy">{(100 * pseudo.zeroShotAccuracy).toFixed(1)}%</span>.
              </>
            )}
          </p>
          <Histogram threshold={threshold} />
          <div className="field">
            <label htmlFor={`${id}-threshold`}>Confidence threshold: {threshold.toFixed(2)}</label>
            <input
              id={`${id}-threshold`}
              type="range"
              min={Math.floor((100 / pseudo.classes.length)) / 100}
              max={1}
              step={0.01}
              value={threshold}
              onChange={(e) => useLm.setState({ threshold: Number(e.target.value) })}
              aria-describedby={`${id}-threshold-help`}
            />
            <p className="help" id={`${id}-threshold-help`}>
              Rows whose zero-shot label is at least this confident train the model (with Head only, a classifier head; with another method, the model's own label scores): higher keeps fewer, cleaner labels; lower keeps more, noisier ones.
            </p>
          </div>
          <p data-testid="pseudo-kept" id={`${id}-kept`}>
            Kept {total} of {pseudo.rows}: {pseudo.classes.map((c, i) => `${c} ${kept[i]}`).join(', ')}.
            {total === 0 && ' No row reaches this threshold: lower it.'}
            {total > 0 && empty.length > 0 && ` No row labelled ${empty.map((c) => `"${c}"`).join(', ')} reaches this threshold, so the model could not learn ${empty.length === 1 ? 'that class' : 'those classes'}: lower the threshold, or rephrase ${empty.length === 1 ? 'that class name' : 'those class names'}.`}
            {total > 0 && empty.length === 0 && balance && ` Balanced: ${Math.min(...kept)} of each class train.`}
          </p>
          <label className="choice">
            <input type="checkbox" checked={balance} onChange={(e) => useLm.setState({ balance: e.target.checked })} aria-describedby={`${id}-balance-help`} />
            Balance the classes
            <span className="help" id={`${id}-balance-help`}>
              {' '}
              — keep at most as many rows of each class as the smallest class has, the most confident first: a zero-shot model that favours one class would otherwise teach the classifier to favour it too.
            </span>
          </label>
          <div className="field">
            <label htmlFor={`${id}-rounds`}>Self-training rounds</label>
            <DraftNumberInput id={`${id}-rounds`} min={1} max={5} integer value={rounds} onCommit={(v) => useLm.setState({ rounds: v })} aria-describedby={`${id}-rounds-help`} />
            <p className="help" id={`${id}-rounds-help`}>
              After the first round the tuned model re-labels every text (with a method other than Head only, its labels averaged with the zero-shot ones) and the confident ones train again from the base model; more rounds can fix zero-shot mistakes, or reinforce them.
            </p>
          </div>
          <p>
            <button type="button" className="primary" onClick={trainLm} disabled={running || total === 0 || empty.length > 0} data-testid="pseudo-train" aria-describedby={`${id}-kept`}>
              Train on the confident rows
            </button>
            {restored && restored.next !== null && (
              <>
                {' '}
                <button type="button" onClick={continueSelfTraining} disabled={running} data-testid="pseudo-continue" aria-describedby={`${id}-continue-help`}>
                  Continue with round {restored.next}
                </button>
                <span className="help" id={`${id}-continue-help`}>
                  {' '}
                  — trains the kept rounds' next round on the labels the last one gave, with the threshold, balance and settings they ran with.
                </span>
              </>
            )}
          </p>
          {restored && restored.message && <p role="status" data-testid="pseudo-restored">{restored.message}</p>}
          {note && <p role="status" data-testid="pseudo-note">{note}</p>}
          {status === 'paused' && runObjective === 'pseudo' && pausedBefore !== null && (
            <p role="status" data-testid="pseudo-paused">
              {pausedBefore > 1 ? `Paused between rounds: round ${pausedBefore - 1} is finished and round ${pausedBefore}'s labels are ready; round ${pausedBefore} starts when you press Resume (Stop ends the self-training here).` : 'Paused before round 1: it starts when you press Resume.'}
            </p>
          )}
          {(results.length > 0 || pseudo.zeroShotAccuracy !== null) && (
            <table data-testid="pseudo-rounds">
              <caption>Accuracy on the labelled validation file</caption>
              <thead>
                <tr>
                  <th scope="col">Labels from</th>
                  <th scope="col">Rows kept</th>
                  <th scope="col">Validation accuracy</th>
                </tr>
              </thead>
              <tbody>
                <tr>
                  <th scope="row">base model, zero-shot</th>
                  <td>–</td>
                  <td>{pseudo.zeroShotAccuracy === null ? '–' : `${(100 * pseudo.zeroShotAccuracy).toFixed(1)}%`}</td>
                </tr>
                {results.map((r) => (
                  <tr key={r.round}>
                    <th scope="row">
                      round {r.round}
                      {r.notKept && <span data-testid={`round-${r.round}-not-kept`}> ({r.notKept === 'stopped' ? 'stopped' : 'diverged'}: not kept)</span>}
                    </th>
                    <td>
                      {r.kept} ({pseudo.classes.map((c, i) => `${c} ${r.keptPerClass[i]}`).join(', ')})
                    </td>
                    <td data-testid={`round-${r.round}-accuracy`}>{r.validationAccuracy === null ? '–' : `${(100 * r.validationAccuracy).toFixed(1)}%`}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
          {runObjective === 'pseudo' && result && <p role="status">{result.message}</p>}
        </div>
      )}
    </>
  )
}

/** Bars of confidence counts; the bins at or above the threshold are the kept ones. */
function Histogram({ threshold }: { threshold: number }) {
  const pseudo = useLm((s) => s.pseudo)!
  const max = Math.max(1, ...pseudo.histogram.map((b) => b.count))
  const W = 300
  const H = 90
  const bw = W / pseudo.histogram.length
  return (
    <figure data-testid="confidence-histogram">
      <svg viewBox={`0 0 ${W} ${H + 16}`} width="100%" role="img" aria-label={`Confidence histogram: ${pseudo.histogram.map((b) => `${b.lo.toFixed(2)}–${b.hi.toFixed(2)}: ${b.count}`).join('; ')}`}>
        {pseudo.histogram.map((b, i) => {
          const h = (H * b.count) / max
          return <rect key={i} x={i * bw + 1} y={H - h} width={bw - 2} height={h} fill={b.lo >= threshold - 1e-9 ? 'var(--accent, #2563eb)' : '#9ca3af'} />
        })}
        <line x1={((threshold - pseudo.histogram[0]!.lo) / (1 - pseudo.histogram[0]!.lo)) * W} x2={((threshold - pseudo.histogram[0]!.lo) / (1 - pseudo.histogram[0]!.lo)) * W} y1={0} y2={H} stroke="#dc2626" strokeDasharray="3 2" />
        <text x={0} y={H + 12} fontSize="10">
          {pseudo.histogram[0]!.lo.toFixed(2)}
        </text>
        <text x={W} y={H + 12} fontSize="10" textAnchor="end">
          1.00
        </text>
      </svg>
      <figcaption>How confident the zero-shot labels are (blue: bins at or above the threshold, the red line).</figcaption>
    </figure>
  )
}
