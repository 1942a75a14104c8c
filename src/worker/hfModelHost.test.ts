import 'fake-indexeddb/auto'
// The worker's Hugging Face host in Node, against a fetch that answers as the Hub does: the probe
// reads config.json and HEAD sizes only (no weight downloaded), prices each method with the memory
// plan against the device (a GPT-2-124M-shaped config: full fine-tuning at batch 8 × 1024 tokens
// does not fit 2 GB, LoRA at 1 × 32 does), refuses an unsupported model_type before any weight,
// and PEFT's target_modules are widened exactly where a bare name would match more layers.
import * as tf from '@tensorflow/tfjs'
import { beforeAll, describe, expect, it } from 'vitest'
import { zipSync } from 'fflate'
import { writePeftAdapter } from '../engine/hf/peftAdapter'
import { tinyGpt2Files } from '../engine/hf/testGpt2'
import { DEFAULTS } from '../settings/schema'
import { parseHfConfig } from '../engine/hf/config'
import { memoryPlan } from '../engine/hf/memoryPlan'
import { parseDatasetText } from '../engine/data/dataset'
import { planSplit } from '../engine/data/datasetPreview'
import type { Dataset } from '../engine/data/types'
import { WEBGPU_DEFAULT_LIMITS, type BindingLimits } from '../engine/hf/bindingLimits'
import { bindingProblems, hfFamily, type HeldHf } from '../engine/session/families/hf'
import type { SessionData } from '../engine/session/family'
import { Session } from '../engine/session/session'
import type { PlaygroundAnswer } from '../engine/types/playground'
import { BatchSource } from '../engine/train/batchSource'
import { FeatureCache } from '../engine/train/featureCache'
import { gatherBatch, headLogits, range } from '../engine/train/forward'
import { indexedDbHubCache, type HubCache } from '../engine/hf/hubFetch'
import { HfModelHost, peftTargets, trainingBudget } from './hfModelHost'
import type { FromWorker } from './protocol'

const GPT2_124M = { model_type: 'gpt2', vocab_size: 50257, n_positions: 1024, n_embd: 768, n_layer: 12, n_head: 12, n_inner: null, activation_function: 'gelu_new', layer_norm_epsilon: 1e-5 }

function hub(files: Record<string, { body?: string; size: number }>) {
  const calls: string[] = []
  const fetchFn = async (url: string, init?: { method?: string }) => {
    const file = decodeURIComponent(url.slice(url.indexOf('/resolve/main/') + '/resolve/main/'.length))
    calls.push(`${init?.method ?? 'GET'} ${file}`)
    const f = files[file]
    if (!f) return new Response('Entry not found', { status: 404, headers: { 'x-error-code': 'EntryNotFound' } })
    if (init?.method === 'HEAD') return new Response(null, { status: 200, headers: { 'x-linked-size': String(f.size) } })
    return new Response(f.body ?? 'x'.repeat(f.size), { status: 200, headers: { 'content-length': String(f.size) } })
  }
  return { fetchFn, calls }
}

/** The loader and the session it hands models to (no dataset unless given). */
function host(fetchFn: (url: string, init?: { method?: string }) => Promise<Response>, data: SessionData = { dataset: null, facts: null, images: null, decoder: null, split: () => { throw new Error('no data') } }, bindingLimits?: BindingLimits, cache: HubCache | null = null) {
  const events: FromWorker[] = []
  const session = new Session(data)
  const h = new HfModelHost((e) => events.push(e), {
    fetchFn,
    cache,
    hold: (held) => session.hold(held),
    loaded: () => (session.loaded?.family === hfFamily ? (session.loaded as HeldHf) : null),
    adopt: (held, tuning) => session.adopt(held, tuning),
    ensureBackend: async () => {},
    ...(bindingLimits ? { bindingLimits: () => bindingLimits } : {}),
  })
  return { h, events, session }
}

