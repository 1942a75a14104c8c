/** The limits a model declares for the settings (ModelLimits): which methods it trains
 *  with, the largest LoRA rank each target allows, the longest sequence. The `Tuning` the
 *  loop builds refuses the same things; declaring them here lets the page say which control
 *  to change, and to what, before a run. */
import type { Method } from '../../settings/types'
import type { ModelLimits } from '../types/model'
import type { Body } from './body'
import { TinyCnn, pointwiseLayers } from './tinyCnn'
import { TinyGpt } from './tinyGpt'
import { LayersBody } from './layersBody'
import { LORA_TARGETS } from '../../settings/schema'
import { LORA_LAYER_OF } from '../tuning/lora'

const EVERY_METHOD: readonly Method[] = ['head', 'freeze', 'lora', 'adapter', 'full', 'custom']

export function modelLimits(model: Body): ModelLimits {
  const { nLayers, dModel } = model.config
  const blocks = Array.from({ length: nLayers }, (_, b) => b)
  let methods: readonly Method[]
  let lora: ModelLimits['lora'] = []
  let loraTargetsChosen = false
  let why: ModelLimits['why']
  if (model instanceof TinyGpt) {
    methods = EVERY_METHOD
    lora = LORA_TARGETS.map((target) => narrowest(model, target, blocks.map((b) => `h${b}.${LORA_LAYER_OF[target]}`)))
    loraTargetsChosen = true
  } else if (model instanceof TinyCnn) {
    // Adapters sit between transformer blocks (afterBlock hooks), which the CNN has not.
    methods = EVERY_METHOD.filter((m) => m !== 'adapter')
    why = { adapter: 'Adapters go between the blocks of a transformer; this CNN has none' }
    lora = [narrowest(model, 'pointwise', pointwiseLayers(model.config))]
  } else {
    // A loaded layers model or the tabular MLP: whole layers, no place for LoRA or adapters.
    methods = EVERY_METHOD.filter((m) => m !== 'lora' && m !== 'adapter')
    if (model instanceof LayersBody) {
      const wholeUnits = 'a loaded TensorFlow.js layers model: its layers run as whole units, with no place to insert'
      why = { lora: `LoRA cannot be added to ${wholeUnits} low-rank updates`, adapter: `Adapters cannot be added to ${wholeUnits} adapter blocks` }
    }
  }
  return { nLayers, width: dModel, methods, ...(why ? { why } : {}), lora, loraTargetsChosen, ...(model instanceof TinyGpt ? { maxSeqLen: model.config.seqLen } : {}) }
}

/** The layer among `layers` whose kernel [in, out] has the smallest side: it caps the rank. */
function narrowest(model: Body, target: string, layers: readonly string[]): ModelLimits['lora'][number] {
  let best = { target, layer: '', maxRank: Number.POSITIVE_INFINITY }
  for (const layer of layers) {
    const [nIn = 0, nOut = 0] = model.get(`${layer}.kernel`).shape
    const side = Math.min(nIn, nOut)
    if (side < best.maxRank) best = { target, layer, maxRank: side }
  }
  return best
}
