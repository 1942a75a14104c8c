import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { decodeSettings, encodeLink, encodeSettings, MAX_QUERY_LENGTH } from './codec'
import { LM_LINK_DEFAULTS, type LinkModel, type LmLink } from './lmLink'
import { CURRENT, Versions } from './migrations'
import { DEFAULTS, SCHEMA, type SettingSpec } from './schema'
import type { Settings } from './types'

/** A valid value for `spec` that is not its default, deliberately awkward for numbers
 *  (long decimals) so the round trip must be exact, not "close". */
function nonDefault(spec: SettingSpec): Settings[keyof Settings] {
  switch (spec.kind) {
    case 'number':
    case 'int': {
      const t = spec.scale === 'log' ? 0.3183098861837907 : 0.7071067811865476
      let v =
        spec.scale === 'log'
          ? spec.min * Math.pow(spec.max / spec.min, t)
          : spec.min + (spec.max - spec.min) * t
      if (spec.kind === 'int') v = Math.round(v)
      return v === spec.default ? (spec.kind === 'int' ? v + 1 : v * 0.5) : v
    }
    case 'bool':
      return !spec.default
    case 'choice': {
      const other = spec.choices.find((c) => c.value !== spec.default)
      if (!other) throw new Error(`${spec.key} has a single choice`)
      return other.value
    }
    case 'text':
      // Each text setting has its own vocabulary: its placeholder is a valid non-default example.
      return spec.placeholder !== undefined && spec.parse(spec.placeholder) === spec.placeholder && spec.placeholder !== spec.default ? spec.placeholder : 'qkv,proj,fc,out'
  }
}

function everythingChanged(): Settings {
  const s: Record<string, unknown> = {}
  for (const spec of SCHEMA) s[spec.key] = nonDefault(spec)
  return s as unknown as Settings
}

