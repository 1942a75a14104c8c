// The studio's LoRA on Hugging Face GPT-2 and Llama bodies, exported as a PEFT adapter, against
// the adapter applied the way PEFT merges it by an independent implementation
// (scripts/hf-reference/apply_adapter.py, PyTorch). The factors are fixed (not trained), so the
// exported files are reproducible: they are committed in fixtures/lora-<name>/ with the
// reference outputs the script computed from them. Where /usr/bin/python3 has torch, the script
// also runs live on this test's own export. HF_FIXTURES_WRITE=1 rewrites the committed adapter
// (then rerun the script on it: see its header).
import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import * as tf from '@tensorflow/tfjs'
import { beforeAll, describe, expect, it } from 'vitest'
import { Lora } from '../tuning/lora'
import { buildHfModel, greedyGenerate, type HfModel } from './hfModel'
import { readPeftAdapter, writePeftAdapter, type LoraFactors } from './peftAdapter'
import { parseSafetensors } from './safetensors'

const DIR = path.join(__dirname, 'fixtures')
const ROOT = path.resolve(__dirname, '../../..')
const PYTHON = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3'
const HAS_TORCH = spawnSync(PYTHON, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0
// The live PyTorch check below runs wherever Debian's python3-torch is installed; CI installs
// it (.ci/run), so there a missing torch is a failure, not a silently skipped check.
if (process.env.CI && !HAS_TORCH) throw new Error(`CI needs the PyTorch reference: ${PYTHON} cannot import torch (.ci/run installs python3-torch)`)
const RANK = 2
const ALPHA = 8

interface Ref { ids: number[][]; shape: number[]; logits: number[]; prompt: number[]; greedy: number[]; merged: number }

function load(name: string): HfModel {
  const bytes = new Uint8Array(readFileSync(path.join(DIR, name, 'model.safetensors')))
  return buildHfModel(readFileSync(path.join(DIR, name, 'config.json'), 'utf8'), parseSafetensors(bytes).tensors)
}

/** LoRA on every projection with fixed, non-zero factors (B too, so the update shows). */
function fixedLora(model: HfModel): Lora {
  const lora = new Lora(model, { rank: RANK, alpha: ALPHA, layers: model.linearLayers })
  lora.params.forEach((p, k) => {
    const n = p.variable.size
    const v = new Float32Array(n).map((_, i) => 0.2 * Math.sin(0.7 * i + 1.3 * k + 0.1))
    p.variable.assign(tf.tensor(v, p.variable.shape))
  })
  return lora
}

async function factorsOf(model: HfModel, lora: Lora): Promise<LoraFactors[]> {
  const out: LoraFactors[] = []
  for (const layer of lora.layers) {
    const a = lora.params.find((p) => p.name === `${layer}.lora_A`)!.variable
    const b = lora.params.find((p) => p.name === `${layer}.lora_B`)!.variable
    const [nIn, nOut] = model.get(`${layer}.kernel`).shape as [number, number]
    out.push({ layer, nIn, nOut, a: (await a.data()) as Float32Array, b: (await b.data()) as Float32Array })
  }
  return out
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length)
  let m = 0
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!))
  return m
}

beforeAll(async () => {
  await tf.setBackend('cpu')
})

