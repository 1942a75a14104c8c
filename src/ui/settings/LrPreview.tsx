import { memo, useMemo } from 'react'
import { CartesianGrid, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts'
import { scheduleCurve } from '../../shared/schedules'
import type { Settings } from '../../settings/types'
import { runSteps } from '../../settings/runSteps'

/** The learning rate over the whole run, before anything trains. */
// memo: a recharts chart costs tens of ms to re-render; skip it when its props did not change.
export const LrPreview = memo(function LrPreview({ settings, trainSize }: { settings: Settings; trainSize: number }) {
  // The loop's own count (settings/runSteps.ts) of what the worker says one epoch steps over.
  const stepsPerEpoch = Math.max(1, runSteps(trainSize, settings).stepsPerEpoch)
  const total = stepsPerEpoch * settings.epochs
  const data = useMemo(
    () => scheduleCurve(total, { ...settings, stepEvery: Math.max(1, settings.stepEvery) * stepsPerEpoch }, 120),
    [settings, total, stepsPerEpoch],
  )
  return (
    <figure className="chart small" aria-label={`Learning-rate schedule preview over ${total} steps`}>
      <figcaption>
        Learning rate over the run ({total} optimizer steps, {stepsPerEpoch} per epoch)
      </figcaption>
      <ResponsiveContainer width="100%" height={140}>
        <LineChart data={data} margin={{ left: 8, right: 8, top: 4, bottom: 4 }}>
          <CartesianGrid strokeDasharray="3 3" />
          <XAxis dataKey="step" type="number" domain={[0, total]} tickCount={5} />
          <YAxis tickFormatter={(v: number) => v.toExponential(0)} width={52} />
          <Tooltip formatter={(v) => Number(v).toExponential(2)} />
          <Line dataKey="lr" dot={false} isAnimationActive={false} stroke="#7c3aed" />
        </LineChart>
      </ResponsiveContainer>
    </figure>
  )
})