describe('encodeSettings / decodeSettings', () => {
  it('round-trips every setting set to a non-default value', () => {
    const s = everythingChanged()
    for (const spec of SCHEMA) expect(s[spec.key], spec.key).not.toBe(spec.default)
    const query = encodeSettings(s)
    const { settings, report } = decodeSettings(query)
    expect(settings).toEqual(s)
    expect(report.ignored).toEqual([])
    expect(report.applied).toHaveLength(SCHEMA.length)
    // Through a real URL too (the browser may re-escape).
    const url = new URL(`https://studio.example/?${query}`)
    expect(decodeSettings(url.search).settings).toEqual(s)
  })

  it('encodes the defaults as just the version', () => {
    expect(encodeSettings(DEFAULTS)).toBe(`v=${CURRENT}`)
    const { settings, report } = decodeSettings(`?v=${CURRENT}`)
    expect(settings).toEqual(DEFAULTS)
    expect(report).toEqual({ version: CURRENT, applied: [], ignored: [] })
  })

  it('writes only changed values, under short names, readably', () => {
    const q = encodeSettings({
      ...DEFAULTS,
      method: 'lora',
      learningRate: 2e-3,
      loraTargets: 'qkv,fc',
      restoreBest: false,
    })
    expect(q).toBe('v=2&m=lora&lt=qkv,fc&lr=0.002&rb=0')
  })

  it('reads the hash form and tolerates an empty string', () => {
    expect(decodeSettings('#v=2&ep=7').settings.epochs).toBe(7)
    expect(decodeSettings('').settings).toEqual({ ...DEFAULTS, epochs: 3 }) // v1: old default
  })

  it('refuses a hostile link field by field: defaults for those fields, and reports', () => {
    const long = 'a'.repeat(5000)
    const query = [
      'v=2',
      'm=%3Cscript%3Ealert(1)%3C%2Fscript%3E',
      'lr=1e308',
      'bs=-Infinity',
      'ep=NaN',
      'rb=yes',
      'wd=true',
      'o=adamw%00',
      'lt=qkv,proj%3Cimg%20src%3Dx%20onerror%3Dalert(1)%3E',
      `b=${long}`,
      'sd=1e400',
      'ff=3.5',
      'do=0x1',
      'ac=2&ac=3',
      '__proto__=1',
      'constructor=x',
      `${long}=1`,
      'evil=%3Cscript%3E',
      // one good value, which must survive among the bad ones
      'sl=128',
    ].join('&')
    const { settings, report } = decodeSettings(query)
    expect(settings).toEqual({ ...DEFAULTS, seqLen: 128 })
    expect(report.applied).toEqual([{ key: 'seqLen', value: 128 }])
    const params = report.ignored.map((i) => i.param)
    for (const p of ['m', 'lr', 'bs', 'ep', 'rb', 'wd', 'o', 'lt', 'b', 'sd', 'ff', 'do', 'ac']) {
      expect(params, p).toContain(p)
    }
    expect(params).toEqual(expect.arrayContaining(['__proto__', 'constructor', 'evil']))
    expect(report.ignored.find((i) => i.param === 'ac')?.reason).toMatch(/2 times/)
    expect(report.ignored.find((i) => i.param === 'evil')?.reason).toBe('unknown setting')
    // Reports never carry the long value or param back in full.
    for (const i of report.ignored) {
      expect(i.param.length).toBeLessThanOrEqual(25)
      expect(i.reason.length).toBeLessThan(200)
    }
    expect(Object.prototype).not.toHaveProperty('1')
    // No string value outside the allowed choices.
    for (const spec of SCHEMA) {
      if (spec.kind === 'choice') {
        expect(spec.choices.map((c) => c.value)).toContain(settings[spec.key])
      }
    }
  })

  it('never throws, whatever the input', () => {
    const inputs = ['%', '%E0%A4%A', '&&&', '=', '==1', 'v', 'v=', 'v=-1', 'v=1e3', '?#?', '\u0000']
    for (const q of inputs) {
      expect(() => decodeSettings(q)).not.toThrow()
      expect(SCHEMA.every((s) => decodeSettings(q).settings[s.key] !== undefined)).toBe(true)
    }
    expect(() => decodeSettings(undefined as unknown as string)).not.toThrow()
  })

  it('refuses a giant link whole', () => {
    const { settings, report } = decodeSettings(`v=2&lr=0.01&x=${'y'.repeat(MAX_QUERY_LENGTH)}`)
    expect(settings).toEqual(DEFAULTS)
    expect(report.ignored[0]?.param).toBe('(link)')
  })

  it('reports an unreadable version and reads the link as version 1', () => {
    const { settings, report } = decodeSettings('v=two&lr=0.01')
    expect(report.version).toBe(1)
    expect(report.ignored[0]).toMatchObject({ param: 'v' })
    expect(settings.learningRate).toBe(0.01)
  })

  it('applies the known keys of a link from a newer studio and reports it', () => {
    const newer = CURRENT + 1
    const { settings, report } = decodeSettings(`v=${newer}&lr=0.005&m=lora&qz=8&m2=moe`)
    expect(report.version).toBe(newer)
    expect(report.ignored[0]?.param).toBe('v')
    expect(report.ignored[0]?.reason).toMatch(/newer version of the studio/)
    expect(settings).toEqual({ ...DEFAULTS, learningRate: 0.005, method: 'lora' })
    expect(report.ignored.map((i) => i.param)).toEqual(['v', 'qz', 'm2'])
    // No migration ran: a newer link without `ep` is not given the v1 default.
    expect(settings.epochs).toBe(DEFAULTS.epochs)
  })
})

interface FixtureFile {
  version: number
  cases: { name: string; link: string; expected: Settings }[]
}

const fixtureDir = join(import.meta.dirname, 'fixtures')
const fixtures = readdirSync(fixtureDir)
  .filter((f) => /^v\d+\.json$/.test(f))
  .map((f) => JSON.parse(readFileSync(join(fixtureDir, f), 'utf8')) as FixtureFile)

