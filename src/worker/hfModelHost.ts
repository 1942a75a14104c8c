/**
 * The worker's Hugging Face side: looks at a Hub repo before downloading it (sizes, a memory
 * estimate per method), loads a GPT-2 / Llama / BERT checkpoint from the Hub (hubFetch: progress,
 * resume, kept in IndexedDB) or from chosen files, trains it with the studio's loop through the
 * HfBody adapter (engine/bodies/hfBody.ts), and exports what the Hugging Face tools load: a PEFT
 * LoRA adapter, or the merged model as model.safetensors + config + tokenizer files. A PEFT
 * adapter or a merged export chosen as files loads back.
 *
 * Everything is read and checked before the current model is replaced, so a bad repo or file
 * leaves whatever was loaded in place. The handler routes HF commands here and asks `active`.
 */
import * as tf from '@tensorflow/tfjs'
import { strToU8, unzipSync, zipSync } from 'fflate'
import { formatBytes, formatBytesOf } from '../format/format'
import { HF_TARGET_MODULES, HfBody, hfTokenizerLike } from '../engine/bodies/hfBody'
import { hfLoraLayers } from '../engine/bodies/hf'
import { DEFAULTS } from '../settings/schema'
import { toTask } from './dataHost'
import { SUPPORTED_MODEL_TYPES, expectedWeights, parseHfConfig, type HfConfig } from '../engine/hf/config'
import { loadHfBundle, mapSource, writeHfCheckpoint, type GenerationConfig } from '../engine/hf/hfLoad'
import { generateText } from '../engine/hf/generate'
import type { HfTokenizer } from '../engine/hf/hfTokenizer'
import { checkRepoId, hubFile, hubFileUrl, HUB, probeSize, type FetchFn, type HubCache } from '../engine/hf/hubFetch'
import { memoryPlan, settingsThatFit, type PlanInput, type PlanMethod } from '../engine/hf/memoryPlan'
import { readPeftAdapter, writePeftAdapter, type LoraFactors } from '../engine/hf/peftAdapter'
import { parseShardIndex, SHARD_INDEX } from '../engine/hf/safetensors'
import type { Dataset } from '../engine/data/dataset'
import { datasetTexts, encodeClassification, encodeLanguageModel, type TokenizerLike } from '../engine/data/textBatches'
import { ModelLoadError } from '../engine/models/modelLoadError'
import { modelLimits } from '../engine/models/limits'
import { encodeTextRegression } from '../engine/train/encodeNumeric'
import { headNeedOf } from '../engine/train/encoded'
import { FeatureCache } from '../engine/train/featureCache'
import { evaluate, fineTune, Tuning, type Encoded, type FineTuneCallbacks } from '../engine/train/fineTune'
import type { ResumeInput } from '../engine/train/loopState'
import type { DoneReason, RunSummary } from '../engine/types/run'
import { RunControl } from '../engine/train/runControl'
import { zeroShotClassify } from '../engine/train/zeroShot'
import type { TinyGpt } from '../engine/models/tinyGpt'
import { tasksOf } from '../engine/train/multitaskData'
import { trainableBlocks } from '../engine/tuning/freeze'
import { disposeWeights, resetWeights, snapshotWeights, type WeightMap } from '../engine/tuning/interpolate'
import { validateSettings } from '../settings/validate'
import type { Settings } from '../settings/types'
import type { SplitRows } from '../engine/train/encodeNumeric'
import { refuseSettings, runEvents } from './runEvents'
import type { TrainedModel } from './trainedModel'
import type { HfCommand, HfMethodPlan, HfProbe, HfRepoRef, HfStoredRepo } from './hfProtocol'
import type { DatasetSummary, FromWorker, LayerSummary, Metrics, ModelSummary, ToWorker } from './protocol'

type Post = (e: FromWorker) => void

/** The files the studio reads from a model repo (the rest of a repo is never fetched). */
export const HF_FILES = ['config.json', 'model.safetensors', SHARD_INDEX, 'tokenizer.json', 'tokenizer_config.json', 'generation_config.json'] as const
const TOKENIZER_FILES = ['tokenizer.json', 'tokenizer_config.json', 'generation_config.json', 'special_tokens_map.json'] as const

/** What training may use on this device: half its memory (navigator.deviceMemory, 4 GB when
 *  unknown), at most 3 GiB: a WebAssembly heap addresses 4 GB, and the backend's own copies
 *  (transposed operands, kernels' scratch) live there too — the bench's GPT-2-124M full
 *  fine-tuning, planned at 3.37 GB, ran out of it. */
export function trainingBudget(deviceMemoryGb?: number): number {
  const gb = deviceMemoryGb ?? (globalThis as { navigator?: { deviceMemory?: number } }).navigator?.deviceMemory ?? 4
  return Math.min((gb * 2 ** 30) / 2, 3 * 2 ** 30)
}