describe('HfModelHost.probe', () => {
  it('sizes every file by HEAD, downloads no weights, and prices each method against the device', async () => {
    const config = JSON.stringify(GPT2_124M)
    const { fetchFn, calls } = hub({ 'config.json': { body: config, size: config.length }, 'model.safetensors': { size: 548_105_171 }, 'tokenizer.json': { size: 1_356_917 }, 'tokenizer_config.json': { size: 26 }, 'generation_config.json': { size: 124 } })
    const { h } = host(fetchFn)
    const full = await h.probe({ repo: 'openai-community/gpt2', revision: 'main' }, 8, 1024)
    expect(calls.filter((c) => c.startsWith('GET'))).toEqual(['GET config.json', `GET model.safetensors.index.json`])
    expect(full.files.map((f) => [f.name, f.bytes])).toEqual([
      ['config.json', config.length],
      ['model.safetensors', 548_105_171],
      ['tokenizer.json', 1_356_917],
      ['tokenizer_config.json', 26],
      ['generation_config.json', 124],
    ])
    expect(full.totalBytes).toBe(config.length + 548_105_171 + 1_356_917 + 26 + 124)
    expect(full.params).toBe(124_439_808) // GPT-2 small, as every model card says
    expect(full.budgetBytes).toBe(2 * 2 ** 30) // no navigator.deviceMemory in Node: 4 GB assumed, half of it
    const byMethod = Object.fromEntries(full.plans.map((p) => [p.method, p]))
    expect(byMethod.full!.fits).toBe(false) // weights + grads + two Adam moments alone are 2 GB
    expect(byMethod.full!.totalBytes).toBeGreaterThan(4 * 124_439_808 * 4)
    expect(byMethod.lora!.totalBytes).toBeLessThan(byMethod.full!.totalBytes)
    const small = await h.probe({ repo: 'openai-community/gpt2', revision: 'main' }, 1, 32)
    expect(small.plans.find((p) => p.method === 'lora')!.fits).toBe(true)
    expect(small.plans.find((p) => p.method === 'head')!.fits).toBe(true)
  })

  it('refuses an unsupported model_type with the supported list before any weight is asked for', async () => {
    const config = JSON.stringify({ model_type: 't5', d_model: 512 })
    const { fetchFn, calls } = hub({ 'config.json': { body: config, size: config.length }, 'model.safetensors': { size: 1000 } })
    const { h } = host(fetchFn)
    await expect(h.probe({ repo: 'google/t5-small', revision: 'main' }, 8, 64)).rejects.toThrow(/names model_type "t5", which the studio cannot run\. Supported: gpt2, llama, bert, distilbert/)
    expect(calls).toEqual(['GET config.json'])
  })

  it('names a weights file the studio does not read when there is no safetensors', async () => {
    const config = JSON.stringify({ ...GPT2_124M, n_layer: 1 })
    const { fetchFn } = hub({ 'config.json': { body: config, size: config.length }, 'pytorch_model.bin': { size: 1000 } })
    const { h } = host(fetchFn)
    await expect(h.probe({ repo: 'someone/old-gpt2', revision: 'main' }, 8, 64)).rejects.toThrow(/someone\/old-gpt2 has its weights only as pytorch_model\.bin, a format the studio does not read/)
  })
})

