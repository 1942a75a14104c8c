import { useId, useState } from 'react'
import { applyPreset, matchPreset, PRESETS, presetById } from '../../settings/presets'
import { describeSetting, GROUPS, SCHEMA, type SettingSpec } from '../../settings/schema'
import type { Settings } from '../../settings/types'
import { suggestedFix, useSettingsFit } from '../../state/settingsFit'
import { useStudio, runActive } from '../../state/store'
import { Panel } from '../common/Panel'
import { LrPreview } from './LrPreview'
import { changedFromDefault, inEffect } from './changedSettings'
import { SettingControl } from './SettingControl'

/** Remembers whether "Advanced" was left open, across visits. */
export const ADVANCED_KEY = 'studio.advancedOpen'

const readOpen = () => {
  try {
    return localStorage.getItem(ADVANCED_KEY) === '1'
  } catch {
    return false
  }
}

/** Step 3: how to tune. The beginner view is the preset, method, learning rate, epochs and
 *  batch size; every other setting sits under "Advanced", whose changes stay listed when folded. */
export function SettingsPanel() {
  const settings = useStudio((s) => s.settings)
  const setSetting = useStudio((s) => s.setSetting)
  const replace = useStudio((s) => s.replaceSettings)
  const problems = useStudio((s) => s.problems)
  const rows = useStudio((s) => s.dataset?.rows ?? 0)
  const locked = useStudio((s) => runActive(s.status))
  const presetId = useId()
  const [open, setOpen] = useState(readOpen)
  const current = matchPreset(settings)
  // What one epoch steps over as the worker encodes it (token windows for language modelling,
  // every row when a separate validation file is loaded); rows less the split until it says.
  const planned = useStudio((s) => s.trainExamples)
  const trainSize = planned ?? Math.max(1, rows - Math.round(rows * settings.valSplit))
  const problemOf = (key: string) => problems.find((p) => p.field === key)?.message
  // what was fitted to the loaded model, and the value a refused setting the person chose can take
  const fitted = useSettingsFit((s) => s.sentence)
  const model = useStudio((s) => s.model)
  const dataset = useStudio((s) => s.dataset)
  const fixOf = (key: string) => {
    const fix = problemOf(key) ? suggestedFix({ settings, model, dataset }, key) : null
    return fix ? { text: fix.text, apply: () => setSetting(fix.key, fix.value as never) } : undefined
  }
  const basic = SCHEMA.filter((s) => s.level === 'basic')
  const advanced = SCHEMA.filter((s) => s.level !== 'basic')
  const changed = changedFromDefault(advanced, settings)
  const advancedProblems = advanced.filter((s) => problemOf(s.key) && inEffect(s, settings)).length

  const control = (spec: SettingSpec) => (
    <SettingControl key={spec.key} spec={spec} value={settings[spec.key]} disabled={locked} problem={problemOf(spec.key)} fix={fixOf(spec.key)} onChange={(v) => setSetting(spec.key, v as never)} />
  )

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
      {fitted && (
        <p className="fitted" role="status" data-testid="settings-fitted">
          {fitted}
        </p>
      )}
      <div className="group basic" data-testid="basic-settings">
        {basic.filter((s) => inEffect(s, settings)).map(control)}
      </div>
      <div className="changed" data-testid="changed-settings" aria-live="polite">
        {changed.length === 0 ? (
          <span className="muted">Every advanced setting is at its default.</span>
        ) : (
          <>
            <strong>
              {changed.length} advanced setting{changed.length === 1 ? '' : 's'} changed from the default
            </strong>
            {!open && ' (folded below)'}:
            <ul>
              {changed.map((spec) => (
                <li key={spec.key}>{describeSetting(spec.key, settings[spec.key])}</li>
              ))}
            </ul>
          </>
        )}
      </div>
      <details
        className="advanced"
        data-testid="advanced-settings"
        open={open}
        onToggle={(e) => {
          const now = e.currentTarget.open
          setOpen(now)
          try {
            localStorage.setItem(ADVANCED_KEY, now ? '1' : '0')
          } catch {
            // private mode: it simply is not remembered
          }
        }}
      >
        <summary>
          Advanced settings ({advanced.filter((s) => inEffect(s, settings)).length}
          {changed.length ? `, ${changed.length} changed` : ''}
          {advancedProblems ? `, ${advancedProblems} to fix` : ''})
        </summary>
        {GROUPS.map((g) => {
          const specs = advanced.filter((s) => s.group === g.id && inEffect(s, settings))
          if (!specs.length) return null
          return (
            <fieldset key={g.id} className="group">
              <legend>{g.label}</legend>
              {specs.map(control)}
              {g.id === 'schedule' && <LrPreview settings={settings} trainSize={trainSize} />}
            </fieldset>
          )
        })}
      </details>
    </Panel>
  )
}
