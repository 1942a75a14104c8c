/**
 * The worker's Hugging Face loader: looks at a Hub repo before downloading it (sizes, a memory
 * estimate per method), loads a GPT-2 / Llama / BERT checkpoint from the Hub (hubFetch: progress,
 * resume, kept in IndexedDB) or from chosen files, and hands it to the session as a held model
 * of the Hugging Face family (engine/session/families/hf.ts), which plans, trains, evaluates,
 * generates and exports it like any other model. A PEFT adapter chosen as files becomes the
 * loaded model's tuning.
 *
 * Everything is read and checked before the current model is replaced, so a bad repo or file
 * leaves whatever was loaded in place. The handler routes HF commands here.
 */
import * as tf from '@tensorflow/tfjs'
import { unzipSync } from 'fflate'
import { formatBytesOf } from '../format/format'
import { HF_TARGET_MODULES } from '../engine/bodies/hfBody'
import { hfLoraLayers } from '../engine/bodies/hf'
import { DEFAULTS } from '../settings/schema'
import { benchSwitch } from '../engine/benchSwitches'
import { bindingBytes, webgpuDeviceLimits, type BindingLimits } from '../engine/hf/bindingLimits'
import { parseHfConfig } from '../engine/hf/config'
import { loadHfBundle, mapSource } from '../engine/hf/hfLoad'
import { checkRepoId, hubFile, hubFileUrl, HUB, HubUnreachableError, probeSize, type CacheHits, type FetchFn, type HubCache } from '../engine/hf/hubFetch'
import { memoryPlan } from '../engine/hf/memoryPlan'
import { readPeftAdapter } from '../engine/hf/peftAdapter'
import { SEQ_CLS_LABELS_FILE } from '../engine/hf/peftSeqCls'
import { SEQ_CLS_ARCHITECTURE } from '../engine/hf/seqClsHead'
import { readSeqClsHead, type LoadedSeqClsHead } from '../engine/hf/seqClsLoadBack'
import { holdSeqClsHead, isLoadedHead, loadedHeadTuning } from '../engine/session/families/hfSeqCls'
import { parseShardIndex, SHARD_INDEX } from '../engine/hf/safetensors'
import { poolingDir, SENTENCE_FILES } from '../engine/hf/sentencePooling'
import { ModelLoadError } from '../engine/models/modelLoadError'
import { Tuning } from '../engine/train/fineTune'
import { resetWeights } from '../engine/tuning/interpolate'
import { dropSeqClsHead } from '../engine/session/families/hfSeqCls'
import { bindingProblems, holdHf, paramCount, planInput, trainingBudget, type HeldHf } from '../engine/session/families/hf'
import type { Settings } from '../settings/types'
import type { HfCommand, HfLoaded, HfMethodPlan, HfProbe, HfRepoRef, HfStoredRepo } from './hfProtocol'
import type { FromWorker } from './protocol'

export { peftTargets, trainingBudget } from '../engine/session/families/hf'

type Post = (e: FromWorker) => void

/** The model's description without the split sentence, for saying the split again after a
 *  backend change. */
const plainDescription = new WeakMap<HeldHf, string>()
const TABLE_WORDS: Record<string, string> = {
  'wte.weight': 'the token embedding',
  'embed_tokens.weight': 'the token embedding',
  'embeddings.word_embeddings.weight': 'the token embedding',
  'lm_head.kernel': 'the LM head',
}

/** Says in the model's description which tables are kept in parts for this WebGPU device's
 *  storage-buffer binding limit (HfModel.splitLargeTables), or nothing when none is. */
export function sayTheSplit(held: HeldHf): void {
  const plain = plainDescription.get(held) ?? held.summary.description ?? ''
  plainDescription.set(held, plain)
  const split = held.body.model.splitTables()
  const limits = held.bindingLimits
  let note = ''
  if (limits && split.length) {
    const MB = (bytes: number) => `${Math.round(bytes / 1e6)} MB`
    const tables = split.map((t) => `${TABLE_WORDS[t.name] ?? 'the table'} ${t.name} (${MB(t.bytes)}) is kept in ${t.parts} parts`).join(' and ')
    note = ` On this GPU one storage buffer holds at most ${MB(bindingBytes(limits))} (the adapter's limit), so ${tables}, each read on its own.`
  }
  held.summary = { ...held.summary, description: plain + note }
}