describe('HfModelHost without an answer', () => {
  it('says the Hub could not be reached (offline, or a host the security policy does not list), not "Failed to fetch"', async () => {
    const { h } = host(async () => {
      throw new TypeError('Failed to fetch')
    })
    const err = await h.probe({ repo: 'openai-community/gpt2', revision: 'main', baseUrl: 'https://mirror.example' }, 8, 64).then(() => null, (e: unknown) => e as Error)
    expect(err?.message).toMatch(/^Could not reach https:\/\/mirror\.example for config\.json\. Check the internet connection; a Hub address other than https:\/\/huggingface\.co works only if the site's security policy lists its host/)
    expect(err?.message).not.toMatch(/Failed to fetch|csp\.config/)
  })
})

describe('a model stored in this browser loads without the network', () => {
  const REPO = 'studio-tests/tiny-gpt2'
  const ref = { repo: REPO, revision: 'main' }
  /** The tiny GPT-2's four files at the Hub's resolve URLs (it has no generation_config.json,
   *  special_tokens_map.json or shard index: those answer 404). */
  async function served(refuse: string[] = []) {
    const bytes = new Map<string, Uint8Array>()
    for (const f of tinyGpt2Files()) bytes.set(f.name, new Uint8Array(await f.arrayBuffer()))
    const calls: string[] = []
    const fetchFn = async (url: string) => {
      const file = url.slice(url.indexOf('/resolve/main/') + '/resolve/main/'.length)
      calls.push(file)
      if (refuse.includes(file)) return new Response('Service unavailable', { status: 503 })
      const b = bytes.get(file)
      return b ? new Response(b.slice(), { status: 200, headers: { 'content-length': String(b.length) } }) : new Response('Entry not found', { status: 404, headers: { 'x-error-code': 'EntryNotFound' } })
    }
    return { fetchFn, calls }
  }
  const offline = (calls: string[]) => async (url: string) => {
    calls.push(url)
    throw new TypeError('Failed to fetch')
  }
  const errorOf = (events: FromWorker[]) => events.find((e) => e.type === 'error')

  it('a second load, in a new worker, asks the Hub for nothing: not the stored files, not the optional ones the repo lacks', async () => {
    const cache = indexedDbHubCache('host-offline-whole')!
    const online = await served()
    await host(online.fetchFn, undefined, undefined, cache).h.handle({ type: 'hfLoad', loadId: 1, source: { kind: 'hub', ref } })
    // config, index (404), weights, the four tokenizer files (two 404)
    expect(online.calls).toEqual(['config.json', 'model.safetensors.index.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json', 'generation_config.json', 'special_tokens_map.json'])
    const calls: string[] = []
    const again = host(offline(calls), undefined, undefined, cache)
    await again.h.handle({ type: 'hfLoad', loadId: 2, source: { kind: 'hub', ref } })
    expect(calls).toEqual([])
    expect(again.events.filter((e) => e.type === 'hfLoaded')).toEqual([{ type: 'hfLoaded', loadId: 2, loaded: 'model' }])
    expect(again.session.loaded?.summary.title).toBe(REPO)
    const stored = again.events.filter((e) => e.type === 'hfStored').at(-1)
    const repos = stored?.type === 'hfStored' ? stored.repos : []
    expect(repos.map((r) => [r.repo, r.revision, [...r.files].sort(), r.whole])).toEqual([[REPO, 'main', ['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json'], true]])
  })

  it('a store a cut-off download left, offline: the missing file is named, with what to do, not a download error', async () => {
    const cache = indexedDbHubCache('host-offline-part')!
    const online = await served(['model.safetensors'])
    await expect(host(online.fetchFn, undefined, undefined, cache).h.handle({ type: 'hfLoad', loadId: 1, source: { kind: 'hub', ref } })).rejects.toThrow(/model\.safetensors/)
    const calls: string[] = []
    const again = host(offline(calls), undefined, undefined, cache)
    const err = await again.h.handle({ type: 'hfLoad', loadId: 2, source: { kind: 'hub', ref } }).then(() => null, (e: unknown) => e as Error)
    expect(err?.message).toBe(
      'model.safetensors of studio-tests/tiny-gpt2 is not among its files stored in this browser (1 is), and https://huggingface.co did not answer to download it. Reconnect and load studio-tests/tiny-gpt2 again: only what is missing is downloaded. Or delete studio-tests/tiny-gpt2 from this browser (step 7, Hugging Face models stored in this browser) and load it again once online, to download it whole.',
    )
    expect(calls.every((u) => u.endsWith('/model.safetensors'))).toBe(true) // config.json and the index's 404 came from the store
    // the stored file stays for when the network is back, and the list says the store is not whole
    await again.h.listStored()
    expect(again.events.filter((e) => e.type === 'hfStored').at(-1)).toEqual({ type: 'hfStored', repos: [{ repo: REPO, revision: 'main', files: ['config.json'], bytes: expect.any(Number), whole: false }] })
    expect(errorOf(again.events)).toBeUndefined()
  }, 20_000)
})

describe('trainingBudget', () => {
  it('is half the device memory, at most 3 GiB (the WebAssembly heap also holds the backend’s copies)', () => {
    expect(trainingBudget(4)).toBe(2 * 2 ** 30)
    expect(trainingBudget(2)).toBe(2 ** 30)
    expect(trainingBudget(16)).toBe(3 * 2 ** 30)
  })
  it('refuses GPT-2-124M full fine-tuning even on a large device (its plan passes 3 GiB), and lets LoRA through', () => {
    const cfg = parseHfConfig(JSON.stringify(GPT2_124M))
    expect(memoryPlan(cfg, { method: 'full', batch: 1, seq: 32, task: 'lm' }).totalBytes).toBeGreaterThan(trainingBudget(16))
    expect(memoryPlan(cfg, { method: 'lora', batch: 1, seq: 32, task: 'lm', loraRank: 8 }).totalBytes).toBeLessThan(trainingBudget(16))
  })
})

describe('peftTargets', () => {
  const gpt2 = ['h.0.attn.c_attn', 'h.0.attn.c_proj', 'h.0.mlp.c_fc', 'h.0.mlp.c_proj', 'h.1.attn.c_attn', 'h.1.attn.c_proj', 'h.1.mlp.c_fc', 'h.1.mlp.c_proj']
  it('keeps bare names where they match only adapted layers', () => {
    expect(peftTargets(gpt2, gpt2)).toEqual(['c_attn', 'c_fc', 'c_proj'])
    expect(peftTargets(['h.0.attn.c_attn', 'h.1.attn.c_attn'], gpt2)).toEqual(['c_attn'])
  })
  it('widens c_proj to attn.c_proj when the MLP’s c_proj is left out (PEFT matches by suffix)', () => {
    expect(peftTargets(['h.0.attn.c_attn', 'h.0.attn.c_proj', 'h.1.attn.c_attn', 'h.1.attn.c_proj'], gpt2)).toEqual(['attn.c_proj', 'c_attn'])
    expect(peftTargets(['h.0.mlp.c_proj', 'h.1.mlp.c_proj'], gpt2)).toEqual(['mlp.c_proj'])
  })
  it('keeps the block number when only some blocks are adapted (".1.attn.c_attn" matches block 1 only, not 11)', () => {
    expect(peftTargets(['h.1.attn.c_attn'], gpt2)).toEqual(['1.attn.c_attn'])
    expect(peftTargets(['h.1.attn.c_attn'], [...gpt2, 'h.11.attn.c_attn'])).toEqual(['1.attn.c_attn'])
  })
})

/** The files zipped into one .zip called `name`, as a merged export or a saved adapter comes. */
async function zipOf(name: string, files: File[]): Promise<File> {
  const entries: Record<string, Uint8Array> = {}
  for (const f of files) entries[f.name] = new Uint8Array(await f.arrayBuffer())
  return new File([zipSync(entries)], name)
}

describe('HfModelHost says whether chosen files were a model or a PEFT adapter', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu')
  })

  it('from what the .zip holds, not its name: a merged model called "my-peft-adapter.zip", an adapter called "run3.zip"', async () => {
    const { h, events, session } = host(async () => new Response(null, { status: 404 }))
    await h.handle({ type: 'hfLoad', loadId: 7, source: { kind: 'files', files: [await zipOf('my-peft-adapter.zip', tinyGpt2Files())] } })
    expect(events.find((e) => e.type === 'error')).toBeUndefined()
    expect(events.filter((e) => e.type === 'hfLoaded')).toEqual([{ type: 'hfLoaded', loadId: 7, loaded: 'model' }])
    const model = session.loaded
    expect(model?.family).toBe(hfFamily)

    // LoRA r = 2 on the one block's attn.c_attn (4 in, 12 out), B non-zero so the update shows.
    const a = Float32Array.from({ length: 4 * 2 }, (_, i) => 0.1 * (i + 1))
    const b = Float32Array.from({ length: 2 * 12 }, (_, i) => 0.01 * (i + 1))
    const peft = writePeftAdapter('gpt2', [{ layer: 'h.0.attn.c_attn', nIn: 4, nOut: 12, a, b }], { rank: 2, alpha: 4, dropout: 0, baseModel: 'tiny-gpt2', taskType: 'CAUSAL_LM' })
    const adapter = await zipOf('run3.zip', [new File([peft.configText], 'adapter_config.json'), new File([peft.safetensors], 'adapter_model.safetensors')])
    events.length = 0
    await h.handle({ type: 'hfLoad', loadId: 8, source: { kind: 'files', files: [adapter] } })
    expect(events.find((e) => e.type === 'error')).toBeUndefined()
    expect(events.filter((e) => e.type === 'hfLoaded')).toEqual([{ type: 'hfLoaded', loadId: 8, loaded: 'adapter' }])
    expect(events.find((e) => e.type === 'imported')).toMatchObject({ choice: 'adapter', title: 'my-peft-adapter.zip + PEFT adapter (r = 2, 1 layers)' })
    expect(session.loaded).toBe(model) // the adapter tuned the loaded model; it did not replace it
    session.drop()
  })

  it('a PEFT adapter says when it has set the weights back to the base (weightsReset), with the tuning held before already gone, before its own is set up', async () => {
    const { h, events, session } = host(async () => new Response(null, { status: 404 }))
    await h.handle({ type: 'hfLoad', loadId: 1, source: { kind: 'files', files: tinyGpt2Files() } })
    const model = session.loaded as HeldHf
    const adapterFiles = (scale: number) => {
      const a = Float32Array.from({ length: 4 * 2 }, (_, i) => scale * (i + 1))
      const b = Float32Array.from({ length: 2 * 12 }, (_, i) => 0.01 * (i + 1))
      const peft = writePeftAdapter('gpt2', [{ layer: 'h.0.attn.c_attn', nIn: 4, nOut: 12, a, b }], { rank: 2, alpha: 4, dropout: 0, baseModel: 'tiny-gpt2', taskType: 'CAUSAL_LM' })
      return [new File([peft.configText], 'adapter_config.json'), new File([peft.safetensors], 'adapter_model.safetensors')]
    }
    await h.handle({ type: 'hfLoad', loadId: 2, source: { kind: 'files', files: adapterFiles(0.1) } })
    const first = model.tuning!
    expect(first.lora).not.toBeNull()
    // what the worker holds at the moment each event is posted
    const seen: { type: string; tuning: unknown; firstDisposed: boolean }[] = []
    const heard = (e: FromWorker) => seen.push({ type: e.type, tuning: model.tuning, firstDisposed: first.lora!.params.every((p) => p.variable.isDisposed) })
    events.length = 0
    const keep = events.push.bind(events)
    events.push = (...es: FromWorker[]) => (es.forEach(heard), keep(...es)) // the host posts through events.push
    await h.handle({ type: 'hfLoad', loadId: 3, source: { kind: 'files', files: adapterFiles(0.2) } })
    expect(events.find((e) => e.type === 'error')).toBeUndefined()
    const reset = seen.findIndex((e) => e.type === 'weightsReset')
    expect(reset).toBeGreaterThanOrEqual(0)
    expect(seen[reset]).toEqual({ type: 'weightsReset', tuning: null, firstDisposed: true })
    expect(events[reset]).toEqual({ type: 'weightsReset' }) // not a run's
    expect(reset).toBeLessThan(seen.findIndex((e) => e.type === 'imported'))
    expect(model.tuning).not.toBe(first)
    session.drop()
  })

  it('says nothing loaded when the files are neither (the page keeps the model it had)', async () => {
    const { h, events } = host(async () => new Response(null, { status: 404 }))
    await expect(h.handle({ type: 'hfLoad', loadId: 9, source: { kind: 'files', files: [await zipOf('model.zip', [new File(['{}'], 'notes.json')])] } })).rejects.toThrow(/config\.json is missing from the chosen files \(model\.zip\)/)
    expect(events.filter((e) => e.type === 'hfLoaded')).toEqual([])
  })
})