export interface HfHostDeps {
  fetchFn: FetchFn
  cache: HubCache | null
  /** The current dataset, its summary and its split for these settings (DataHost). */
  data(): { dataset: Dataset | null; summary: DatasetSummary | null; plan(settings: Settings): SplitRows }
  /** The handler drops its other models when an HF model becomes the current one. */
  dropOthers(): void
  ensureBackend(): Promise<void>
}

interface Current {
  body: HfBody
  tokenizer: HfTokenizer
  tok: TokenizerLike
  generation: GenerationConfig
  configText: string
  /** tokenizer.json etc. as loaded, for the merged export. */
  tokenizerFiles: Map<string, Uint8Array>
  /** Where it came from, for PEFT's base_model_name_or_path. */
  baseName: string
  summary: ModelSummary
}

export class HfModelHost {
  private current: Current | null = null
  tuning: Tuning | null = null
  lastVal: Encoded | null = null
  private base: WeightMap | null = null

  constructor(
    private readonly post: Post,
    private readonly deps: HfHostDeps,
  ) {}

  get active(): boolean {
    return this.current !== null
  }

  get model(): HfBody | null {
    return this.current?.body ?? null
  }

  async handle(msg: HfCommand): Promise<void> {
    switch (msg.type) {
      case 'hfProbe':
        this.post({ type: 'hfProbe', probe: await this.probe(msg.ref, msg.batch, msg.seq) })
        break
      case 'hfLoad':
        await this.deps.ensureBackend()
        if (msg.source.kind === 'hub') await this.loadHub(msg.source.ref)
        else await this.loadFiles(msg.source.files)
        await this.listStored()
        break
      case 'hfListStored':
        await this.listStored()
        break
      case 'hfDeleteStored':
        await this.deps.cache?.deleteRepo(msg.repo)
        await this.listStored()
        break
    }
  }

  // ---- before downloading ---------------------------------------------------------------

  private repoOpts(ref: HfRepoRef) {
    return { fetchFn: this.deps.fetchFn, revision: ref.revision || 'main', base: baseOf(ref), cache: this.deps.cache }
  }

  /** config.json (small) and the sizes of the other files, with the memory each method needs. */
  async probe(ref: HfRepoRef, batch: number, seq: number): Promise<HfProbe> {
    const repo = checkRepoId(ref.repo)
    const opts = this.repoOpts(ref)
    const configBytes = (await reachable(opts.base, 'config.json', () => hubFile(repo, 'config.json', { ...opts, retries: 1 })))!
    const cfg = parseHfConfig(new TextDecoder().decode(configBytes)) // refuses unsupported types by name, before any weight
    const stored = new Set((await this.deps.cache?.list())?.filter((f) => f.repo === repo && f.revision === opts.revision).map((f) => f.file) ?? [])
    const files: HfProbe['files'] = [{ name: 'config.json', bytes: configBytes.length, stored: true }]
    const size = async (name: string, optional: boolean) => {
      const url = hubFileUrl(repo, name, opts.revision, opts.base)
      try {
        const bytes = await reachable(opts.base, name, () => probeSize(url, { fetchFn: this.deps.fetchFn, what: { repo, file: name, revision: opts.revision } }))
        files.push({ name, bytes, stored: stored.has(name) })
        return true
      } catch (e) {
        if (optional && e instanceof ModelLoadError && /not found in/.test(e.message)) return false
        throw e
      }
    }
    const index = await hubFile(repo, SHARD_INDEX, { ...opts, optional: true })
    if (index) {
      files.push({ name: SHARD_INDEX, bytes: index.length, stored: true })
      for (const shard of parseShardIndex(new TextDecoder().decode(index)).shards) await size(shard, false)
    } else if (!(await size('model.safetensors', true))) {
      throw await this.noSafetensors(repo, opts.revision, opts.base)
    }
    for (const f of ['tokenizer.json', 'tokenizer_config.json', 'generation_config.json']) await size(f, f !== 'tokenizer.json')
    const totalBytes = files.reduce((n, f) => n + (f.bytes ?? 0), 0)
    const downloadBytes = files.filter((f) => !f.stored).reduce((n, f) => n + (f.bytes ?? 0), 0)
    const budgetBytes = trainingBudget()
    const plans: HfMethodPlan[] = (['head', 'lora', 'freeze', 'full'] as const).map((method) => {
      const t = memoryPlan(cfg, planInput(cfg, method, batch, seq)).totalBytes
      return { method, totalBytes: t, fits: t <= budgetBytes }
    })
    return { repo, revision: opts.revision, modelType: cfg.modelType, params: paramCount(cfg), files, downloadBytes, totalBytes, batch, seq, budgetBytes, plans }
  }

