import { useEffect, useRef, useState } from 'react'
import { sendData } from '../../state/actions'
import { useDatasets } from '../../state/datasets'

const SIZE = 64

function Pixels({ rgba, size, label }: { rgba: Uint8ClampedArray; size: number; label: string }) {
  const ref = useRef<HTMLCanvasElement>(null)
  useEffect(() => {
    const ctx = ref.current?.getContext('2d')
    if (ctx) ctx.putImageData(new ImageData(new Uint8ClampedArray(rgba), size, size), 0, 0)
  }, [rgba, size])
  return <canvas ref={ref} width={size} height={size} role="img" aria-label={label} className="thumb" />
}

/** A few images as loaded and as training would see them: the worker runs the training
 *  loop's own augmentation with the current settings, one training step's draws per click. */
export function AugmentPreview({ disabled }: { disabled: boolean }) {
  const augment = useDatasets((s) => s.augment)
  const [step, setStep] = useState(0)
  return (
    <section className="augment" aria-label="Augmentation preview" data-testid="augment-preview">
      <button type="button" disabled={disabled} onClick={() => {
          sendData({ type: 'augmentPreview', count: 6, size: SIZE, step })
          setStep(step + 1)
        }}
        title="Shows a few images with the augmentation set in step 3 (Advanced settings, Image augmentation), as successive training steps draw it.">
        Preview augmentation
      </button>
      {augment && <p className="help" data-testid="augment-note">{augment.note}</p>}
      {augment && (
        <div className="thumbs">
          {augment.samples.map((s, i) => (
            <figure key={i}>
              <Pixels rgba={s.original} size={augment.size} label={`${s.label}, as loaded`} />
              <Pixels rgba={s.augmented} size={augment.size} label={`${s.label}, augmented`} />
              <figcaption>{s.label}</figcaption>
            </figure>
          ))}
        </div>
      )}
    </section>
  )
}