describe('the session plans a Hugging Face model against its memory plan', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu')
  })

  it('refuses settings whose memory plan does not fit the device, naming the settings that would', async () => {
    const files = tinyGpt2Files()
    const { h, events, session } = host(async () => new Response(null, { status: 404 }))
    await h.handle({ type: 'hfLoad', loadId: 1, source: { kind: 'files', files } })
    expect(events.find((e) => e.type === 'error')).toBeUndefined()
    expect(session.loaded?.family).toBe(hfFamily)
    // 32 × 64 tokens: about 6 GB of logits and their gradients, past the 2 GB Node is given (no navigator.deviceMemory)
    const refused = session.plan({ ...DEFAULTS, method: 'lora', loraRank: 2, batchSize: 32, seqLen: 64 })!.plan
    expect(refused.problems).toHaveLength(1)
    expect(refused.problems[0]!.field).toBe('batchSize')
    expect(refused.problems[0]!.message).toMatch(/^This run needs about [\d.]+ GB \(weights, gradients, optimizer state and activations\) but this device allows about 2\.15 GB\. These would fit: .*batch size \d+ \([\d.]+ [MG]B\)/)
    // 4 × 32 tokens fits, with no problem
    expect(session.plan({ ...DEFAULTS, method: 'lora', loraRank: 2, batchSize: 4, seqLen: 32 })!.plan.problems).toEqual([])
    session.drop()
  })
})

