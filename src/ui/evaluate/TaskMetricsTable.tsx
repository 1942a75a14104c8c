import { formatDecimal, formatPercent } from '../../format/format'
import type { Metrics } from '../../worker/protocol'

const pct = (x?: number) => formatPercent(x)
const num = (x?: number) => formatDecimal(x, 3)

/** Multitask runs: one row per label column (task), base against fine-tuned. Task names
 *  come from the user's file and are rendered as text. */
export function TaskMetricsTable({ base, tuned }: { base: Metrics | undefined; tuned: Metrics | null }) {
  const tasks = tuned?.tasks ?? base?.tasks
  if (!tasks?.length) return null
  const byName = (m: Metrics | null | undefined, name: string) => m?.tasks?.find((t) => t.name === name)
  return (
    <table className="compare" data-testid="task-metrics">
      <caption>Per task (one head per label column; the overall accuracy above is their mean)</caption>
      <thead>
        <tr>
          <th scope="col">Task</th>
          <th scope="col">Loss weight</th>
          <th scope="col">Accuracy: base</th>
          <th scope="col">Accuracy: fine-tuned</th>
          <th scope="col">Macro-F1: base</th>
          <th scope="col">Macro-F1: fine-tuned</th>
        </tr>
      </thead>
      <tbody>
        {tasks.map((t) => (
          <tr key={t.name}>
            <th scope="row">{t.name}</th>
            <td>{t.weight}</td>
            <td>{pct(byName(base, t.name)?.accuracy)}</td>
            <td>{pct(byName(tuned, t.name)?.accuracy)}</td>
            <td>{num(byName(base, t.name)?.macroF1)}</td>
            <td>{num(byName(tuned, t.name)?.macroF1)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  )
}