/** The files the studio reads from a model repo (the rest of a repo is never fetched). */
export const HF_FILES = ['config.json', 'model.safetensors', SHARD_INDEX, 'tokenizer.json', 'tokenizer_config.json', 'generation_config.json'] as const
const TOKENIZER_FILES = ['tokenizer.json', 'tokenizer_config.json', 'generation_config.json', 'special_tokens_map.json'] as const

export interface HfHostDeps {
  fetchFn: FetchFn
  cache: HubCache | null
  /** Makes a loaded checkpoint the session's model (the one before is let go). */
  hold(held: HeldHf): void
  /** The session's loaded model when it is a Hugging Face one. */
  loaded(): HeldHf | null
  /** Makes `tuning` the held model's (Session.adopt). */
  adopt(held: HeldHf, tuning: Tuning): void
  ensureBackend(): Promise<void>
  /** After a sequence classifier is held with its own head: measure it on the session's
   *  dataset where its classes fit, and say so (the 'imported' event). */
  measureHead?(held: HeldHf, fileName: string): Promise<void>
  /** The storage-buffer limits of the device models run on: `webgpuDeviceLimits()` (null off
   *  WebGPU) unless given, as Node tests give a device's limits as data. */
  bindingLimits?(): BindingLimits | null
}

export class HfModelHost {
  constructor(
    private readonly post: Post,
    private readonly deps: HfHostDeps,
  ) {}

  async handle(msg: HfCommand): Promise<void> {
    switch (msg.type) {
      case 'hfProbe':
        this.post({ type: 'hfProbe', probe: await this.probe(msg.ref, msg.batch, msg.seq) })
        break
      case 'hfLoad': {
        await this.deps.ensureBackend()
        // The page re-sends a model (not an adapter) to a fresh worker after a crash: say which it was.
        let loaded: HfLoaded['loaded'] = 'model'
        try {
          if (msg.source.kind === 'hub') await this.loadHub(msg.source.ref)
          else loaded = await this.loadFiles(msg.source.files)
        } catch (e) {
          // what a failed download kept (or a refused one dropped) is listed as it is now
          if (msg.source.kind === 'hub') await this.listStored().catch(() => undefined)
          throw e
        }
        this.post({ type: 'hfLoaded', loadId: msg.loadId, loaded })
        await this.listStored()
        break
      }
      case 'hfListStored':
        await this.listStored()
        break
      case 'hfDeleteStored':
        await this.deps.cache?.deleteRevision(msg.repo, msg.revision)
        await this.listStored()
        break
      case 'hfNewHead': {
        const held = this.deps.loaded()
        if (held) dropSeqClsHead(held)
        break
      }
    }
  }

  /** After the backend changes (the page's backend setting): the held model's tables are split
   *  for the new device's binding limit, or joined back off WebGPU, and its plan reads the new
   *  limits. False when no Hugging Face model is held. */
  async rebind(): Promise<boolean> {
    const held = this.deps.loaded()
    if (!held) return false
    const limits = this.limits()
    if (limits) await held.body.model.splitLargeTables(bindingBytes(limits))
    else held.body.model.unsplitTables()
    held.bindingLimits = limits
    sayTheSplit(held) // the plan that follows (handler.ts) carries the description to the page
    return true
  }

