import { useEffect, useRef } from 'react'
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

/** A few images as loaded and as training would see them after random augmentation. */
export function AugmentPreview({ disabled }: { disabled: boolean }) {
  const augment = useDatasets((s) => s.augment)
  return (
    <section className="augment" aria-label="Augmentation preview" data-testid="augment-preview">
      <button type="button" disabled={disabled} onClick={() => sendData({ type: 'augmentPreview', count: 6, size: SIZE, seed: Math.floor(Math.random() * 1e9) })} title="Random flip, crop and colour jitter, as used when training with augmentation.">
        Preview augmentation
      </button>
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
