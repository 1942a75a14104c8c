import { useState, type DragEvent } from 'react'
import { tryModel } from '../../state/actions'
import { usePlayground } from '../../state/playground'
import { useStudio } from '../../state/store'
import { ProbabilityBars } from './ProbabilityBars'

/** Reads an image file into RGBA pixels (the worker resizes them to the model's input). */
async function pixelsOf(file: File): Promise<{ width: number; height: number; rgba: Uint8ClampedArray }> {
  const bitmap = await createImageBitmap(file)
  const canvas = document.createElement('canvas')
  canvas.width = bitmap.width
  canvas.height = bitmap.height
  const ctx = canvas.getContext('2d')
  if (!ctx) throw new Error('This browser cannot read image pixels (no 2D canvas).')
  ctx.drawImage(bitmap, 0, 0)
  bitmap.close()
  const data = ctx.getImageData(0, 0, canvas.width, canvas.height)
  return { width: data.width, height: data.height, rgba: data.data }
}

/** Drop or choose an image; see the model's class probabilities. */
export function ImageTry() {
  const [name, setName] = useState<string | null>(null)
  const [preview, setPreview] = useState<string | null>(null)
  const pending = usePlayground((s) => s.pending)
  const sides = usePlayground((s) => s.sides)
  const message = usePlayground((s) => s.message)
  const input = useStudio((s) => s.model?.input)
  const use = async (file: File | undefined) => {
    if (!file) return
    try {
      const px = await pixelsOf(file)
      setName(file.name)
      if (preview) URL.revokeObjectURL(preview)
      setPreview(URL.createObjectURL(file))
      tryModel({ kind: 'image', name: file.name, ...px })
    } catch (e) {
      useStudio.getState().notify({ kind: 'error', text: `${file.name} could not be read as an image (${e instanceof Error ? e.message : String(e)}). Choose a PNG, JPEG, WebP or GIF file.`, where: `image ${file.name}` })
    }
  }
  const onDrop = (e: DragEvent) => {
    e.preventDefault()
    void use(e.dataTransfer.files[0])
  }
  return (
    <div className="playground-img" onDragOver={(e) => e.preventDefault()} onDrop={onDrop}>
      <div className="field">
        <label htmlFor="pg-image">Image to classify</label>
        <input id="pg-image" type="file" accept="image/*" disabled={pending} aria-describedby="pg-image-help" onChange={(e) => void use(e.target.files?.[0])} />
        <p className="help" id="pg-image-help">
          Choose or drop an image here. {input ? `The model reads ${input.description}.` : ''}
        </p>
      </div>
      {preview && name && <img src={preview} alt={`Chosen image: ${name}`} className="pg-preview" width={112} />}
      {message && <p className="muted" role="status">{message}</p>}
      <div className="side-by-side">
        {(['before', 'after'] as const).map((which) => {
          const side = sides[which]
          const title = which === 'before' ? 'Before fine-tuning' : 'After fine-tuning'
          return (
            <figure key={which} className="side" data-testid={`prediction-${which}`}>
              <figcaption>{title}</figcaption>
              {side.classes ? <ProbabilityBars classes={side.classes} label={`${title}: class probabilities`} /> : <p className="muted">–</p>}
              {side.note && <p className="help">{side.note}</p>}
            </figure>
          )
        })}
      </div>
    </div>
  )
}
