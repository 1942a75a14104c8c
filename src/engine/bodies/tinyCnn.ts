/** The image CNN: LoRA on all its pointwise (1×1) convs (the LoRA-targets setting names
 *  transformer layers, so it does not choose here); no adapters (no transformer blocks). */
import { TinyCnn, pointwiseLayers } from '../models/tinyCnn'
import { EVERY_METHOD, narrowest, type BodyKind } from './kind'

export const tinyCnnKind: BodyKind<TinyCnn> = {
  name: 'TinyCnn',
  owns: (model): model is TinyCnn => model instanceof TinyCnn,
  loraPlacement: (model) => ({ layers: pointwiseLayers(model.config) }),
  adapters: false,
  limits(model) {
    const { nLayers, dModel } = model.config
    // Adapters sit between transformer blocks (afterBlock hooks), which the CNN has not.
    return {
      nLayers,
      width: dModel,
      methods: EVERY_METHOD.filter((m) => m !== 'adapter'),
      why: { adapter: 'Adapters go between the blocks of a transformer; this CNN has none' },
      lora: [narrowest(model, 'pointwise', pointwiseLayers(model.config))],
      loraTargetsChosen: false,
    }
  },
}