  /** model.safetensors is not in the repo: say what is there instead, when it is a weight
   *  format the studio does not read. */
  private async noSafetensors(repo: string, revision: string, base: string): Promise<ModelLoadError> {
    for (const other of ['pytorch_model.bin', 'model.bin', 'tf_model.h5', 'flax_model.msgpack', 'model.gguf']) {
      try {
        await probeSize(hubFileUrl(repo, other, revision, base), { fetchFn: this.deps.fetchFn })
        return new ModelLoadError(`${repo} has its weights only as ${other}, a format the studio does not read: it reads model.safetensors (or a sharded set with ${SHARD_INDEX}). Choose a repo that has safetensors weights (most do), or convert the checkpoint with the safetensors tools and load the files from your disk.`, other)
      } catch {
        // not there either
      }
    }
    return new ModelLoadError(`${repo} has no model.safetensors (and no ${SHARD_INDEX} for a sharded set). Check the repo id and revision; the studio needs config.json and safetensors weights.`, 'model.safetensors')
  }

  // ---- loading ---------------------------------------------------------------------------

  private async loadHub(ref: HfRepoRef): Promise<void> {
    const repo = checkRepoId(ref.repo)
    const opts = this.repoOpts(ref)
    const files = new Map<string, Uint8Array>()
    const progress = (file: string) => (loaded: number, total: number | null) =>
      this.post({ type: 'progress', task: 'model', done: loaded, total: total ?? Math.max(loaded, 1) * 2, label: `Downloading ${file} of ${repo}: ${formatBytesOf(loaded, total ?? 0)}` })
    const network = new WeakSet<object>() // failures of the download itself (kept files stay kept)
    const get = async (file: string, optional = false) => {
      try {
        const b = await hubFile(repo, file, { ...opts, optional, onProgress: (f, l, t) => progress(f)(l, t) })
        if (b) files.set(file, b)
        return b
      } catch (e) {
        if (e instanceof Error) network.add(e)
        throw e
      }
    }
    try {
      const configBytes = (await reachable(opts.base, 'config.json', () => get('config.json')))!
      parseHfConfig(new TextDecoder().decode(configBytes)) // an unsupported model is refused before the weights download
      const index = await get(SHARD_INDEX, true)
      if (index) {
        for (const shard of parseShardIndex(new TextDecoder().decode(index)).shards) await get(shard)
      } else if (!(await get('model.safetensors', true))) {
        throw await this.noSafetensors(repo, opts.revision, opts.base)
      }
      for (const f of TOKENIZER_FILES) await get(f, true)
      const rev = opts.revision === 'main' ? '' : `@${opts.revision}`
      await this.install(files, `${repo}${rev}`, `hf:${repo}${rev}`, `from the Hugging Face Hub${baseOf(ref) === HUB ? '' : ` (${baseOf(ref)})`}`)
    } catch (e) {
      // Files that do not make a model (cut, mismatched, no tokenizer, unsupported) are not kept:
      // the next try downloads them again. A failed download keeps the files that came whole.
      if (e instanceof ModelLoadError && !network.has(e)) await this.deps.cache?.deleteRepo(repo)
      throw e
    }
  }

  /** Chosen files: a model's files (or a merged export's .zip), or a PEFT adapter for the
   *  loaded model (adapter_config.json + adapter_model.safetensors). */
  private async loadFiles(list: File[]): Promise<void> {
    const files = new Map<string, Uint8Array>()
    for (const f of list) {
      const bytes = new Uint8Array(await f.arrayBuffer())
      if (/\.zip$/i.test(f.name)) {
        let entries: Record<string, Uint8Array>
        try {
          entries = unzipSync(bytes)
        } catch {
          throw new ModelLoadError(`${f.name}: is not a readable .zip. Choose the model's files themselves, or a .zip the studio exported.`, f.name)
        }
        for (const [name, b] of Object.entries(entries)) if (!name.endsWith('/')) files.set(name.slice(name.lastIndexOf('/') + 1), b)
      } else files.set(f.name, bytes)
    }
    if (files.has('adapter_config.json') || files.has('adapter_model.safetensors')) return this.applyAdapter(files)
    const names = list.map((f) => f.name).join(', ')
    if (!files.has('config.json')) {
      throw new ModelLoadError(`config.json is missing from the chosen files (${names}). Choose config.json, model.safetensors, tokenizer.json and tokenizer_config.json together (hold Ctrl or Shift), or a PEFT adapter's adapter_config.json and adapter_model.safetensors.`, 'config.json')
    }
    const title = list.length === 1 ? list[0]!.name : 'chosen files'
    await this.install(files, title, `hf-files:${[...files.keys()].sort().join(',')}`, 'from files on this computer', [...files.keys()])
  }

