/** Named starting points. A preset lists only what it changes from the defaults; applying
 *  one resets everything else to the defaults except the environment (backend, seed,
 *  sequence length), which describes the machine and data rather than the recipe. */
import { DEFAULTS, SCHEMA } from './schema'
import type { Settings } from './types'

export interface Preset {
  id: string
  name: string
  sentence: string // when to use it, in one sentence
  settings: Partial<Settings>
}

export const PRESETS: readonly Preset[] = [
  {
    id: 'head-only',
    name: 'Head only (linear probe)',
    sentence:
      'Use it first on a new classification task: it trains only the output head in seconds and tells you how far the pretrained features already go.',
    settings: { method: 'head', learningRate: 3e-3, epochs: 6, warmupSteps: 0, dropout: 0 },
  },
  {
    id: 'last-block',
    name: 'Last block + head (default)',
    sentence:
      'The safe default for a few hundred examples: the last block adapts to your data while the three below keep what pretraining learnt.',
    settings: { method: 'freeze', freezeFirst: 3 },
  },
  {
    id: 'lora-r8',
    name: 'LoRA r=8',
    sentence:
      'Use it when you want a tiny, shareable update to every block: rank-8 matrices on the attention projections, with the original weights untouched.',
    settings: {
      method: 'lora',
      loraRank: 8,
      loraAlpha: 16,
      loraTargets: 'qkv,proj',
      learningRate: 2e-3,
      weightDecay: 0,
    },
  },
  {
    id: 'adapters',
    name: 'Adapters',
    sentence:
      'Use it to keep one frozen model and swap small per-task modules: a 16-wide bottleneck after each block learns the task.',
    settings: { method: 'adapter', adapterSize: 16, learningRate: 1e-3 },
  },
  {
    id: 'full-gentle',
    name: 'Full fine-tune, gentle',
    sentence:
      'Use it when the new text is far from the pretraining text and you have enough of it: every weight trains, slowly, with a longer warm-up so early steps do not wreck what it knew.',
    settings: {
      method: 'full',
      learningRate: 1e-4,
      warmupSteps: 30,
      epochs: 3,
      clipNorm: 1,
      weightDecay: 0.01,
    },
  },
  {
    id: 'gradual',
    name: 'Gradual unfreezing',
    sentence:
      'Use it when full fine-tuning forgets too much: the head trains first, then one more block thaws each epoch from the top down.',
    settings: { method: 'freeze', freezeFirst: 4, unfreezeEvery: 1, epochs: 5, learningRate: 5e-4 },
  },
  {
    id: 'quick-check',
    name: 'Quick check',
    sentence:
      'Use it to check that data, model and settings work end to end in a few seconds before a real run.',
    settings: { epochs: 1, seqLen: 32, batchSize: 32, warmupSteps: 0 },
  },
]

export function presetById(id: string): Preset | undefined {
  return PRESETS.find((p) => p.id === id)
}

const ENVIRONMENT = SCHEMA.filter((s) => s.group === 'environment').map((s) => s.key)

/** Defaults, the current environment, then the preset's own values. */
export function applyPreset(current: Settings, preset: Preset): Settings {
  const env: Partial<Settings> = {}
  for (const k of ENVIRONMENT) copy(env, current, k)
  return { ...DEFAULTS, ...env, ...preset.settings }
}

/** The preset whose values all match `s` (the most specific one wins), for a "preset" badge. */
export function matchPreset(s: Settings): Preset | undefined {
  let best: Preset | undefined
  for (const p of PRESETS) {
    const applied = applyPreset(s, p)
    const same = SCHEMA.every((spec) => applied[spec.key] === s[spec.key])
    if (same && (!best || Object.keys(p.settings).length > Object.keys(best.settings).length)) {
      best = p
    }
  }
  return best
}

function copy<K extends keyof Settings>(to: Partial<Settings>, from: Settings, k: K): void {
  to[k] = from[k]
}