  private limits(): BindingLimits | null {
    if (benchSwitch.bindingSplitOff) return null // the browser tests' fault reproduction (benchSwitches.ts)
    return this.deps.bindingLimits ? this.deps.bindingLimits() : webgpuDeviceLimits()
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
    // the training plan's own checks: memory, and on WebGPU the device's binding limit (a
    // method the plan would refuse there is not listed as fitting)
    await this.deps.ensureBackend()
    const limits = this.limits()
    const decoder = cfg.modelType === 'gpt2' || cfg.modelType === 'llama'
    const context = cfg.modelType === 'gpt2' ? cfg.nPositions : cfg.maxPositions
    const plans: HfMethodPlan[] = (['head', 'lora', 'freeze', 'full'] as const).map((method) => {
      const t = memoryPlan(cfg, planInput(cfg, method, batch, seq)).totalBytes
      const refusal = bindingProblems(cfg, limits, { ...DEFAULTS, method, batchSize: batch, seqLen: seq }, decoder ? 'lm' : 'classify', context)[0]?.message ?? null
      return { method, totalBytes: t, fits: t <= budgetBytes && !refusal, refusal }
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
    const hits: CacheHits = { fromCache: [], knownAbsent: [] }
    const progress = (file: string) => (loaded: number, total: number | null) =>
      this.post({ type: 'progress', task: 'model', done: loaded, total: total ?? Math.max(loaded, 1) * 2, label: hits.fromCache.includes(file) ? `Reading ${file} of ${repo} from this browser` : `Downloading ${file} of ${repo}: ${formatBytesOf(loaded, total ?? 0)}` })
    const network = new WeakSet<object>() // failures of the download itself (kept files stay kept)
    const rev = opts.revision === 'main' ? '' : `@${opts.revision}`
    const get = async (file: string, optional = false) => {
      try {
        const b = await hubFile(repo, file, { ...opts, optional, onProgress: (f, l, t) => progress(f)(l, t) }, hits)
        if (b) files.set(file, b)
        return b
      } catch (e) {
        // model.safetensors and tokenizer.json are asked as optional only to say what is wrong when missing
        const mayLack = optional && file !== 'model.safetensors' && file !== 'tokenizer.json'
        const err = e instanceof HubUnreachableError ? await this.notStored(repo, opts.revision, file, mayLack, opts.base, e) : e
        if (err instanceof Error) network.add(err)
        throw err
      }
    }
    try {
      const configBytes = (await reachable(opts.base, 'config.json', () => get('config.json')))!
      const cfg = parseHfConfig(new TextDecoder().decode(configBytes)) // an unsupported model is refused before the weights download
      const index = await get(SHARD_INDEX, true)
      if (index) {
        for (const shard of parseShardIndex(new TextDecoder().decode(index)).shards) await get(shard)
      } else if (!(await get('model.safetensors', true))) {
        throw await this.noSafetensors(repo, opts.revision, opts.base)
      }
      for (const f of TOKENIZER_FILES) await get(f, true)
      if (cfg.modelType === 'bert' || cfg.modelType === 'distilbert') {
        // a sentence encoder's pooling (sentencePooling.ts): small JSON files, when the repo has them
        const [modules] = [await get(SENTENCE_FILES[0], true), await get(SENTENCE_FILES[1], true)]
        let dir: string | null = null
        try {
          dir = modules ? poolingDir(JSON.parse(new TextDecoder().decode(modules))) : null
        } catch {
          // not JSON: sentencePooling ignores it too
        }
        if (dir) await get(`${dir}/config.json`, true)
      }
      await this.install(files, `${repo}${rev}`, `hf:${repo}${rev}`, `from the Hugging Face Hub${baseOf(ref) === HUB ? '' : ` (${baseOf(ref)})`}`)
      // every file this load read is stored now, or known not to exist: the next load asks nothing
      await this.deps.cache?.markWhole(repo, opts.revision)
    } catch (e) {
      // Files that do not make a model (cut, mismatched, no tokenizer, unsupported) are not kept
      // (this revision's: another stored revision stays): the next try downloads them again. A
      // failed download keeps the files that came whole.
      if (e instanceof ModelLoadError && !network.has(e)) await this.deps.cache?.deleteRevision(repo, opts.revision)
      throw e
    }
  }

  /** A file the load needs is not stored and the Hub did not answer (offline): when the revision
   *  has other files stored, say which file is missing and what to do, instead of a download
   *  error; with nothing stored, the download error stands (reachable() words it). */
  private async notStored(repo: string, revision: string, file: string, optional: boolean, base: string, e: HubUnreachableError): Promise<Error> {
    const stored = (await this.deps.cache?.list())?.filter((f) => f.repo === repo && f.revision === revision).length ?? 0
    if (!stored) return e
    const name = revision === 'main' ? repo : `${repo}@${revision}`
    const maybe = optional ? ` (an optional file: the repo may not have it, and this browser has not recorded whether it does)` : ''
    return new ModelLoadError(
      `${file} of ${name} is not among its files stored in this browser (${stored} ${stored === 1 ? 'is' : 'are'})${maybe}, and ${base} did not answer to download it. Reconnect and load ${name} again: only what is missing is downloaded. Or delete ${name} from this browser (step 7, Hugging Face models stored in this browser) and load it again once online, to download it whole.`,
      file,
    )
  }

  /** Chosen files: a model's files (or a merged export's .zip), or a PEFT adapter for the
   *  loaded model (adapter_config.json + adapter_model.safetensors). */
  private async loadFiles(list: File[]): Promise<'model' | 'adapter'> {
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
        for (const [name, b] of zipFiles(entries)) files.set(name, b)
      } else files.set(f.name, bytes)
    }
    if (files.has('adapter_config.json') || files.has('adapter_model.safetensors')) {
      await this.applyAdapter(files)
      return 'adapter'
    }
    const names = list.map((f) => f.name).join(', ')
    if (!files.has('config.json')) {
      throw new ModelLoadError(`config.json is missing from the chosen files (${names}). Choose config.json, model.safetensors, tokenizer.json and tokenizer_config.json together (hold Ctrl or Shift), or a PEFT adapter's adapter_config.json and adapter_model.safetensors.`, 'config.json')
    }
    // Said before the weights are read, naming the files chosen: the loader's own words ("the
    // model has none … choose a repository that has one") are for a repo, not a folder on disk.
    if (!files.has('tokenizer.json')) {
      throw new ModelLoadError(`tokenizer.json is not among the chosen files (${names}): choose it with the model's other files (hold Ctrl or Shift); it sits beside config.json in the model's repository. The studio reads tokenizers only in the tokenizer.json format.`, 'tokenizer.json')
    }
    const title = list.length === 1 ? list[0]!.name : 'chosen files'
    await this.install(files, title, `hf-files:${[...files.keys()].sort().join(',')}`, 'from files on this computer', [...files.keys()])
    return 'model'
  }