  /** Reads and checks everything, then replaces the current model (nothing is lost before). */
  private async install(files: Map<string, Uint8Array>, title: string, id: string, where: string, otherFiles: string[] = []): Promise<void> {
    const bundle = await loadHfBundle(mapSource(files), {
      otherFiles,
      onStage: (stage) => this.post({ type: 'progress', task: 'model', done: 0, total: 1, label: `Reading ${stage}` }),
    })
    const body = new HfBody(bundle.model, bundle.tokenizer)
    this.deps.dropOthers()
    this.clear()
    const tokenizerFiles = new Map<string, Uint8Array>()
    for (const f of TOKENIZER_FILES) if (files.has(f)) tokenizerFiles.set(f, files.get(f)!)
    const cfg = bundle.config
    const summary: ModelSummary = {
      id,
      title,
      description: `A ${cfg.modelType} model (${formatCount(body.parameterCount())} parameters, ${formatBytes(bundle.weightBytes)} of weights) ${where}. ${body.isEncoder ? 'An encoder: it fine-tunes for classification and regression, reading the [CLS] token.' : 'A decoder: it fine-tunes on plain text (language modelling) and for classification.'}`,
      pretrained: true,
      card: { source: 'huggingface', modelType: cfg.modelType, title, files: [...files.keys()].sort() },
      layers: describeHf(body, new Set(Array.from({ length: body.config.nLayers + 2 }, (_, i) => i - 1))),
      totalParams: body.parameterCount(),
      trainableParams: body.parameterCount(),
      nLayers: body.config.nLayers,
      dModel: body.config.dModel,
      seqLen: body.config.seqLen,
      vocabSize: body.config.vocabSize,
      limits: modelLimits(body),
    }
    this.current = { body, tokenizer: bundle.tokenizer, tok: hfTokenizerLike(bundle.tokenizer), generation: bundle.generation, configText: bundle.configText, tokenizerFiles, baseName: title, summary }
    this.base = snapshotWeights(body.params)
    this.post({ type: 'model', summary })
  }

  /** A PEFT adapter chosen as files: its LoRA becomes the loaded model's tuning, as if the
   *  studio had trained it (the base weights stay as they are). */
  private async applyAdapter(files: Map<string, Uint8Array>): Promise<void> {
    const c = this.current
    if (!c) throw new ModelLoadError('A PEFT adapter needs its base model: load the Hugging Face model it was trained on first, then choose adapter_config.json and adapter_model.safetensors.', 'adapter_config.json')
    const cfgBytes = files.get('adapter_config.json')
    const weights = files.get('adapter_model.safetensors')
    if (!cfgBytes || !weights) throw new ModelLoadError(`Choose both adapter_config.json and adapter_model.safetensors (one of them is missing).`, cfgBytes ? 'adapter_model.safetensors' : 'adapter_config.json')
    const adapter = readPeftAdapter(c.body.model.hf.modelType, new TextDecoder().decode(cfgBytes), weights)
    const layers = adapter.factors.map((f) => f.layer)
    for (const f of adapter.factors) {
      if (!c.body.model.has(`${f.layer}.kernel`)) throw new ModelLoadError(`adapter_model.safetensors: adapts ${f.layer}, which the loaded model does not have: the adapter belongs to another model.`, 'adapter_model.safetensors')
      const [nIn, nOut] = c.body.get(`${f.layer}.kernel`).shape
      if (nIn !== f.nIn || nOut !== f.nOut) throw new ModelLoadError(`adapter_model.safetensors: ${f.layer} is [${f.nIn}, ${f.nOut}] in the adapter but [${nIn}, ${nOut}] in the loaded model: the adapter belongs to another model.`, 'adapter_model.safetensors')
    }
    // The studio's target kinds that place LoRA on exactly the adapter's layers.
    const kinds = HF_TARGET_MODULES[c.body.model.hf.modelType]
    const targets = (Object.keys(kinds) as (keyof typeof kinds)[]).filter((k) => kinds[k].some((m) => layers.some((l) => l.endsWith(`.${m}`))))
    const placed = targets.length ? hfLoraLayers(c.body, targets) : []
    const wanted = new Set(layers)
    if (placed.length !== wanted.size || placed.some((l) => !wanted.has(l))) {
      throw new ModelLoadError(`adapter_model.safetensors: adapts ${layers.length} layers (${[...new Set(layers.map((l) => l.slice(l.lastIndexOf('.') + 1)))].join(', ')}) but not every block's, which the studio cannot place. Load an adapter that targets whole module kinds in every block.`, 'adapter_model.safetensors')
    }
    const settings: Settings = { ...DEFAULTS, method: 'lora', loraRank: adapter.rank, loraAlpha: adapter.alpha, loraTargets: targets.join(',') }
    this.tuning?.dispose()
    this.tuning = null
    if (this.base) resetWeights(c.body, this.base)
    const tuning = new Tuning(c.body, settings, null)
    const byName = new Map(tuning.lora!.params.map((p) => [p.name, p.variable] as const))
    for (const f of adapter.factors) {
      tf.tidy(() => {
        byName.get(`${f.layer}.lora_A`)!.assign(tf.tensor2d(f.a, [f.nIn, adapter.rank]))
        byName.get(`${f.layer}.lora_B`)!.assign(tf.tensor2d(f.b, [adapter.rank, f.nOut]))
      })
    }
    c.body.frozenBase = true
    this.tuning = tuning
    this.post({ type: 'imported', fileName: 'adapter_model.safetensors', choice: 'adapter', title: `${c.summary.title} + PEFT adapter (r = ${adapter.rank}, ${layers.length} layers)`, metrics: null, note: `LoRA on ${[...new Set(layers.map((l) => l.slice(l.lastIndexOf('.') + 1)))].join(', ')}` })
  }

