/** The tabular MLP built for a dataset's numeric columns, and any other body made of whole
 *  dense layers: no LoRA, no adapters. */
import type { Body } from '../models/body'
import { EVERY_METHOD, type BodyKind } from './kind'

export const wholeLayersKind: BodyKind<Body> = {
  name: 'whole-layer body',
  owns: (_model): _model is Body => true,
  loraPlacement: () => null,
  adapters: false,
  limits(model) {
    const { nLayers, dModel } = model.config
    return { nLayers, width: dModel, methods: EVERY_METHOD.filter((m) => m !== 'lora' && m !== 'adapter'), lora: [], loraTargetsChosen: false }
  },
}
