/** A loaded TensorFlow.js layers model (image, tabular or other input): its layers run as
 *  whole units, so neither LoRA nor adapters have a place; the other methods train it. */
import { LayersBody } from '../models/layersBody'
import { EVERY_METHOD, type BodyKind } from './kind'

const WHOLE_UNITS = 'a loaded TensorFlow.js layers model: its layers run as whole units, with no place to insert'

export const layersKind: BodyKind<LayersBody> = {
  name: 'layers model',
  owns: (model): model is LayersBody => model instanceof LayersBody,
  loraPlacement: () => null,
  adapters: false,
  limits(model) {
    const { nLayers, dModel } = model.config
    return {
      nLayers,
      width: dModel,
      methods: EVERY_METHOD.filter((m) => m !== 'lora' && m !== 'adapter'),
      why: { lora: `LoRA cannot be added to ${WHOLE_UNITS} low-rank updates`, adapter: `Adapters cannot be added to ${WHOLE_UNITS} adapter blocks` },
      lora: [],
      loraTargetsChosen: false,
    }
  },
}
