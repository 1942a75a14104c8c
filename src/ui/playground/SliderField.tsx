import { useId } from 'react'

/** A labelled range input with its value and a line of help. */
export function SliderField(props: { label: string; help: string; min: number; max: number; step: number; value: number; onChange: (v: number) => void; format?: (v: number) => string }) {
  const id = useId()
  const helpId = `${id}-help`
  return (
    <div className="setting">
      <label htmlFor={id}>
        {props.label}: <output htmlFor={id}>{props.format ? props.format(props.value) : String(props.value)}</output>
      </label>
      <input id={id} type="range" min={props.min} max={props.max} step={props.step} value={props.value} aria-describedby={helpId} title={props.help} onChange={(e) => props.onChange(Number(e.target.value))} />
      <p className="help" id={helpId}>
        {props.help}
      </p>
    </div>
  )
}
