import { useId } from 'react'
import { clamp, formatNumber, type SettingSpec, type TextSpec } from '../../settings/schema'
import type { Settings } from '../../settings/types'

interface Props {
  spec: SettingSpec
  value: Settings[keyof Settings]
  onChange: (value: Settings[keyof Settings]) => void
  disabled: boolean
  problem?: string | undefined
  /** A button beside the problem that sets the value it suggests ("Use Frozen blocks 1"). */
  fix?: { text: string; apply: () => void } | undefined
}

/** One control per schema entry: a labelled slider + number for numbers (log scale where
 *  the schema says so), a select for choices, a checkbox for flags; help text always visible. */
export function SettingControl({ spec, value, onChange, disabled, problem, fix }: Props) {
  const id = useId()
  const helpId = `${id}-help`
  const described = problem ? `${helpId} ${id}-problem` : helpId
  let control
  if (spec.kind === 'number' || spec.kind === 'int') {
    const v = value as number
    const log = spec.scale === 'log'
    const toSlider = (x: number) => (log ? Math.log10(Math.max(x, spec.min)) : x)
    const fromSlider = (x: number) => (log ? Number((10 ** x).toPrecision(2)) : x)
    const set = (x: number) => Number.isFinite(x) && onChange(clamp(spec.key, x as never))
    control = (
      <span className="num">
        <input
          type="range"
          aria-label={`${spec.label} slider`}
          aria-describedby={described}
          min={toSlider(spec.min)}
          max={toSlider(spec.max)}
          step={log ? 0.05 : (spec.step ?? (spec.kind === 'int' ? 1 : (spec.max - spec.min) / 100))}
          value={toSlider(v)}
          disabled={disabled}
          title={spec.help}
          onChange={(e) => set(fromSlider(Number(e.target.value)))}
        />
        <input
          id={id}
          type="number"
          aria-describedby={described}
          min={spec.min}
          max={spec.max}
          step={spec.kind === 'int' ? 1 : 'any'}
          value={v}
          disabled={disabled}
          title={spec.help}
          onChange={(e) => e.target.value !== '' && set(Number(e.target.value))}
        />
        {spec.zeroMeans && v === 0 && <span className="muted"> ({spec.zeroMeans})</span>}
      </span>
    )
  } else if (spec.kind === 'choice') {
    control = (
      <select id={id} aria-describedby={described} value={String(value)} disabled={disabled} title={spec.help} onChange={(e) => onChange(e.target.value as never)}>
        {spec.choices.map((c) => (
          <option key={String(c.value)} value={String(c.value)}>
            {c.label}
          </option>
        ))}
      </select>
    )
  } else if (spec.kind === 'bool') {
    control = <input id={id} type="checkbox" aria-describedby={described} checked={value as boolean} disabled={disabled} title={spec.help} onChange={(e) => onChange(e.target.checked as never)} />
  } else {
    const text = spec as TextSpec
    control = (
      <input
        key={value as string} // uncontrolled while typing; remounts when the value changes elsewhere (presets, block toggles)
        id={id}
        type="text"
        aria-describedby={described}
        defaultValue={value as string}
        maxLength={text.maxLength}
        disabled={disabled}
        title={spec.help}
        onBlur={(e) => {
          const parsed = text.parse(e.target.value)
          if (parsed !== null) onChange(parsed as never)
          else e.target.value = value as string
        }}
      />
    )
  }
  return (
    <div className={`setting${problem ? ' invalid' : ''}`} data-setting={spec.key}>
      <label htmlFor={id}>{spec.label}</label>
      {control}
      <p className="help" id={helpId}>
        {spec.help}
        {(spec.kind === 'number' || spec.kind === 'int') && (
          <span className="range">
            {' '}
            Range {formatNumber(spec.min)}–{formatNumber(spec.max)}, default {formatNumber(spec.default)}.
          </span>
        )}
      </p>
      {problem && (
        <p className="problem" id={`${id}-problem`} role="alert">
          {problem}
        </p>
      )}
      {problem && fix && (
        <button type="button" className="fix" aria-describedby={`${id}-problem`} disabled={disabled} onClick={fix.apply}>
          {fix.text}
        </button>
      )}
    </div>
  )
}
