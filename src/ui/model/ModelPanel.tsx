import { formatCount, formatDecimal, formatPercent, formatPerplexity, formatShare } from '../../format/format'
import { useStudio } from '../../state/store'
import { Panel } from '../common/Panel'
import { BlockFreezeToggles } from './BlockFreezeToggles'
import { ModelFileInput } from './ModelFileInput'
import { LoadModelSection } from './LoadModelSection'
import { originWords } from './modelOrigin'
import { SeqClsHeadNote } from '../models/SeqClsHeadNote'

const fmt = (n: number) => formatCount(n)

/** Step 2: what we start from — the card and the layers, marked trainable or frozen. */
export function ModelPanel() {
  const model = useStudio((s) => s.model)
  const trainable = useStudio((s) => s.trainableParams)
  const total = useStudio((s) => s.totalParams)
  if (!model) {
    return (
      <Panel step={2} title="Base model" id="model">
        <p className="muted">Loading the pretrained model…</p>
        <LoadModelSection />
      </Panel>
    )
  }
  const card = model.card ?? {}
  const origin = originWords(model) // null where the title says it (a studio export loaded back)
  const facts: [string, unknown][] = [
    ['Pretraining data', describeSources(card.data ?? card.pretrainingData)],
    ['Licence', card.licence ?? card.license],
    ['Validation after pretraining', describeResults(card.results ?? card)],
  ]
  return (
    <Panel step={2} title="Base model" id="model">
      <p data-testid="model-title">
        <strong>{model.title}</strong> — {origin ? `${origin}, ` : ''}{fmt(model.totalParams)} weights in the body ({model.nLayers} blocks, width{' '}
        {model.dModel}
        {model.input ? '' : `, context ${model.seqLen} tokens, vocabulary ${fmt(model.vocabSize)}`}).
      </p>
      {model.input && (
        <p data-testid="model-input">
          Expects input <code>{model.input.shape}</code>: {model.input.description}.
        </p>
      )}
      {model.description && <p className="muted">{model.description}</p>}
      <SeqClsHeadNote />
      <dl className="facts">
        {facts
          .filter(([, v]) => v !== undefined && v !== null)
          .map(([k, v]) => (
            <div key={k}>
              <dt>{k}</dt>
              <dd>{typeof v === 'object' ? JSON.stringify(v) : String(v)}</dd>
            </div>
          ))}
      </dl>
      <p data-testid="param-counts">
        Trainable with these settings: <strong>{trainable === null ? '…' : fmt(trainable)}</strong> of {total === null ? '…' : fmt(total)} weights
        {trainable !== null && total ? ` (${formatShare(trainable, total)})` : ''}.
      </p>
      {model.pretrained ? (
        <BlockFreezeToggles nLayers={model.nLayers} />
      ) : (
        <p className="help">Not pretrained, so nothing is worth keeping frozen: every layer trains, whichever method is chosen.</p>
      )}
      <details>
        <summary>Layers ({model.layers.length})</summary>
        <table className="layers">
          <thead>
            <tr>
              <th scope="col">Layer</th>
              <th scope="col">Type</th>
              <th scope="col">Output shape</th>
              <th scope="col">Weights</th>
              <th scope="col">Trains?</th>
            </tr>
          </thead>
          <tbody>
            {model.layers.map((l) => (
              <tr key={l.name} className={l.trainable ? 'trainable' : 'frozen'}>
                <td>{l.name}</td>
                <td>{l.type}</td>
                <td>{l.outputShape}</td>
                <td>{fmt(l.params)}</td>
                <td>{l.trainable ? 'trainable' : 'frozen'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </details>
      <ModelFileInput />
      <LoadModelSection />
    </Panel>
  )
}

/** "what (licence); …" from a card's data block, whatever shape the card gives it. */
function describeSources(data: unknown): string | undefined {
  if (data === undefined || data === null) return undefined
  const sources = (data as { sources?: { what?: string; package?: string; licence?: string }[] }).sources
  if (!Array.isArray(sources)) return typeof data === 'string' ? data : undefined
  return sources.map((s) => `${s.what ?? s.package ?? 'unknown'}${s.licence ? ` (${s.licence})` : ''}`).join('; ')
}

function describeResults(r: unknown): string | undefined {
  const x = r as { validationPerplexity?: number; validationAccuracy?: number; valAccuracy?: number }
  if (typeof x.validationPerplexity === 'number') return `perplexity ${formatPerplexity(x.validationPerplexity, 1)}`
  const acc = x.validationAccuracy ?? x.valAccuracy
  if (typeof acc === 'number') return `accuracy ${formatPercent(acc > 1 ? acc / 100 : acc)}`
  return undefined
}