  async listStored(): Promise<HfStoredRepo[]> {
    const byRepo = new Map<string, HfStoredRepo>()
    for (const f of (await this.deps.cache?.list()) ?? []) {
      const key = `${f.repo}@${f.revision}`
      const r = byRepo.get(key) ?? { repo: f.repo, revision: f.revision, files: [], bytes: 0 }
      r.files.push(f.file)
      r.bytes += f.bytes
      byRepo.set(key, r)
    }
    const repos = [...byRepo.values()]
    this.post({ type: 'hfStored', repos })
    return repos
  }

  /** Forgets the HF model (another kind of model became the current one). */
  clear(): void {
    this.tuning?.dispose()
    this.tuning = null
    this.lastVal = null
    if (this.base) disposeWeights(this.base)
    this.base = null
    this.current?.body.dispose()
    this.current = null
  }

  // ---- training --------------------------------------------------------------------------

  private encode(settings: Settings): { train: Encoded; val: Encoded } {
    const c = this.current!
    const { dataset, plan } = this.deps.data()
    if (!dataset) throw new Error('Load a dataset before training.')
    const seqLen = Math.min(settings.seqLen, c.body.config.seqLen)
    const split = plan(settings)
    const task = toTask(dataset)
    if (task === 'language-modelling') {
      const enc = (ds: Dataset, idx: number[]): Encoded => {
        const b = encodeLanguageModel(datasetTexts(ds, idx), c.tok, seqLen)
        return { kind: 'lm', n: b.n, seqLen, tokens: b.blocks }
      }
      return { train: enc(split.train, split.trainIdx), val: enc(split.validation, split.validationIdx) }
    }
    if (task === 'text-regression') return encodeTextRegression(split, c.tok, seqLen)
    const classes = (dataset.classes[dataset.roles.labels[0] ?? ''] ?? []).map((x) => x.label)
    const enc = (ds: Dataset, idx: number[]): Encoded => {
      const a = encodeClassification(ds, c.tok, { seqLen, indices: idx })
      const tasks = tasksOf(dataset, a.labelsByColumn)
      return { kind: 'classification', n: a.n, seqLen, tokens: a.ids, mask: a.mask, labels: a.labels, classes, ...(tasks.length ? { tasks } : {}) }
    }
    return { train: enc(split.train, split.trainIdx), val: enc(split.validation, split.validationIdx) }
  }

  /** Parameter counts and problems for these settings, before anything trains. */
  plan(settings: Settings): void {
    const c = this.current!
    const { dataset, summary } = this.deps.data()
    const task = summary?.task ?? 'language-modelling'
    const body = c.body
    const problems = validateSettings(settings, {
      trainSize: Number.MAX_SAFE_INTEGER,
      nLayers: body.config.nLayers,
      dModel: body.config.dModel,
      hasHead: task === 'text-classification' || task === 'text-regression',
      maxSeqLen: body.config.seqLen,
      limits: modelLimits(body),
    })
    let counts = { total: body.parameterCount(), trainable: 0 }
    if (!problems.length) {
      try {
        const need = task === 'text-classification' ? Math.max(2, summary?.classes.length ?? 2) : task === 'text-regression' ? 'regression' : null
        const t = new Tuning(body, settings, need, dataset ? tasksOf(dataset, {}) : undefined)
        counts = t.counts(0)
        t.dispose()
      } catch (e) {
        problems.push({ field: 'method', message: e instanceof Error ? e.message : String(e) })
      }
      const memory = this.memoryProblem(settings, task === 'language-modelling' ? 'lm' : 'classify')
      if (memory) problems.push({ field: 'batchSize', message: memory })
    }
    this.post({ type: 'plan', trainableParams: counts.trainable, totalParams: counts.total, problems })
    this.post({ type: 'model', summary: { ...c.summary, layers: describeHf(body, trainableBlocks(body.config.nLayers, settings, 0)), trainableParams: counts.trainable, totalParams: counts.total } })
  }

  /** The run's memory plan against this device; words with settings that fit, or null. */
  private memoryProblem(settings: Settings, task: 'lm' | 'classify'): string | null {
    const c = this.current!
    const cfg = c.body.model.hf
    const method = planMethodOf(settings.method)
    const input: PlanInput = { ...planInput(cfg, method, settings.batchSize, Math.min(settings.seqLen, c.body.config.seqLen)), task, ...(method === 'lora' ? { loraRank: settings.loraRank } : {}) }
    const need = memoryPlan(cfg, input).totalBytes
    const budget = trainingBudget()
    if (need <= budget) return null
    const fits = settingsThatFit(cfg, input, budget)
    return `This run needs about ${formatBytes(need)} (weights, gradients, optimizer state and activations) but this device allows about ${formatBytes(budget)}. ${fits.length ? `These would fit: ${fits.map((f) => `${f.change} (${formatBytes(f.totalBytes)})`).join('; ')}.` : 'Choose LoRA, a smaller batch or a shorter sequence.'}`
  }