  /** Reads and checks everything, then replaces the current model (nothing is lost before). */
  private async install(files: Map<string, Uint8Array>, title: string, id: string, where: string, otherFiles: string[] = []): Promise<void> {
    const bundle = await loadHfBundle(mapSource(files), {
      otherFiles,
      onStage: (stage) => this.post({ type: 'progress', task: 'model', done: 0, total: 1, label: `Reading ${stage}` }),
    })
    const tokenizerFiles = new Map<string, Uint8Array>()
    for (const f of TOKENIZER_FILES) if (files.has(f)) tokenizerFiles.set(f, files.get(f)!)
    // WebGPU: tables one storage-buffer binding cannot hold (GPT-2's 154 MB embedding and tied
    // head on a 128 MiB device) are kept as chunks that fit; the run plan refuses what a split
    // table cannot do (bindingProblems). Other backends have no such limit: nothing changes.
    const limits = this.limits()
    if (limits) {
      this.post({ type: 'progress', task: 'model', done: 0, total: 1, label: 'Splitting tables over this GPU’s storage-buffer limit' })
      await bundle.model.splitLargeTables(bindingBytes(limits))
    }
    const held = holdHf(bundle, tokenizerFiles, [...files.keys()], title, id, where, limits)
    sayTheSplit(held)
    this.deps.hold(held)
    if (held.seqCls) await this.deps.measureHead?.(held, title)
  }

  /** A PEFT adapter chosen as files: its LoRA becomes the loaded model's tuning, as if the
   *  studio had trained it (the base weights stay as they are). */
  private async applyAdapter(files: Map<string, Uint8Array>): Promise<void> {
    const c = this.deps.loaded()
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
    // A SEQ_CLS adapter's head (modules_to_save, peftAdapter.ts) becomes the held tuning head,
    // read by the *ForSequenceClassification load-back (seqClsLoadBack.ts; labels from the
    // adapter's seq_cls_labels.json, or LABEL_i as PEFT's own adapters leave them; BERT's
    // pooler from the base when the adapter does not save it, as in PEFT).
    let loaded: LoadedSeqClsHead | null = null
    if (adapter.head.size) {
      const labels = files.get(SEQ_CLS_LABELS_FILE)
      loaded = readSeqClsHead(c.body.model.hf, labels ? new TextDecoder().decode(labels) : null, adapter.head, { file: 'adapter_model.safetensors', pre: c.body.pooler })
      if (!loaded) throw new ModelLoadError(`adapter_model.safetensors: saves ${[...adapter.head.keys()].join(', ')} (modules_to_save) but no ${SEQ_CLS_ARCHITECTURE[c.body.model.hf.modelType]} head (score.weight or classifier.weight), which is what the studio loads with an adapter.`, 'adapter_model.safetensors')
    }
    const settings: Settings = { ...DEFAULTS, method: 'lora', loraRank: adapter.rank, loraAlpha: adapter.alpha, loraTargets: targets.join(',') }
    // The adapter applies to the base weights: what was held before (a run's, a restored
    // checkpoint's, another adapter's or the checkpoint's own head's tuning) goes, and the page
    // hears so before the head and the LoRA below are set up, which can still fail (as an
    // adapter-only .zip's import does, exportCommands.ts).
    if (isLoadedHead(c.tuning)) c.validationSplit = null // the loaded head's classes went with it
    c.tuning?.dispose()
    c.tuning = null
    if (c.base) resetWeights(c.body, c.base)
    this.post({ type: 'weightsReset' })
    let tuning: Tuning
    if (loaded) {
      holdSeqClsHead(c, loaded) // its classes (or scale), card, an encoder's [CLS] pooling; the tuning below replaces its head-only one
      tuning = loadedHeadTuning(c, loaded, { settings })
    } else {
      dropSeqClsHead(c) // a head loaded before goes with the tuning it was in
      tuning = new Tuning(c.body, settings, null)
    }
    const byName = new Map(tuning.lora!.params.map((p) => [p.name, p.variable] as const))
    for (const f of adapter.factors) {
      tf.tidy(() => {
        byName.get(`${f.layer}.lora_A`)!.assign(tf.tensor2d(f.a, [f.nIn, adapter.rank]))
        byName.get(`${f.layer}.lora_B`)!.assign(tf.tensor2d(f.b, [adapter.rank, f.nOut]))
      })
    }
    c.body.frozenBase = true
    this.deps.adopt(c, tuning)
    const head = loaded ? (loaded.regression ? ', a regression head' : `, a head for ${loaded.labels.join(', ')}`) : ''
    this.post({ type: 'imported', fileName: 'adapter_model.safetensors', choice: 'adapter', title: `${c.summary.title} + PEFT adapter (r = ${adapter.rank}, ${layers.length} layers${head})`, metrics: null, note: `LoRA on ${[...new Set(layers.map((l) => l.slice(l.lastIndexOf('.') + 1)))].join(', ')}${loaded ? `; ${loaded.architecture} head from modules_to_save` : ''}` })
  }

