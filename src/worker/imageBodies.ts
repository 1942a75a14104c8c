/**
 * What ImageModelHost needs of the image body it fine-tunes, whichever it is: the studio's
 * TinyCnn or a loaded TensorFlow.js layers model (LayersBody). Each says how its pixels are
 * prepared (square input side, normalisation), how one picture becomes its input, how its
 * layer table reads, and which methods it cannot train.
 */
import { resizeRgba, rgbaToFloat, type Normalisation } from '../engine/data/images/pixels'
import type { Rgba } from '../engine/data/images/types'
import type { Body } from '../engine/models/body'
import type { Settings } from '../settings/types'
import type { CurrentLayers } from './layersModels'
import type { LayerSummary, ModelSummary } from './protocol'

export interface ImageBody {
  readonly body: Body
  /** Side of the square input, in pixels. */
  readonly size: number
  /** How decoded pixels are scaled for `body.embed` (see loadImageBatch). */
  readonly norm: Normalisation
  readonly summary: ModelSummary
  /** One picture → its input pixels [size · size · 3], prepared as the training batches are. */
  toInput(img: Rgba): Float32Array
  describe(trainable: Set<number>): LayerSummary[]
  /** Why this body cannot train with the method chosen, or null. */
  methodProblem(settings: Pick<Settings, 'method'>): string | null
}

/** Raw 0–255 values: LayersBody.embed does the model's own scaling to [-1, 1]. */
export const PIXEL_VALUES: Normalisation = { mean: [0, 0, 0], std: [1 / 255, 1 / 255, 1 / 255] }

/** A loaded layers image model (square input; layersFitProblem refuses the others). */
export function layersImageBody(cur: CurrentLayers): ImageBody {
  const { body, summary } = cur
  const size = body.inputShape[0]!
  return {
    body,
    size,
    norm: PIXEL_VALUES,
    summary,
    // The training batches' path (loadImageBatch): bilinear resize, transparency on white.
    toInput: (img) => {
      const out = new Float32Array(size * size * 3)
      rgbaToFloat(resizeRgba(img, size, size), PIXEL_VALUES, out)
      return out
    },
    describe: (trainable) => body.describeLayers(trainable),
    methodProblem: ({ method }) =>
      method === 'lora' || method === 'adapter'
        ? `${method === 'lora' ? 'LoRA' : 'Adapters'} cannot be added to a loaded TensorFlow.js layers model (${summary.title}): its layers run as whole units, with no place to insert low-rank updates or adapter blocks. Choose Head only, Freeze early blocks, Custom or Full.`
        : null,
  }
}