  async train(
    msg: Extract<ToWorker, { type: 'train' }>,
    setRun: (r: { id: string; control: RunControl } | null) => void,
    /** Records the run and checkpoints every epoch (checkpointHost.ts), as for the studio's own models. */
    record: (settings: Settings, control: RunControl, cb: FineTuneCallbacks) => Promise<{ callbacks(): FineTuneCallbacks; finish(r: { reason: DoneReason; summary: RunSummary; message: string }): Promise<void>; fail(message: string): Promise<void> }>,
    resume?: ResumeInput, // continue a checkpointed run: same settings and data
  ): Promise<void> {
    const c = this.current!
    const { runId, settings } = msg
    await this.deps.ensureBackend()
    const data = this.encode(settings)
    if (data.train.n === 0 || data.val.n === 0) {
      throw new Error(`The split left ${data.train.n} training and ${data.val.n} validation examples${data.train.kind === 'lm' ? ` of ${data.train.seqLen} + 1 tokens` : ''}. Add text, shorten the sequence length, or change the validation split.`)
    }
    const body = c.body
    const problems = validateSettings(settings, {
      trainSize: data.train.n,
      nLayers: body.config.nLayers,
      dModel: body.config.dModel,
      hasHead: headNeedOf(data.train) !== null,
      maxSeqLen: body.config.seqLen,
      limits: modelLimits(body),
    })
    const memory = this.memoryProblem(settings, data.train.kind === 'lm' ? 'lm' : 'classify')
    if (memory) problems.push({ field: 'batchSize', message: memory })
    if (problems.length) {
      refuseSettings(this.post, runId, problems, body.parameterCount())
      return
    }
    this.tuning?.dispose()
    this.tuning = null
    if (this.base) resetWeights(body, this.base)
    body.frozenBase = settings.method === 'lora' || settings.method === 'head'
    const tuning = new Tuning(body, settings, headNeedOf(data.train), data.train.kind === 'classification' ? data.train.tasks : undefined)
    this.tuning = tuning
    this.lastVal = data.val
    const control = new RunControl()
    setRun({ id: runId, control })
    this.post({ type: 'state', runId, state: 'running' })
    try {
      // A decoder's own guess before any training, scoring each class name after the text
      // (the same zero-shot baseline as the built-in LM's; encoders have no LM head to ask).
      let zeroShot: Metrics | null = null
      if (!resume && !body.isEncoder && data.val.kind === 'classification' && !data.val.tasks) {
        this.post({ type: 'progress', task: 'baseline', done: 0, total: 1, label: 'Scoring each class name with the pretrained model (zero-shot baseline)' })
        zeroShot = (await zeroShotClassify(body as unknown as TinyGpt, c.tok, data.val)).metrics
      }
      const recorder = await record(settings, control, runEvents(this.post, runId))
      const result = await fineTune(body, tuning, { ...data, zeroShot }, settings, control, recorder.callbacks(), resume).catch(async (e: unknown) => {
        await recorder.fail(e instanceof Error ? e.message : String(e))
        throw e
      })
      await recorder.finish(result)
      this.post({ type: 'done', runId, reason: result.reason, summary: result.summary, message: result.message })
    } finally {
      setRun(null)
    }
  }

  /** The HF model as checkpoints, interpolation and the sweep see it (worker/trainedModel.ts). */
  trainedModel(): TrainedModel | null {
    const c = this.current
    if (!c) return null
    return {
      kind: 'text',
      model: c.body,
      summary: c.summary,
      card: c.summary.card ?? {},
      base: this.base,
      tuning: this.tuning,
      lastVal: this.lastVal,
      encode: (settings) => this.encode(settings),
      evaluate: (tuning, val) => evaluate(c.body, tuning, val, new FeatureCache(0, false, { train: 0, val: val.n }), 'val'),
      adopt: (tuning, val) => {
        if (this.tuning !== tuning) this.tuning?.dispose()
        this.tuning = tuning
        if (val) this.lastVal = val
      },
    }
  }

  async evaluate(): Promise<Metrics> {
    if (!this.current || !this.tuning || !this.lastVal) throw new Error('Train a model before evaluating it.')
    return evaluate(this.current.body, this.tuning, this.lastVal, new FeatureCache(0, false, { train: 0, val: this.lastVal.n }), 'val')
  }

  // ---- playground ------------------------------------------------------------------------