describe('old links (fixtures/)', () => {
  it('keeps a fixture for every version', () => {
    expect(fixtures.map((f) => f.version).sort()).toEqual(Object.values(Versions).sort())
  })

  for (const file of fixtures) {
    for (const c of file.cases) {
      it(`v${file.version}: ${c.name}`, () => {
        const { settings, report } = decodeSettings(c.link)
        expect(report.ignored).toEqual([])
        expect(report.version).toBe(file.version)
        expect(settings).toEqual(c.expected)
        // And today's link for the same settings decodes to them too.
        expect(decodeSettings(encodeSettings(settings)).settings).toEqual(c.expected)
      })
    }
  }
})

/** The panel's choices when a link says nothing of them (written out, not read from the code). */
const LM_DEFAULTS: LmLink = { objective: 'sft', beta: 0.1, sftWeight: 0, pack: false, rounds: 1, threshold: 0.6, balance: true }

describe('the language-model part of the link', () => {
  it('writes nothing for the panel’s defaults and no model', () => {
    expect(encodeLink(DEFAULTS, LM_LINK_DEFAULTS, null)).toBe(`v=${CURRENT}`)
  })

  it('writes only the changed choices, under short names, after step 3’s settings, and the model readably', () => {
    const lm: LmLink = { ...LM_DEFAULTS, objective: 'dpo', beta: 0.05, sftWeight: 0.25 }
    const model: LinkModel = { repo: 'HuggingFaceTB/SmolLM2-135M', revision: 'main' }
    expect(encodeLink({ ...DEFAULTS, method: 'lora' }, lm, model)).toBe('v=2&m=lora&lo=dpo&db=0.05&dw=0.25&hm=HuggingFaceTB/SmolLM2-135M')
    expect(encodeLink(DEFAULTS, { ...LM_DEFAULTS, pack: true }, { repo: 'a/b', revision: 'refs/pr/1' })).toBe('v=2&pk=1&hm=a/b&hv=refs/pr/1')
    expect(encodeLink(DEFAULTS, { ...LM_DEFAULTS, objective: 'pseudo', rounds: 3, threshold: 0.75, balance: false }, null)).toBe('v=2&lo=pseudo&sr=3&st=0.75&sb=0')
    // A model id the link could not carry is left out rather than written unchecked.
    expect(encodeLink(DEFAULTS, LM_DEFAULTS, { repo: 'gpt2', revision: 'main' })).toBe('v=2')
  })

  it('reads them back, and through a real URL', () => {
    const query = 'v=2&m=lora&lo=dpo&db=0.05&dw=0.25&hm=HuggingFaceTB/SmolLM2-135M&hv=v1.0'
    for (const q of [query, new URL(`https://studio.example/?${query}`).search]) {
      const d = decodeSettings(q)
      expect(d.settings).toEqual({ ...DEFAULTS, method: 'lora' })
      expect(d.lm).toEqual({ ...LM_DEFAULTS, objective: 'dpo', beta: 0.05, sftWeight: 0.25 })
      expect(d.model).toEqual({ repo: 'HuggingFaceTB/SmolLM2-135M', revision: 'v1.0' })
      expect(d.report.ignored).toEqual([])
      expect(d.report.applied).toEqual([
        { key: 'method', value: 'lora' },
        { key: 'objective', value: 'dpo' },
        { key: 'beta', value: 0.05 },
        { key: 'sftWeight', value: 0.25 },
        { key: 'hubRepo', value: 'HuggingFaceTB/SmolLM2-135M' },
        { key: 'hubRevision', value: 'v1.0' },
      ])
    }
    // An escaped slash reads the same.
    expect(decodeSettings('v=2&hm=openai-community%2Fgpt2').model).toEqual({ repo: 'openai-community/gpt2', revision: 'main' })
  })

  it('refuses hostile values one by one, leaving each at its default with a reason, and never names a bad model', () => {
    const query = [
      'v=2',
      'lo=%3Cscript%3E',
      'db=0',
      'dw=1e308',
      'pk=yes',
      'sr=2.5',
      'st=NaN',
      'sb=2',
      `hm=${encodeURIComponent('https://evil.example/x')}`,
      'hv=main',
      'sl=128', // one good value among them
    ].join('&')
    const { settings, lm, model, report } = decodeSettings(query)
    expect(settings).toEqual({ ...DEFAULTS, seqLen: 128 })
    expect(lm).toEqual(LM_DEFAULTS)
    expect(model).toBeNull()
    expect(report.applied).toEqual([{ key: 'seqLen', value: 128 }])
    expect(Object.fromEntries(report.ignored.map((i) => [i.param, i.reason]))).toEqual({
      hm: 'Hugging Face model: "https://evil.example/x" is not of the form owner/name; no model offered',
      lo: 'Objective: expected one of sft, dpo, pseudo, got "<script>"; using the default',
      db: 'DPO beta: 0 is outside 0.01–2; using the default',
      dw: 'SFT term weight: 1e308 is outside 0–2; using the default',
      pk: 'Pack short rows: expected 1 or 0, got "yes"; using the default',
      sr: 'Self-training rounds: expected a whole number, got 2.5; using the default',
      st: 'Confidence threshold: expected a number, got "NaN"; using the default',
      sb: 'Balance the classes: expected 1 or 0, got "2"; using the default',
    })
  })

  it('names the model at main when only its revision is bad, and ignores a revision without a model', () => {
    const bad = decodeSettings('v=2&hm=a/b&hv=..%2F..%2Fsecret')
    expect(bad.model).toEqual({ repo: 'a/b', revision: 'main' })
    expect(bad.report.ignored).toEqual([{ param: 'hv', reason: 'Model revision: "../../secret" is not a branch, tag or commit name; main offered instead' }])
    const alone = decodeSettings('v=2&hv=v1.0')
    expect(alone.model).toBeNull()
    expect(alone.report.ignored).toEqual([{ param: 'hv', reason: 'Model revision: a revision without a model (hm) names nothing; ignored' }])
    const twice = decodeSettings('v=2&hm=a/b&hm=c/d')
    expect(twice.model).toBeNull()
    expect(twice.report.ignored[0]).toMatchObject({ param: 'hm', reason: expect.stringMatching(/2 times/) })
  })

  it('never throws on odd model values', () => {
    for (const q of ['hm', 'hm=', 'hm=%', 'hm=/', 'hm=a/', 'hv=', `hm=${'a/'.repeat(200)}`, 'hm=a%00/b', 'lo=', 'db=', 'sr=1e400']) {
      expect(() => decodeSettings(q), q).not.toThrow()
      expect(decodeSettings(q).model, q).toBeNull()
    }
  })
})