describe('the session trains a Hugging Face model', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu')
  })

  it('a decoder on a classification set: the zero-shot baseline is scored first, then the run trains to the end', async () => {
    const rows = ['text,label', ...Array.from({ length: 40 }, (_, i) => (i % 2 ? `"what a great day ${i}",good` : `"what an awful day ${i}",bad`))]
    const parsed = await parseDatasetText('days.csv', rows.join('\n') + '\n')
    if (!parsed.ok) throw new Error(parsed.error.message)
    const dataset: Dataset = parsed.dataset
    const split = (st: { valSplit: number; seed: number }) => {
      const p = planSplit(dataset, null, { validationFraction: st.valSplit, seed: st.seed })
      if (!p.ok) throw new Error(p.error.message)
      return p
    }
    const facts = { id: 'days', name: 'days.csv', task: 'text-classification' as const, rows: 40, source: 'test', classes: [{ name: 'bad', count: 20 }, { name: 'good', count: 20 }] }
    const { h, events, session } = host(async () => new Response(null, { status: 404 }), { dataset, facts, images: null, decoder: null, split })
    await h.handle({ type: 'hfLoad', loadId: 1, source: { kind: 'files', files: tinyGpt2Files() } })
    const progress: string[] = []
    const out = await session.train('r1', { ...DEFAULTS, method: 'head', epochs: 1, batchSize: 8, seqLen: 16, valSplit: 0.25 }, {
      events: { onProgress: (task, _d, _t, label) => void progress.push(`${task}: ${label}`) },
      started: () => {},
      record: async (_s, _c, cb) => ({ callbacks: () => cb, finish: async () => {}, fail: async () => {} }),
    })
    expect(events.find((e) => e.type === 'error')).toBeUndefined()
    expect(progress.some((p) => /^baseline: .*zero-shot baseline/.test(p))).toBe(true)
    if (!('result' in out)) throw new Error(`refused: ${JSON.stringify(out.refused)}`)
    expect(out.result.reason).toBe('finished')
    expect(session.run).toBeNull()

    // The playground classifies typed text with the trained head, before and after: each held-out
    // text typed alone gets the class the loop's batched, padded evaluation gives it, so the
    // playground's accuracy over the held-out texts is the evaluation's.
    const val = session.current()!.validationSplit!
    if (val.kind !== 'classification') throw new Error('a classification split')
    const metrics = await session.evaluate()
    const valRows = split({ valSplit: 0.25, seed: DEFAULTS.seed }).validationIdx.map((i: number) => dataset.rows[i]!)
    expect(valRows.length).toBe(val.n)
    // the loop's own path over the whole padded held-out batch (textBatches, forward.ts)
    const held = session.current()!
    const source = BatchSource.host(val)
    const cache = new FeatureCache(0, false, { train: 0, val: val.n })
    const batched = tf.tidy(() => tf.softmax(headLogits(held.body, held.tuning!, gatherBatch(source, cache, 'val', range(0, val.n)), cache, held.tuning!.settings, false)))
    const loopProbs = (await batched.data()) as Float32Array
    batched.dispose()
    source.dispose()
    let right = 0
    for (const [k, row] of valRows.entries()) {
      const got: PlaygroundAnswer[] = []
      await session.predict(`p${k}`, { kind: 'text', text: row[0]! }, (a) => void got.push(a))
      const after = got.find((a): a is Extract<PlaygroundAnswer, { type: 'prediction' }> => a.type === 'prediction' && a.which === 'after')!
      const before = got.find((a): a is Extract<PlaygroundAnswer, { type: 'prediction' }> => a.type === 'prediction' && a.which === 'before')!
      for (const side of [before, after]) {
        expect(side.classes.map((c) => c.name)).toEqual(['bad', 'good'])
        expect(side.classes.reduce((n, c) => n + c.prob, 0)).toBeCloseTo(1, 5)
      }
      // each typed text gets the probabilities its row got in the padded batch
      expect(Math.abs(after.classes[0]!.prob - loopProbs[2 * k]!)).toBeLessThan(1e-5)
      expect(Math.abs(after.classes[1]!.prob - loopProbs[2 * k + 1]!)).toBeLessThan(1e-5)
      const best = after.classes[0]!.prob > after.classes[1]!.prob ? 'bad' : 'good'
      if (best === row[1]!.trim()) right++
    }
    expect(right / valRows.length).toBeCloseTo(metrics.accuracy!, 10)
    session.drop()
  })
})