  /** Text from the base model and from the fine-tuned one, with the model's generation config
   *  (generation_config.json) under the playground's controls; temperature 0 is greedy. */
  async generate(msg: Extract<ToWorker, { type: 'generate' }>, shouldStop: () => boolean): Promise<void> {
    const c = this.current!
    const { requestId } = msg
    if (c.body.isEncoder) {
      this.post({ type: 'playground', requestId, message: `${c.summary.title} is an encoder (${c.body.model.hf.modelType}): it classifies text but does not write it. Load a GPT-2 or Llama model to generate text.` })
      return
    }
    const bundle = { model: c.body.model, tokenizer: c.tokenizer, generation: c.generation, configText: c.configText }
    const overrides = { maxNewTokens: msg.maxTokens, doSample: msg.temperature > 0, temperature: msg.temperature, topK: msg.topK, seed: msg.seed, onToken: () => !shouldStop() }
    const runOne = async (which: 'before' | 'after') => {
      const r = await generateText(bundle, msg.prompt, overrides)
      // the prompt and its continuation, as the playground shows them
      const text = c.tokenizer.decode([...r.promptIds, ...r.ids], { skipSpecialTokens: true })
      this.post({ type: 'generation', requestId, which, text, done: true, stopped: r.stoppedBy === 'stopped' })
      return r.stoppedBy === 'stopped'
    }
    const tuning = this.tuning && !this.tuning.head ? this.tuning : null
    // "before": the pretrained weights; "after": the run's (LoRA merged for the while)
    const stopped = this.base && tuning && !tuning.lora ? await this.withWeights(this.base, () => runOne('before')) : await runOne('before')
    if (stopped) return
    if (!tuning) {
      this.post({ type: 'playground', requestId, message: 'No language-model run yet: train on a plain-text dataset to compare with the fine-tuned model.' })
      return
    }
    if (!tuning.lora) {
      await runOne('after')
      return
    }
    const merged = tuning.lora.mergedKernels(c.body)
    await this.withWeights(merged, () => runOne('after'))
    for (const w of merged.values()) w.dispose()
  }

  /** Runs `fn` with these weights (by name) in place of the model's, then puts them back. */
  private async withWeights<T>(weights: ReadonlyMap<string, tf.Tensor>, fn: () => Promise<T>): Promise<T> {
    const body = this.current!.body
    const saved = new Map<string, tf.Tensor>()
    for (const [name, w] of weights) {
      const v = body.get(name)
      saved.set(name, tf.keep(v.clone()))
      v.assign(w)
    }
    try {
      return await fn()
    } finally {
      for (const [name, w] of saved) {
        body.get(name).assign(w)
        w.dispose()
      }
    }
  }

  // ---- export ----------------------------------------------------------------------------

  /** 'adapter': a PEFT LoRA adapter; 'merged' (and 'interpolated'): the model with LoRA merged,
   *  as model.safetensors + config.json + the tokenizer files. Both as a .zip. */
  async export(choice: 'merged' | 'adapter' | 'interpolated'): Promise<void> {
    const c = this.current
    if (!c) throw new Error('Load a Hugging Face model first.')
    const tuning = this.tuning
    const slug = c.baseName.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^-+|-+$/g, '') || 'model'
    const step = (done: number, label: string) => this.post({ type: 'progress', task: 'export', done, total: 3, label })
    if (choice === 'adapter') {
      if (!tuning?.lora) throw new Error('A PEFT adapter holds LoRA weights: train with the LoRA method (or choose "Merged model" to download the whole fine-tuned model).')
      step(1, 'Reading the LoRA weights')
      const factors: LoraFactors[] = []
      const byName = new Map(tuning.lora.params.map((p) => [p.name, p.variable] as const))
      for (const layer of tuning.lora.layers) {
        const a = byName.get(`${layer}.lora_A`)!
        const b = byName.get(`${layer}.lora_B`)!
        factors.push({ layer, nIn: a.shape[0]!, nOut: b.shape[1]!, a: (await a.data()) as Float32Array, b: (await b.data()) as Float32Array })
      }
      const s = tuning.settings
      const targetModules = peftTargets(tuning.lora.layers, c.body.model.linearLayers)
      const out = writePeftAdapter(c.body.model.hf.modelType, factors, { rank: s.loraRank, alpha: s.loraAlpha, dropout: s.loraDropout, baseModel: c.baseName, taskType: c.body.isEncoder ? 'FEATURE_EXTRACTION' : 'CAUSAL_LM', targetModules })
      step(2, 'Writing adapter_model.safetensors')
      const zip = zipSync({ 'adapter_config.json': strToU8(out.configText), 'adapter_model.safetensors': out.safetensors, 'README.md': strToU8(adapterReadme(c.baseName, out.config)) })
      this.sendFile(`${slug}-peft-lora.zip`, 'adapter', zip)
      return
    }
    step(1, 'Merging the fine-tuned weights')
    const merged = tuning?.lora ? tuning.lora.mergedKernels(c.body) : new Map<string, tf.Tensor2D>()
    const weights = await this.withWeights(merged, () => writeHfCheckpoint(c.body.model))
    for (const w of merged.values()) w.dispose()
    step(2, 'Writing model.safetensors')
    const files: Record<string, Uint8Array> = { 'config.json': strToU8(mergedConfig(c.configText, c.body.model.hf)), 'model.safetensors': weights }
    for (const [name, b] of c.tokenizerFiles) files[name] = b
    this.sendFile(`${slug}-merged.zip`, choice, zipSync(files))
  }

  private sendFile(fileName: string, choice: 'merged' | 'adapter' | 'interpolated', zip: Uint8Array) {
    const bytes = zip.buffer.slice(zip.byteOffset, zip.byteOffset + zip.byteLength) as ArrayBuffer
    this.post({ type: 'progress', task: 'export', done: 3, total: 3, label: 'Done' })
    this.post({ type: 'exported', fileName, choice, bytes })
  }
}

