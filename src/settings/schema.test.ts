import { describe, expect, it } from 'vitest'
import {
  clamp,
  coerce,
  DEFAULTS,
  describeSetting,
  GROUPS,
  SCHEMA,
  settingsMarkdownTable,
  SPEC,
  summarise,
} from './schema'
import type { Settings } from './types'

// Every key of the Settings type, written out so a key missing from the schema fails here
// as well as in the compiler.
const ALL_KEYS: (keyof Settings)[] = [
  'method', 'freezeFirst', 'frozenBlocks', 'unfreezeEvery', 'headFirstEpochs', 'loraRank', 'loraAlpha',
  'loraDropout', 'loraTargets', 'adapterSize', 'pooling', 'learningRate', 'batchSize', 'epochs',
  'optimizer', 'momentum', 'weightDecay', 'schedule', 'warmupSteps', 'stepEvery', 'stepGamma',
  'plateauPatience', 'clipNorm', 'accumSteps', 'recompute', 'dropout', 'labelSmoothing', 'taskWeights',
  'augFlip', 'augShift', 'augRotate', 'augColor', 'valSplit',
  'earlyStopPatience', 'monitor', 'restoreBest', 'keepLast', 'keepBest', 'seed', 'seqLen', 'backend',
]

describe('schema', () => {
  it('declares every setting exactly once', () => {
    const keys = SCHEMA.map((s) => s.key)
    expect(new Set(keys).size).toBe(keys.length)
    expect([...keys].sort()).toEqual([...ALL_KEYS].sort())
    for (const k of ALL_KEYS) expect(SPEC[k].key).toBe(k)
  })

  it('has unique 1–3 character URL names, none of them the version parameter', () => {
    const shorts = SCHEMA.map((s) => s.short)
    expect(new Set(shorts).size).toBe(shorts.length)
    for (const s of shorts) expect(s).toMatch(/^[a-z]{1,3}$/)
    expect(shorts).not.toContain('v')
  })

  it('has one-line help, a label and a known group for every setting', () => {
    const groups = GROUPS.map((g) => g.id)
    for (const s of SCHEMA) {
      expect(s.label.length).toBeGreaterThan(0)
      expect(s.label.length).toBeLessThanOrEqual(24)
      expect(s.help).not.toMatch(/\n/)
      expect(s.help.length).toBeGreaterThan(40)
      expect(groups).toContain(s.group)
    }
  })

  it('has defaults that its own coerce accepts, inside their ranges', () => {
    for (const s of SCHEMA) {
      const c = coerce(s.key, s.default)
      expect(c, s.key).toEqual({ ok: true, value: s.default })
      if (s.kind === 'number' || s.kind === 'int') {
        expect(s.min).toBeLessThan(s.max)
        expect(s.default).toBeGreaterThanOrEqual(s.min)
        expect(s.default).toBeLessThanOrEqual(s.max)
      }
    }
  })

  it('uses the agreed defaults for a small text transformer on a CPU', () => {
    expect(DEFAULTS).toMatchObject({
      method: 'freeze', freezeFirst: 3, learningRate: 1e-3, batchSize: 16, epochs: 4,
      optimizer: 'adamw', weightDecay: 0.01, schedule: 'cosine', warmupSteps: 10, clipNorm: 1,
      accumSteps: 1, dropout: 0.1, labelSmoothing: 0, valSplit: 0.2, earlyStopPatience: 0,
      monitor: 'val_loss', restoreBest: true, seed: 42, seqLen: 64, loraRank: 8, loraAlpha: 16,
      loraDropout: 0, loraTargets: 'qkv,proj', adapterSize: 16, pooling: 'auto', backend: 'auto',
    })
    expect(SPEC.learningRate).toMatchObject({ min: 1e-6, max: 1e-1, scale: 'log' })
    expect(SPEC.batchSize).toMatchObject({ min: 1, max: 512 })
    expect(SPEC.epochs).toMatchObject({ min: 1, max: 100 })
    expect(SPEC.seqLen).toMatchObject({ min: 16, max: 256 })
    expect(SPEC.loraRank).toMatchObject({ min: 1, max: 64 })
  })

  it('shows method-specific controls only for their method', () => {
    const lora: Settings = { ...DEFAULTS, method: 'lora' }
    expect(SPEC.loraRank.showWhen?.(lora)).toBe(true)
    expect(SPEC.loraRank.showWhen?.(DEFAULTS)).toBe(false)
    expect(SPEC.freezeFirst.showWhen?.(lora)).toBe(false)
    expect(SPEC.momentum.showWhen?.({ ...DEFAULTS, optimizer: 'sgd' })).toBe(true)
  })
})