  async listStored(): Promise<HfStoredRepo[]> {
    const byRepo = new Map<string, HfStoredRepo>()
    const whole = (await this.deps.cache?.wholeRevisions()) ?? new Set<string>()
    for (const f of (await this.deps.cache?.list()) ?? []) {
      const key = `${f.repo}@${f.revision}`
      const r = byRepo.get(key) ?? { repo: f.repo, revision: f.revision, files: [], bytes: 0, whole: whole.has(key) }
      r.files.push(f.file)
      r.bytes += f.bytes
      byRepo.set(key, r)
    }
    const repos = [...byRepo.values()]
    this.post({ type: 'hfStored', repos })
    return repos
  }
}

/** A zip's files by the names the loader reads: each by its own name, the shallowest winning (a
 *  sentence-transformers folder's `1_Pooling/config.json` must not take the model's
 *  `config.json`), and files in sub-folders also by their path below the model's folder (so
 *  sentencePooling finds `1_Pooling/config.json`). */
export function zipFiles(entries: Record<string, Uint8Array>): Map<string, Uint8Array> {
  const list = Object.entries(entries).filter(([n]) => !n.endsWith('/'))
  const depth = (n: string) => n.split('/').length
  list.sort((a, b) => depth(a[0]) - depth(b[0]))
  const top = list[0]?.[0] ?? ''
  const root = top.slice(0, top.lastIndexOf('/') + 1) // the folder of the shallowest file ('' at the zip's root)
  const files = new Map<string, Uint8Array>()
  for (const [name, b] of list) {
    const base = name.slice(name.lastIndexOf('/') + 1)
    if (!files.has(base)) files.set(base, b)
    const rel = name.startsWith(root) ? name.slice(root.length) : name
    if (rel.includes('/') && !files.has(rel)) files.set(rel, b)
  }
  return files
}

/** A request that got no answer at all (offline, or a host the page's security policy does not
 *  list) in words, instead of the browser's "Failed to fetch". */
async function reachable<T>(base: string, file: string, f: () => Promise<T>): Promise<T> {
  try {
    return await f()
  } catch (e) {
    if (e instanceof ModelLoadError && !(e instanceof HubUnreachableError) && !/was cut off after 0 bytes/.test(e.message)) throw e
    // Nothing came back. The browser's words ("Failed to fetch", "NetworkError when attempting…") say nothing a
    // person can act on; a download cut off at its first byte is the same case.
    throw new ModelLoadError(`Could not reach ${base} for ${file}. Check the internet connection; a Hub address other than ${HUB} works only if the site's security policy lists its host (whoever runs this site adds it).`, file)
  }
}

function baseOf(ref: HfRepoRef): string {
  return (ref.baseUrl?.trim() || HUB).replace(/\/+$/, '')
}
