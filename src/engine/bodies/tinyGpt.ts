/** The built-in text transformer: every method; LoRA on the projection kinds the LoRA-targets
 *  setting chooses (qkv, proj, fc, out in every block); adapters between blocks. */
import { LORA_TARGETS } from '../../settings/schema'
import { TinyGpt } from '../models/tinyGpt'
import { LORA_LAYER_OF, parseLoraTargets } from '../tuning/lora'
import { EVERY_METHOD, narrowest, type BodyKind } from './kind'

export const tinyGptKind: BodyKind<TinyGpt> = {
  name: 'TinyGpt',
  owns: (model): model is TinyGpt => model instanceof TinyGpt,
  loraPlacement: (_model, settings) => ({ targets: parseLoraTargets(settings.loraTargets) }),
  adapters: true,
  limits(model) {
    const { nLayers, dModel } = model.config
    const blocks = Array.from({ length: nLayers }, (_, b) => b)
    const lora = LORA_TARGETS.map((target) => narrowest(model, target, blocks.map((b) => `h${b}.${LORA_LAYER_OF[target]}`)))
    return { nLayers, width: dModel, methods: EVERY_METHOD, lora, loraTargetsChosen: true, maxSeqLen: model.config.seqLen }
  },
}