describe('coerce', () => {
  it('reads numbers from URL text exactly', () => {
    expect(coerce('learningRate', '1e-4')).toEqual({ ok: true, value: 1e-4 })
    expect(coerce('learningRate', '0.0003')).toEqual({ ok: true, value: 0.0003 })
    expect(coerce('batchSize', '32')).toEqual({ ok: true, value: 32 })
  })

  it.each([
    ['learningRate', 'NaN'],
    ['learningRate', 'Infinity'],
    ['learningRate', '-Infinity'],
    ['learningRate', '1e308'],
    ['learningRate', '0'],
    ['learningRate', '0x10'],
    ['learningRate', ''],
    ['learningRate', '1e-3;alert(1)'],
    ['batchSize', '2.5'],
    ['batchSize', '-4'],
    ['batchSize', 1e6],
    ['batchSize', Number.NaN],
    ['batchSize', true],
    ['restoreBest', 'yes'],
    ['restoreBest', 1],
    ['method', 'LORA'],
    ['method', '<script>alert(1)</script>'],
    ['method', 3],
    ['loraTargets', 'qkv,<b>'],
    ['loraTargets', ''],
    ['loraTargets', 'qkv,,proj'],
    ['seed', '9'.repeat(400)],
  ] as [keyof Settings, unknown][])('refuses %s = %j and returns the default', (key, raw) => {
    const c = coerce(key, raw)
    expect(c.ok).toBe(false)
    expect(c.value).toBe(DEFAULTS[key])
    if (!c.ok) expect(c.reason.length).toBeGreaterThan(0)
  })

  it('canonicalises LoRA targets: order and duplicates', () => {
    expect(coerce('loraTargets', 'out,qkv,out')).toEqual({ ok: true, value: 'qkv,out' })
  })

  it('accepts booleans written as 1/0 or true/false', () => {
    expect(coerce('restoreBest', '0')).toEqual({ ok: true, value: false })
    expect(coerce('restoreBest', 'true')).toEqual({ ok: true, value: true })
  })
})

describe('clamp', () => {
  it('moves numbers into range and rounds integers', () => {
    expect(clamp('learningRate', 5)).toBe(0.1)
    expect(clamp('learningRate', 0)).toBe(1e-6)
    expect(clamp('batchSize', 7.6)).toBe(8)
    expect(clamp('batchSize', 10_000)).toBe(512)
    expect(clamp('batchSize', Number.NaN)).toBe(16)
  })

  it('replaces impossible choices and text with the default', () => {
    expect(clamp('method', 'nonsense' as Settings['method'])).toBe('freeze')
    expect(clamp('loraTargets', 'everything')).toBe('qkv,proj')
    expect(clamp('method', 'lora')).toBe('lora')
  })
})

describe('describeSetting', () => {
  it('formats values for people', () => {
    expect(describeSetting('learningRate', 1e-4)).toBe('Learning rate: 1e-4')
    expect(describeSetting('learningRate', 0.002)).toBe('Learning rate: 0.002')
    expect(describeSetting('method', 'lora')).toBe('Method: LoRA')
    expect(describeSetting('restoreBest', false)).toBe('Restore best weights: off')
    expect(describeSetting('earlyStopPatience', 0)).toBe('Early-stop patience: off')
    expect(describeSetting('warmupSteps', 20)).toBe('Warm-up steps: 20 steps')
  })

  it('writes large whole numbers out in full, grouped by thousands (a seed is not 2.147483647e9)', () => {
    expect(describeSetting('seed', 2147483647)).toBe('Seed: 2,147,483,647')
    expect(describeSetting('seed', 1234567)).toBe('Seed: 1,234,567')
    expect(describeSetting('seed', 999999)).toBe('Seed: 999999')
    expect(settingsMarkdownTable()).toContain(`| Seed | \`sd\` | 42 | 0\u20132,147,483,647 | ${SPEC.seed.help} |`)
  })

  it('summarises only changed settings that are in effect', () => {
    expect(summarise(DEFAULTS)).toEqual([])
    const s: Settings = { ...DEFAULTS, learningRate: 2e-3, loraRank: 4 }
    // loraRank is hidden while the method is 'freeze', so it does not show.
    expect(summarise(s)).toEqual(['Learning rate: 0.002'])
  })
})

describe('settingsMarkdownTable', () => {
  it('has a header, a separator and one row per setting', () => {
    const lines = settingsMarkdownTable().split('\n')
    expect(lines).toHaveLength(SCHEMA.length + 2)
    expect(lines).toContain(
      `| Learning rate | \`lr\` | 0.001 | 1e-6\u20130.1 (log) | ${SPEC.learningRate.help} |`,
    )
  })
})