describe('the WebGPU storage-buffer binding limit in the Hugging Face run plan', () => {
  const NO_DATA: SessionData = { dataset: null, facts: null, images: null, decoder: null, split: () => { throw new Error('no data') } }
  beforeAll(async () => {
    await tf.setBackend('cpu')
  })

  it('GPT-2 124M on a device with the default 128 MiB binding: full fine-tuning is refused on the method, a batch of too many tokens on the batch size', () => {
    const cfg = parseHfConfig(JSON.stringify(GPT2_124M))
    // wte: 50,257 × 768 × 4 bytes = 154,389,504 > 134,217,728 (128 MiB): split, so frozen; full fine-tuning cannot train it
    expect(bindingProblems(cfg, WEBGPU_DEFAULT_LIMITS, { ...DEFAULTS, method: 'full', batchSize: 1, seqLen: 32 }, 'lm', 1024)).toEqual([
      { field: 'method', message: "The token embedding (154 MB) is over this GPU's 134 MB storage-buffer limit, so full fine-tuning cannot train it here. Use LoRA, or train the last blocks only (freeze), which keep the embedding frozen." },
    ])
    // logits of 8 × 128 = 1,024 tokens: 1,024 × 50,257 × 4 = 205,852,672 bytes > 134,217,728;
    // at most floor(134,217,728 / (50,257 × 4 = 201,028)) = 667 tokens (667 × 201,028 = 134,085,676)
    expect(bindingProblems(cfg, WEBGPU_DEFAULT_LIMITS, { ...DEFAULTS, method: 'lora', batchSize: 8, seqLen: 128 }, 'lm', 1024)).toEqual([
      { field: 'batchSize', message: "The logits of 1024 tokens a batch (206 MB) are over this GPU's 134 MB storage-buffer limit. Use at most 667 tokens a batch (batch size × sequence length)." },
    ])
    // 4 × 128 = 512 tokens: 102,924,288 bytes of logits fit; LoRA keeps the split embedding frozen
    expect(bindingProblems(cfg, WEBGPU_DEFAULT_LIMITS, { ...DEFAULTS, method: 'lora', batchSize: 4, seqLen: 128 }, 'lm', 1024)).toEqual([])
    // the sequence is cut to the model's context: 8 × min(2048, 64) = 512 tokens fit
    expect(bindingProblems(cfg, WEBGPU_DEFAULT_LIMITS, { ...DEFAULTS, method: 'freeze', batchSize: 8, seqLen: 2048 }, 'lm', 64)).toEqual([])
    // classification reads a head, not 50,257 logits per token
    expect(bindingProblems(cfg, WEBGPU_DEFAULT_LIMITS, { ...DEFAULTS, method: 'lora', batchSize: 8, seqLen: 128 }, 'classify', 1024)).toEqual([])
    // a desktop GPU's 2 GiB binding holds the table: full fine-tuning goes ahead
    expect(bindingProblems(cfg, { maxStorageBufferBindingSize: 2 ** 31, maxBufferSize: 2 ** 31 }, { ...DEFAULTS, method: 'full', batchSize: 1, seqLen: 32 }, 'lm', 1024)).toEqual([])
    // WebAssembly and CPU: no limits, no refusal
    expect(bindingProblems(cfg, null, { ...DEFAULTS, method: 'full', batchSize: 8, seqLen: 1024 }, 'lm', 1024)).toEqual([])
  })

  it('a model loaded for a device with a small binding has its embedding split, and the session plan refuses what the split cannot do', async () => {
    const load = async (limits: BindingLimits) => {
      const { h, events, session } = host(async () => new Response(null, { status: 404 }), NO_DATA, limits)
      await h.handle({ type: 'hfLoad', loadId: 1, source: { kind: 'files', files: tinyGpt2Files() } } as Parameters<HfModelHost['handle']>[0])
      expect(events.find((e) => e.type === 'error')).toBeUndefined()
      const held = session.loaded as HeldHf
      expect(held.bindingLimits).toEqual(limits)
      return { session, chunks: (held.body.model as unknown as { chunks: Map<string, tf.Tensor2D[]> }).chunks }
    }
    // The tiny GPT-2's wte: 50,257 × 4 × 4 bytes = 804,112 > 800,000, the binding given here:
    // chunks of floor(800,000 / 16) = 50,000 rows, so [50,000, 4] and [257, 4].
    const small = await load({ maxStorageBufferBindingSize: 800_000, maxBufferSize: 268_435_456 })
    expect([...small.chunks.keys()]).toEqual(['wte.weight'])
    expect(small.chunks.get('wte.weight')!.map((c) => c.shape)).toEqual([[50_000, 4], [257, 4]])
    // the page is told in words (the model's description, which the worker posts with the model)
    const said = " On this GPU one storage buffer holds at most 1 MB (the adapter's limit), so the token embedding wte.weight (1 MB) is kept in 2 parts, each read on its own."
    expect((small.session.loaded as HeldHf).summary.description!.endsWith(said)).toBe(true)
    const full = small.session.plan({ ...DEFAULTS, method: 'full', batchSize: 1, seqLen: 16 })!.plan.problems
    expect(full).toEqual([{ field: 'method', message: "The token embedding (1 MB) is over this GPU's 1 MB storage-buffer limit, so full fine-tuning cannot train it here. Use LoRA, or train the last blocks only (freeze), which keep the embedding frozen." }])
    // LoRA keeps the embedding frozen; but a token's logits are 50,257 × 4 = 201,028 bytes, so at
    // most floor(800,000 / 201,028) = 3 tokens a batch, and 1 × 16 = 16 tokens are 3,216,448 bytes
    const lora = small.session.plan({ ...DEFAULTS, method: 'lora', loraRank: 2, batchSize: 1, seqLen: 16 })!.plan.problems
    expect(lora).toEqual([{ field: 'batchSize', message: "The logits of 16 tokens a batch (3 MB) are over this GPU's 1 MB storage-buffer limit. Use at most 3 tokens a batch (batch size × sequence length)." }])
    small.session.drop()

    // A 4,000,000-byte binding holds wte (nothing split, full fine-tuning planned) and
    // floor(4,000,000 / 201,028) = 19 tokens of logits (19 × 201,028 = 3,819,532; 20 × = 4,020,560)
    const mid = await load({ maxStorageBufferBindingSize: 4_000_000, maxBufferSize: 268_435_456 })
    expect(mid.chunks.size).toBe(0)
    expect((mid.session.loaded as HeldHf).summary.description).not.toMatch(/storage buffer|kept in/)
    expect(mid.session.plan({ ...DEFAULTS, method: 'full', batchSize: 1, seqLen: 16 })!.plan.problems).toEqual([])
    expect(mid.session.plan({ ...DEFAULTS, method: 'full', batchSize: 2, seqLen: 16 })!.plan.problems).toEqual([
      { field: 'batchSize', message: "The logits of 32 tokens a batch (6 MB) are over this GPU's 4 MB storage-buffer limit. Use at most 19 tokens a batch (batch size × sequence length)." },
    ])
    mid.session.drop()
  })

  it('when the backend changes, the held model is split for the new device or joined back, and its plan follows', async () => {
    let device: BindingLimits | null = null // loaded off WebGPU
    const session = new Session(NO_DATA)
    const h = new HfModelHost(() => {}, {
      fetchFn: async () => new Response(null, { status: 404 }),
      cache: null,
      hold: (held) => session.hold(held),
      loaded: () => (session.loaded?.family === hfFamily ? (session.loaded as HeldHf) : null),
      adopt: (held, tuning) => session.adopt(held, tuning),
      ensureBackend: async () => {},
      bindingLimits: () => device,
    })
    await h.handle({ type: 'hfLoad', loadId: 1, source: { kind: 'files', files: tinyGpt2Files() } } as Parameters<HfModelHost['handle']>[0])
    const held = session.loaded as HeldHf
    const chunks = (held.body.model as unknown as { chunks: Map<string, tf.Tensor2D[]> }).chunks
    const fullPlan = () => session.plan({ ...DEFAULTS, method: 'full', batchSize: 1, seqLen: 16 })!.plan.problems
    expect(chunks.size).toBe(0)
    expect(fullPlan()).toEqual([])
    // to a WebGPU device with an 800,000-byte binding: wte (804,112 bytes) is split in [50,000, 4] + [257, 4]
    device = { maxStorageBufferBindingSize: 800_000, maxBufferSize: 268_435_456 }
    expect(await h.rebind()).toBe(true)
    expect(chunks.get('wte.weight')!.map((c) => c.shape)).toEqual([[50_000, 4], [257, 4]])
    expect(fullPlan().map((p) => p.field)).toEqual(['method'])
    // 201,536 parameters: wte 50,257 × 4, wpe 64 × 4, one block of width 4 (2 norms 16, c_attn 60, c_proj 20, c_fc 80, mlp c_proj 68), ln_f 8
    const plain = 'A gpt2 model (201.5 k parameters, 807 kB of weights) from files on this computer. A decoder: it fine-tunes on plain text (language modelling) and for classification.'
    // the plan (which the worker posts after a backend change) carries the description that says it
    expect(session.plan({ ...DEFAULTS, method: 'lora', batchSize: 1, seqLen: 2 })!.summary.description).toBe(`${plain} On this GPU one storage buffer holds at most 1 MB (the adapter's limit), so the token embedding wte.weight (1 MB) is kept in 2 parts, each read on its own.`)
    // and back off WebGPU: joined, and full fine-tuning planned again
    const before = tf.memory().numTensors
    device = null
    await h.rebind()
    expect(chunks.size).toBe(0)
    expect(tf.memory().numTensors).toBe(before - 2) // the two chunks are freed
    expect(fullPlan()).toEqual([])
    expect(held.summary.description).toBe(plain)
    session.drop()
  })

  it('off WebGPU (here the CPU backend) nothing is split and full fine-tuning is planned as before', async () => {
    const { h, session } = host(async () => new Response(null, { status: 404 }))
    await h.handle({ type: 'hfLoad', loadId: 1, source: { kind: 'files', files: tinyGpt2Files() } } as Parameters<HfModelHost['handle']>[0])
    const held = session.loaded as HeldHf
    expect(held.bindingLimits).toBeNull()
    expect((held.body.model as unknown as { chunks: Map<string, unknown> }).chunks.size).toBe(0)
    // 8 × 32 = 256 tokens of logits (51 MB) and a trained embedding: no binding to keep to
    expect(session.plan({ ...DEFAULTS, method: 'full', batchSize: 8, seqLen: 32 })!.plan.problems).toEqual([])
    session.drop()
  })
})