describe.each([
  ['gpt2', 'gpt2', 8],
  ['llama-gqa-tied', 'llama', 14],
] as const)('PEFT LoRA adapter on %s', (name, modelType, pairs) => {
  it('exports the files committed as the fixture, and PEFT’s merge of them (reference) gives the studio’s LoRA logits and greedy tokens', async () => {
    const model = load(name)
    const lora = fixedLora(model)
    const { configText, safetensors } = writePeftAdapter(modelType, await factorsOf(model, lora), { rank: RANK, alpha: ALPHA, dropout: 0.05, baseModel: `fixtures/${name}`, taskType: 'CAUSAL_LM' })
    const committed = path.join(DIR, `lora-${name}`)
    if (process.env.HF_FIXTURES_WRITE) {
      mkdirSync(committed, { recursive: true })
      writeFileSync(path.join(committed, 'adapter_config.json'), configText)
      writeFileSync(path.join(committed, 'adapter_model.safetensors'), safetensors)
    }
    expect(configText).toBe(readFileSync(path.join(committed, 'adapter_config.json'), 'utf8'))
    expect(Buffer.from(safetensors).equals(readFileSync(path.join(committed, 'adapter_model.safetensors')))).toBe(true)
    const ref = JSON.parse(readFileSync(path.join(committed, 'reference-lora.json'), 'utf8')) as Ref
    expect(ref.merged).toBe(pairs)

    const ids = tf.tensor2d(ref.ids, undefined, 'int32')
    const withLora = tf.tidy(() => model.logits(model.forward(ids, { hooks: lora.hooks })))
    const base = tf.tidy(() => model.logits(model.forward(ids)))
    const got = await withLora.data()
    expect(maxAbsDiff(got, ref.logits)).toBeLessThan(1e-4)
    // and the adapter matters: without it the logits are far from the reference's
    expect(maxAbsDiff(await base.data(), ref.logits)).toBeGreaterThan(0.1)
    expect(await greedyGenerate(model, ref.prompt, ref.greedy.length, { hooks: lora.hooks })).toEqual(ref.greedy)

    if (HAS_TORCH) {
      const tmp = mkdtempSync(path.join(tmpdir(), 'peft-'))
      writeFileSync(path.join(tmp, 'adapter_config.json'), configText)
      writeFileSync(path.join(tmp, 'adapter_model.safetensors'), safetensors)
      const run = spawnSync(PYTHON, [path.join(ROOT, 'scripts/hf-reference/apply_adapter.py'), path.join(DIR, name), tmp, path.join(tmp, 'out.json')], { encoding: 'utf8' })
      expect(run.stderr).toBe('')
      const live = JSON.parse(readFileSync(path.join(tmp, 'out.json'), 'utf8')) as Ref
      expect(maxAbsDiff(got, live.logits)).toBeLessThan(1e-4)
    }
    tf.dispose([ids, withLora, base])
    lora.dispose()
    model.dispose()
  })

  it('reads the adapter back into the same factors, and merged weights give the same logits as the hooks', async () => {
    const model = load(name)
    const committed = path.join(DIR, `lora-${name}`)
    const adapter = readPeftAdapter(modelType, readFileSync(path.join(committed, 'adapter_config.json'), 'utf8'), new Uint8Array(readFileSync(path.join(committed, 'adapter_model.safetensors'))))
    expect(adapter.rank).toBe(RANK)
    expect(adapter.alpha).toBe(ALPHA)
    expect(adapter.config.fan_in_fan_out).toBe(modelType === 'gpt2')
    const lora = fixedLora(model)
    const mine = await factorsOf(model, lora)
    expect(adapter.factors.map((f) => f.layer)).toEqual(mine.map((f) => f.layer))
    for (let i = 0; i < mine.length; i++) {
      expect(adapter.factors[i]!.a).toEqual(mine[i]!.a)
      expect(adapter.factors[i]!.b).toEqual(mine[i]!.b)
    }
    const ids = tf.tensor2d([[1, 2, 3, 4]], undefined, 'int32')
    const hooked = await tf.tidy(() => model.logits(model.forward(ids, { hooks: lora.hooks }))).data()
    lora.merge(model)
    const merged = await tf.tidy(() => model.logits(model.forward(ids))).data()
    expect(maxAbsDiff(merged, hooked)).toBeLessThan(1e-4)
    ids.dispose()
    lora.dispose()
    model.dispose()
  })
})

describe('PEFT adapter refusals', () => {
  it('names what is wrong: another peft type, rsLoRA, another architecture', () => {
    const bytes = new Uint8Array(readFileSync(path.join(DIR, 'lora-gpt2', 'adapter_model.safetensors')))
    const cfg = JSON.parse(readFileSync(path.join(DIR, 'lora-gpt2', 'adapter_config.json'), 'utf8'))
    expect(() => readPeftAdapter('gpt2', JSON.stringify({ ...cfg, peft_type: 'IA3' }), bytes)).toThrow('adapter_config.json: peft_type is "IA3"; the studio reads LORA adapters only.')
    expect(() => readPeftAdapter('gpt2', JSON.stringify({ ...cfg, use_rslora: true }), bytes)).toThrow(/uses rsLoRA scaling/)
    expect(() => readPeftAdapter('llama', JSON.stringify(cfg), bytes)).toThrow('adapter_model.safetensors: key "base_model.model.transformer.h.0.attn.c_attn.lora_A.weight" is not under "base_model.model.model.", so the adapter is not for a llama model.')
  })

  it('writes GPT-2 keys with PEFT’s names and shapes: lora_A [r, in], lora_B [out, r] under base_model.model.transformer.', () => {
    const { tensors } = parseSafetensors(new Uint8Array(readFileSync(path.join(DIR, 'lora-gpt2', 'adapter_model.safetensors'))))
    // gpt2 fixture: n_embd 32, c_attn 32 → 96, mlp c_fc 32 → 128
    expect(tensors.get('base_model.model.transformer.h.0.attn.c_attn.lora_A.weight')!.shape).toEqual([2, 32])
    expect(tensors.get('base_model.model.transformer.h.0.attn.c_attn.lora_B.weight')!.shape).toEqual([96, 2])
    expect(tensors.get('base_model.model.transformer.h.1.mlp.c_fc.lora_B.weight')!.shape).toEqual([128, 2])
    expect(tensors.size).toBe(16)
    const cfg = JSON.parse(readFileSync(path.join(DIR, 'lora-gpt2', 'adapter_config.json'), 'utf8'))
    expect(cfg).toMatchObject({ peft_type: 'LORA', r: 2, lora_alpha: 8, target_modules: ['c_attn', 'c_fc', 'c_proj'], fan_in_fan_out: true, task_type: 'CAUSAL_LM' })
  })
})
