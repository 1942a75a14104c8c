import { formatCount } from '../../format/format'
import type { SplitSummary as Summary } from '../../worker/dataProtocol'

/** Train/validation counts per class and duplicates across the split. */
export function SplitSummary({ split, error }: { split?: Summary | undefined; error?: string | undefined }) {
  if (error) return <p className="problem">{error}</p>
  if (!split) return null
  return (
    <section className="split" aria-label="Train and validation split" data-testid="split-summary">
      <h3>Split</h3>
      <p>
        {formatCount(split.train)} training and {formatCount(split.validation)} validation examples{' '}
        {split.mode === 'file' ? <>(validation from {split.validationFile})</> : <>(held out from this file{split.perClass.length === 0 ? ', at random' : ', by class'})</>}.
      </p>
      {split.perClass.length > 0 && (
        <table>
          <thead>
            <tr>
              <th scope="col">Class</th>
              <th scope="col">Training</th>
              <th scope="col">Validation</th>
            </tr>
          </thead>
          <tbody>
            {split.perClass.map((c) => (
              <tr key={c.name}>
                <td>{c.name}</td>
                <td>{c.train}</td>
                <td>{c.validation}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <p data-testid="split-duplicates">
        {split.duplicates === 0
          ? 'No validation example repeats a training example.'
          : `${split.duplicates} validation example${split.duplicates === 1 ? ' repeats' : 's repeat'} a training example exactly (first: ${split.duplicateExamples
              .map((d) => `validation row ${d.validationRow} = training row ${d.trainRow}`)
              .join('; ')}).`}
      </p>
      {split.warnings.length > 0 && (
        <ul className="warnings">
          {split.warnings.map((w, i) => (
            <li key={i}>{w}</li>
          ))}
        </ul>
      )}
    </section>
  )
}
