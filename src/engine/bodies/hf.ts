/** Hugging Face checkpoints (GPT-2, Llama, BERT, DistilBERT): full, freeze, head and LoRA.
 *  LoRA's target kinds (qkv, proj, fc, out) map to each family's own projections, named as
 *  Hugging Face names them (HF_TARGET_MODULES); adapters are not offered (PEFT's LoRA is the
 *  format these models export). */
import type { Method } from '../../settings/types'
import { LORA_TARGETS } from '../../settings/schema'
import { parseLoraTargets } from '../tuning/lora'
import { HF_TARGET_MODULES, HfBody, hfBlockPrefix } from './hfBody'
import { narrowest, type BodyKind } from './kind'

const HF_METHODS: readonly Method[] = ['head', 'freeze', 'lora', 'full', 'custom']

/** Module paths of every projection the chosen target kinds name, block by block. */
export function hfLoraLayers(model: HfBody, targets: readonly (typeof LORA_TARGETS)[number][]): string[] {
  const kinds = HF_TARGET_MODULES[model.model.hf.modelType]
  const out: string[] = []
  for (let b = 0; b < model.config.nLayers; b++) for (const t of targets) for (const m of kinds[t]) out.push(`${hfBlockPrefix(model.model, b)}${m}`)
  return out
}

export const hfKind: BodyKind<HfBody> = {
  name: 'Hugging Face model',
  owns: (model): model is HfBody => model instanceof HfBody,
  loraPlacement: (model, settings) => ({ layers: hfLoraLayers(model, parseLoraTargets(settings.loraTargets)) }),
  adapters: false,
  limits(model) {
    const { nLayers, dModel, seqLen } = model.config
    const lora = LORA_TARGETS.map((target) => narrowest(model, target, hfLoraLayers(model, [target])))
    return {
      nLayers,
      width: dModel,
      methods: HF_METHODS,
      why: { adapter: 'Adapter blocks are for the studio’s own text model; Hugging Face models fine-tune with LoRA, which exports as a PEFT adapter.' },
      lora,
      loraTargetsChosen: true,
      maxSeqLen: seqLen,
    }
  },
}
