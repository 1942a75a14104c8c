import { useEffect, useRef, useState, type InputHTMLAttributes } from 'react'

interface Props extends Omit<InputHTMLAttributes<HTMLInputElement>, 'value' | 'onChange' | 'min' | 'max' | 'type'> {
  value: number
  min: number
  max: number
  /** Whole numbers only. */
  integer?: boolean
  /** A typed value in [min, max] (each keystroke that makes one), or the clamped value on blur. */
  onCommit: (value: number) => void
}

/** A number field that lets a person type: what is typed stays in the field while it is on its
 *  way to a number ("0", "0.", "0.0" on the way to 0.05), and only a number in [min, max] is
 *  passed on. Leaving the field puts back the last number passed on, or clamps one typed out of
 *  range. (A controlled field that turned each keystroke into a number at once put "0" back as
 *  the default 0.1, so typing 0.05 gave 0.105.) */
export function DraftNumberInput({ value, min, max, integer = false, onCommit, onBlur, ...rest }: Props) {
  const [text, setText] = useState(String(value))
  const focused = useRef(false)
  // A value set elsewhere (a restore, a reset) shows unless the person is typing.
  useEffect(() => {
    if (!focused.current) setText(String(value))
  }, [value])
  const usable = (n: number) => Number.isFinite(n) && (!integer || Number.isInteger(n))
  return (
    <input
      {...rest}
      type="number"
      min={min}
      max={max}
      value={text}
      onFocus={(e) => {
        focused.current = true
        rest.onFocus?.(e)
      }}
      onChange={(e) => {
        const raw = e.target.value
        setText(raw)
        const n = Number(raw)
        if (raw.trim() !== '' && usable(n) && n >= min && n <= max && n !== value) onCommit(n)
      }}
      onBlur={(e) => {
        focused.current = false
        const n = Number(text)
        if (text.trim() !== '' && usable(n)) {
          const clamped = Math.min(max, Math.max(min, n))
          if (clamped !== value) onCommit(clamped)
          setText(String(clamped))
        } else setText(String(value))
        onBlur?.(e)
      }}
    />
  )
}