/** PEFT's target_modules for these adapted layers: PEFT adapts every module whose path ends
 *  with a listed name, so a name is widened with its parent ("attn.c_proj") until it matches
 *  only adapted layers of the model. */
export function peftTargets(adapted: readonly string[], all: readonly string[]): string[] {
  const chosen = new Set(adapted)
  const out = new Set<string>()
  for (const layer of adapted) {
    const parts = layer.split('.')
    let name = parts.at(-1)!
    for (let k = 2; k <= parts.length; k++) {
      const n = name
      if (all.every((l) => chosen.has(l) || !(l === n || l.endsWith(`.${n}`)))) break
      name = parts.slice(-k).join('.')
    }
    out.add(name)
  }
  return [...out].sort()
}

/** A request that got no answer at all (offline, or a host the page's security policy does not
 *  list) in words, instead of the browser's "Failed to fetch". */
async function reachable<T>(base: string, file: string, f: () => Promise<T>): Promise<T> {
  try {
    return await f()
  } catch (e) {
    if (e instanceof ModelLoadError && !/was cut off after 0 bytes/.test(e.message)) throw e
    // Nothing came back. The browser's words ("Failed to fetch", "NetworkError when attempting…") say nothing a
    // person can act on; a download cut off at its first byte is the same case.
    throw new ModelLoadError(`Could not reach ${base} for ${file}. Check the internet connection; a Hub address other than ${HUB} works only if the site's security policy lists its host (whoever runs this site adds it).`, file)
  }
}

function baseOf(ref: HfRepoRef): string {
  return (ref.baseUrl?.trim() || HUB).replace(/\/+$/, '')
}


function planMethodOf(m: Settings['method']): PlanMethod {
  return m === 'lora' || m === 'head' || m === 'freeze' ? m : 'full'
}

function planInput(cfg: HfConfig, method: PlanMethod, batch: number, seq: number): PlanInput {
  const decoder = cfg.modelType === 'gpt2' || cfg.modelType === 'llama'
  return { method, batch, seq, task: decoder ? 'lm' : 'classify', labels: 2, ...(method === 'lora' ? { loraRank: 8 } : {}), ...(method === 'freeze' ? { frozenBlocks: Math.floor(layersOf(cfg) / 2) } : {}) }
}

function layersOf(cfg: HfConfig): number {
  return cfg.modelType === 'gpt2' ? cfg.nLayer : cfg.numLayers
}

function paramCount(cfg: HfConfig): number {
  let n = 0
  for (const shape of expectedWeights(cfg).values()) n += shape.reduce((a, b) => a * b, 1)
  return n
}

function formatCount(n: number): string {
  return n >= 1e9 ? `${(n / 1e9).toFixed(2)} B` : n >= 1e6 ? `${(n / 1e6).toFixed(1)} M` : n >= 1e3 ? `${(n / 1e3).toFixed(1)} k` : String(n)
}

/** config.json for the merged checkpoint: the original, with the architecture the weights
 *  are saved as (hfCheckpointTensors writes the *LMHeadModel / *Model layout). */
function mergedConfig(configText: string, cfg: HfConfig): string {
  const o = JSON.parse(configText) as Record<string, unknown>
  const arch = { gpt2: 'GPT2LMHeadModel', llama: 'LlamaForCausalLM', bert: 'BertModel', distilbert: 'DistilBertModel' }[cfg.modelType]
  return JSON.stringify({ ...o, architectures: [arch] }, null, 2) + '\n'
}

function adapterReadme(base: string, config: Record<string, unknown>): string {
  return `# PEFT LoRA adapter for ${base}\n\nFine-tuned in the browser studio. Load it with Hugging Face PEFT:\n\n\`\`\`python\nfrom transformers import AutoModelForCausalLM\nfrom peft import PeftModel\nbase = AutoModelForCausalLM.from_pretrained("${base}")\nmodel = PeftModel.from_pretrained(base, "path/to/this/folder")\n\`\`\`\n\nr = ${String(config.r)}, lora_alpha = ${String(config.lora_alpha)}, target_modules = ${JSON.stringify(config.target_modules)}.\n`
}

/** One row per module for the layers table. */
function describeHf(body: HfBody, trainable: Set<number>): LayerSummary[] {
  const rows = new Map<string, LayerSummary>()
  for (const p of body.params) {
    const kind = p.layer.slice(p.layer.lastIndexOf('.') + 1)
    const row = rows.get(p.layer) ?? { name: p.layer, type: kind, block: p.block, outputShape: p.name.endsWith('.kernel') ? `[B, T, ${p.variable.shape[1]}]` : `[B, T, ${body.config.dModel}]`, params: 0, trainable: trainable.has(p.block) }
    row.params += p.variable.size
    rows.set(p.layer, row)
  }
  return [...rows.values()]
}

export const SUPPORTED = SUPPORTED_MODEL_TYPES