interface LmFixtureFile {
  version: number
  cases: { name: string; link: string; settings: Settings; lm: LmLink; model: LinkModel | null }[]
}

describe('old links keep their meaning now that links carry the language-model part', () => {
  for (const file of fixtures) {
    for (const c of file.cases) {
      it(`v${file.version}: ${c.name} has the panel's defaults and names no model`, () => {
        const d = decodeSettings(c.link)
        expect(d.lm).toEqual(LM_DEFAULTS)
        expect(d.model).toBeNull()
        expect(d.report.ignored).toEqual([])
        // every applied entry is one of step 3's settings, as before
        expect(d.report.applied.every((a) => SCHEMA.some((s) => s.key === a.key))).toBe(true)
      })
    }
  }

  const lmFile = JSON.parse(readFileSync(join(fixtureDir, 'v2-lm.json'), 'utf8')) as LmFixtureFile
  for (const c of lmFile.cases) {
    it(`v${lmFile.version} with the language-model part: ${c.name}`, () => {
      const d = decodeSettings(c.link)
      expect(d.report.ignored).toEqual([])
      expect(d.report.version).toBe(lmFile.version)
      expect({ settings: d.settings, lm: d.lm, model: d.model }).toEqual({ settings: c.settings, lm: c.lm, model: c.model })
      const again = decodeSettings(encodeLink(d.settings, d.lm, d.model))
      expect({ settings: again.settings, lm: again.lm, model: again.model }).toEqual({ settings: c.settings, lm: c.lm, model: c.model })
    })
  }
})
