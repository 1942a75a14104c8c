import { useId } from 'react'
import { applyPreset, matchPreset, PRESETS, presetById } from '../../settings/presets'
import { GROUPS, SCHEMA } from '../../settings/schema'
import { useStudio } from '../../state/store'
import { Panel } from '../common/Panel'
import { LrPreview } from './LrPreview'
import { SettingControl } from './SettingControl'

/** Step 3: how to tune — method first, then every hyperparameter, each explained. */
export function SettingsPanel() {
  const settings = useStudio((s) => s.settings)
  const setSetting = useStudio((s) => s.setSetting)
  const replace = useStudio((s) => s.replaceSettings)
  const problems = useStudio((s) => s.problems)
  const rows = useStudio((s) => s.dataset?.rows ?? 0)
  const locked = useStudio((s) => s.status === 'running' || s.status === 'paused' || s.status === 'starting' || s.status === 'stopping')
  const presetId = useId()
  const current = matchPreset(settings)
  const trainSize = Math.max(1, rows - Math.round(rows * settings.valSplit))
  const problemOf = (key: string) => problems.find((p) => p.field === key)?.message

  return (
    <Panel step={3} title="Method and hyperparameters" id="settings">
      <div className="field">
        <label htmlFor={presetId}>Preset</label>
        <select
          id={presetId}
          value={current?.id ?? ''}
          disabled={locked}
          aria-describedby={`${presetId}-help`}
          onChange={(e) => {
            const p = presetById(e.target.value)
            if (p) replace(applyPreset(settings, p))
          }}
        >
          {!current && <option value="">Custom</option>}
          {PRESETS.map((p) => (
            <option key={p.id} value={p.id}>
              {p.name}
            </option>
          ))}
        </select>
        <p className="help" id={`${presetId}-help`}>
          {current ? current.sentence : 'Your own combination. Pick a preset to start from a known-good recipe.'}
        </p>
      </div>
      {GROUPS.map((g) => {
        const specs = SCHEMA.filter((s) => s.group === g.id && (!s.showWhen || s.showWhen(settings)))
        if (!specs.length) return null
        return (
          <fieldset key={g.id} className="group">
            <legend>{g.label}</legend>
            {specs.map((spec) => (
              <SettingControl
                key={spec.key}
                spec={spec}
                value={settings[spec.key]}
                disabled={locked}
                problem={problemOf(spec.key)}
                onChange={(v) => setSetting(spec.key, v as never)}
              />
            ))}
            {g.id === 'schedule' && <LrPreview settings={settings} trainSize={trainSize} />}
          </fieldset>
        )
      })}
    </Panel>
  )
}
