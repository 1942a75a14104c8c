import type { ForwardHooks, TinyGpt } from '../models/tinyGpt'
import type { Settings } from '../../settings/types'
import { Adapters } from './adapters'
import { Lora, parseLoraTargets } from './lora'

export type TuningSettings = Pick<Settings, 'method' | 'loraRank' | 'loraAlpha' | 'loraDropout' | 'loraTargets' | 'adapterSize' | 'seed'>

/** What the chosen method plugs into the model: its weights and forward hooks. */
export interface Tuning {
  lora?: Lora
  adapters?: Adapters
  owners: (Lora | Adapters)[] // pass as `tuning` to trainableVariables / paramCounts / frozenPrefixBlocks
  hooks?: ForwardHooks // pass to every forward pass
  dispose(): void
}

/** Builds LoRA or adapters for the 'lora' / 'adapter' methods; nothing for the others. */
export function createTuning(model: TinyGpt, settings: TuningSettings): Tuning {
  const seed = settings.seed + 7 // apart from the head's and the data's seeds
  if (settings.method === 'lora') {
    const lora = new Lora(model, {
      rank: settings.loraRank,
      alpha: settings.loraAlpha,
      dropout: settings.loraDropout,
      targets: parseLoraTargets(settings.loraTargets),
      seed,
    })
    return { lora, owners: [lora], hooks: lora.hooks, dispose: () => lora.dispose() }
  }
  if (settings.method === 'adapter') {
    const adapters = new Adapters(model, { size: settings.adapterSize, seed })
    return { adapters, owners: [adapters], hooks: adapters.hooks, dispose: () => adapters.dispose() }
  }
  return { owners: [], dispose: () => {} }
}
