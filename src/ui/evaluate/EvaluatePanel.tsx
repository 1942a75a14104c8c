import { formatDecimal, formatNumber, formatPercent, formatPerplexity } from '../../format/format'
import { useStudio } from '../../state/store'
import type { Metrics } from '../../worker/protocol'
import { Panel } from '../common/Panel'
import { InterpolateSection } from './InterpolateSection'
import { TaskMetricsTable } from './TaskMetricsTable'

const pct = (x?: number) => formatPercent(x)
const num = (x?: number) => formatDecimal(x, 3)
const sig = (x?: number) => formatNumber(x, 4)

/** Step 5: did fine-tuning beat the base model? Side by side, on the validation split. */
export function EvaluatePanel() {
  const baseline = useStudio((s) => s.baseline)
  const result = useStudio((s) => s.result)
  const lastVal = useStudio((s) => s.lastVal)
  const dataset = useStudio((s) => s.dataset)
  const classes = dataset?.classes.map((c) => c.name) ?? []
  const tuned: Metrics | null = result?.summary.best ?? lastVal
  const isLm = tuned?.perplexity !== undefined || baseline?.metrics.perplexity !== undefined
  const isRegression = tuned?.rmse !== undefined || baseline?.metrics.rmse !== undefined
  const target = dataset?.details?.roles.target
  return (
    <Panel step={5} title="Evaluate" id="evaluate">
      {!baseline ? (
        <p className="muted">After you click Train, the base model is measured first; the fine-tuned model is compared with it here.</p>
      ) : (
        <>
          <table className="compare" data-testid="compare">
            <caption>
              Validation split: the line to beat, {baseline.name ?? 'the base model'} ({baseline.note}), against the fine-tuned model
            </caption>
            <thead>
              <tr>
                <th scope="col">Metric</th>
                <th scope="col">Line to beat</th>
                <th scope="col">Fine-tuned</th>
              </tr>
            </thead>
            <tbody>
              <tr>
                <th scope="row" title={isRegression ? 'Mean squared error on the standardised target: what training minimises' : 'Cross-entropy: what training minimises'}>{isRegression ? 'Loss (standardised MSE)' : 'Loss'}</th>
                <td>{num(baseline.metrics.loss)}</td>
                <td>{num(tuned?.loss)}</td>
              </tr>
              {isRegression ? (
                <>
                  <tr>
                    <th scope="row" title="Mean absolute error: the typical size of a miss, in the target's units">MAE{target ? ` (${target})` : ''}</th>
                    <td>{sig(baseline.metrics.mae)}</td>
                    <td data-testid="tuned-mae">{sig(tuned?.mae)}</td>
                  </tr>
                  <tr>
                    <th scope="row" title="Root mean squared error: like MAE, but large misses weigh more">RMSE{target ? ` (${target})` : ''}</th>
                    <td>{sig(baseline.metrics.rmse)}</td>
                    <td data-testid="tuned-rmse">{sig(tuned?.rmse)}</td>
                  </tr>
                </>
              ) : isLm ? (
                <tr>
                  <th scope="row">Perplexity</th>
                  <td>{formatPerplexity(baseline.metrics.perplexity, 3)}</td>
                  <td>{formatPerplexity(tuned?.perplexity, 3)}</td>
                </tr>
              ) : (
                <>
                  <tr>
                    <th scope="row">Accuracy</th>
                    <td>{pct(baseline.metrics.accuracy)}</td>
                    <td data-testid="tuned-accuracy">{pct(tuned?.accuracy)}</td>
                  </tr>
                  <tr>
                    <th scope="row">Macro-F1</th>
                    <td>{num(baseline.metrics.macroF1)}</td>
                    <td>{num(tuned?.macroF1)}</td>
                  </tr>
                </>
              )}
            </tbody>
          </table>
          <TaskMetricsTable base={baseline.metrics} tuned={tuned} />
          {tuned?.confusion && (
            <table className="confusion">
              <caption>Confusion matrix (rows: true class, columns: predicted)</caption>
              <thead>
                <tr>
                  <td />
                  {classes.map((c) => (
                    <th key={c} scope="col">
                      {c}
                    </th>
                  ))}
                </tr>
              </thead>
              <tbody>
                {tuned.confusion.map((row, i) => (
                  <tr key={i}>
                    <th scope="row">{classes[i] ?? i}</th>
                    {row.map((v, j) => (
                      <td key={j} className={i === j ? 'diag' : ''}>
                        {v}
                      </td>
                    ))}
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </>
      )}
      <InterpolateSection />
    </Panel>
  )
}
