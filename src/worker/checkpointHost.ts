/**
 * Checkpoints and run history for the worker: saves a checkpoint after every epoch in the
 * background (the loop only waits for the weights to be read), prunes to keepLast + best,
 * records every run, restores and resumes. A full disk pauses the run instead of losing it.
 */
import { bestOf, deleteAllCheckpointsExcept, deleteCheckpoints, listCheckpoints, loadCheckpoint, pruneRun, renameCheckpoint, saveCheckpoint } from '../engine/storage/checkpoints'
import { openStudioDb, type StudioDb } from '../engine/storage/db'
import { checkpointBytes, deleteRun, findInterrupted, getRun, listRuns, markInterrupted, putRun } from '../engine/storage/runs'
import { runsTrainedByTabs } from '../shared/runLocks'
import type { CheckpointBlob, CheckpointMeta, DatasetRef, EstimateFn, RunObjectiveRef, RunRecord } from '../engine/storage/types'
import { Tuning, type FineTuneCallbacks } from '../engine/train/fineTune'
import { assignTensors, stableNames, type LoopCheckpoint, type ResumeInput } from '../engine/train/loopState'
import type { RunControl } from '../engine/train/runControl'
import { resetWeights } from '../engine/tuning/interpolate'
import type { Settings } from '../settings/types'
import type { StorageCommand, StorageFault } from './checkpointProtocol'
import type { DatasetSummary, DoneReason, FromWorker, Metrics, RunSummary } from './protocol'
import type { HeldModel } from '../engine/session/family'
import type { Encoded } from '../engine/train/encoded'
import { formatDateTime } from '../format/format'
import { epochPoint } from '../shared/epochPoint'

/** The part of the handler's session these commands read and change. */
export interface CheckpointSessionView {
  datasetSummary: DatasetSummary | null
  run: { id: string; control: RunControl } | null
}

export interface CheckpointDeps {
  /** The model runs train and checkpoints restore into (the session's current one); null when none. */
  current(): HeldModel | null
  /** The data's split encoded for `held` (Session.encodeFor). */
  encode(held: HeldModel, settings: Settings): { train: Encoded; val: Encoded }
  /** The model SFT and DPO runs train (the session's loaded one) and the objective file it
   *  holds, if any (Session.objectiveData). */
  objectiveModel?(): HeldModel | null
  objectiveFile?(): { objective: string; name: string } | null
  /** The objective file's sets encoded for `held` (Session.encodeObjectiveFor: DPO's
   *  reference scored with the weights the body has when called). */
  encodeObjective?(held: HeldModel, settings: Settings, objective: RunObjectiveRef): Promise<{ train: Encoded; val: Encoded }>
  /** Validation metrics of `tuning` on `val` (Session.evaluateWith). */
  evaluate(held: HeldModel, tuning: Tuning, val: Encoded): Promise<Metrics>
  /** Makes `tuning` the held model's current one (Session.adopt). */
  adopt(held: HeldModel, tuning: Tuning, val?: Encoded): void
  /** Makes the run's dataset the current one (from the dataset store or its URL); throws,
   *  naming it, when that is not possible. */
  selectDataset(ref: DatasetRef): Promise<void>
  estimate?: EstimateFn
  openDb?: () => Promise<StudioDb>
  /** The runs tabs train now, by their Web Locks (shared/runLocks.ts); null where the browser
   *  cannot tell. Default: this worker's navigator.locks. */
  trainedByTabs?: () => Promise<Set<string> | null>
}

/** What resuming needs from the handler's train(): the settings and the loop's state. */
export interface PreparedResume {
  runId: string
  settings: Settings
  input: ResumeInput
  record: RunRecord
}

const FULL: EstimateFn = async () => ({ usage: 1e12, quota: 1e12 })
const MAX_LISTED_STEPS = 400 // per run in the runs view; the chart thins anyway

export class CheckpointHost {
  private dbPromise: Promise<StudioDb | null> | null = null
  private fault: StorageFault = 'none'
  private writes: Promise<void> = Promise.resolve() // checkpoint writes, one at a time, in order
  private pending: { runId: string; meta: Omit<CheckpointMeta, 'bytes'>; blob: Omit<CheckpointBlob, 'id'>; control: RunControl; keepLast: number; keepBest: boolean } | null = null

  constructor(
    private readonly s: CheckpointSessionView,
    private readonly post: (e: FromWorker) => void,
    private readonly deps: CheckpointDeps,
  ) {}

  /** Null where IndexedDB is missing or refused: training still works, nothing is saved. */
  private db(): Promise<StudioDb | null> {
    this.dbPromise ??= (this.deps.openDb ?? (() => openStudioDb()))().catch((e: unknown) => {
      console.warn('Checkpoints are off: IndexedDB could not be opened.', e)
      return null
    })
    return this.dbPromise
  }

  private estimate(): EstimateFn | undefined {
    return this.fault === 'quota' ? FULL : this.deps.estimate
  }

  private async need(): Promise<StudioDb> {
    const db = await this.db()
    if (!db) throw new Error('This browser refused local storage (IndexedDB), so checkpoints and run history are unavailable here.')
    return db
  }

  /** The runs other tabs of the studio train now (their Web Locks), this tab's own left out.
   *  A lock held at two looks 100 ms apart: the pages also take a run's lock for a moment to
   *  learn that no tab holds it (state/runsAcrossTabs.ts), and such a moment is not a tab
   *  training (measured: two tabs waiting on a closed tab's run each saw the other's moment
   *  and neither was offered the run). */
  private async otherTabsRuns(): Promise<Set<string>> {
    const look = async () => (await (this.deps.trainedByTabs ?? (() => runsTrainedByTabs(globalThis.navigator?.locks)))()) ?? new Set<string>()
    const first = await look()
    if (this.s.run) first.delete(this.s.run.id)
    if (first.size === 0) return first
    await new Promise((r) => setTimeout(r, 100))
    const second = await look()
    return new Set([...first].filter((id) => second.has(id)))
  }

  /** Another tab trains this run: deleting it there would be undone by that tab's next write
   *  (and its checkpoints lost under it), a new name overwritten. */
  private async refuseIfOtherTabTrains(runId: string, doing: 'deleting' | 'renaming'): Promise<void> {
    if ((await this.otherTabsRuns()).has(runId)) throw new Error(`This run is training in another tab of the studio: stop it there (or close that tab) before ${doing} it.`)
  }

  /** Storage commands never touch the model, so they are answered even mid-run. */
  async handle(msg: StorageCommand): Promise<void> {
    switch (msg.type) {
      case 'storageFault':
        this.fault = msg.fault
        return
      case 'listCheckpoints':
        return this.publishCheckpoints()
      case 'renameCheckpoint':
        await renameCheckpoint(await this.need(), msg.id, msg.name)
        return this.publishCheckpoints()
      case 'deleteCheckpoint':
        await deleteCheckpoints(await this.need(), [msg.id])
        await this.publishCheckpoints()
        return this.publishStorage()
      case 'storageEstimate':
        return this.publishStorage()
      case 'listRuns':
        return this.publishRuns()
      case 'renameRun': {
        await this.refuseIfOtherTabTrains(msg.id, 'renaming')
        const db = await this.need()
        const run = await getRun(db, msg.id)
        const name = msg.name.trim().slice(0, 80)
        if (run && name) await putRun(db, { ...run, name })
        return this.publishRuns()
      }
      case 'deleteRun':
        if (this.s.run?.id === msg.id) throw new Error('This run is training now: stop it before deleting it.')
        await this.refuseIfOtherTabTrains(msg.id, 'deleting')
        await deleteRun(await this.need(), msg.id)
        await this.publishRuns()
        await this.publishCheckpoints()
        return this.publishStorage()
      case 'findInterrupted': {
        const db = await this.db()
        const found = db ? await findInterrupted(db, await this.otherTabsRuns()) : null
        const live = found && found.run.id !== this.s.run?.id ? found : null
        this.post({
          type: 'interrupted',
          run: live && {
            runId: live.run.id,
            name: live.run.name,
            checkpointId: live.checkpoint.id,
            epoch: live.checkpoint.epoch,
            epochs: live.run.settings.epochs,
            datasetName: live.run.dataset.name,
          },
        })
        return
      }
      case 'dismissInterrupted':
        await markInterrupted(await this.need(), [msg.runId])
        this.post({ type: 'interrupted', run: null })
        return this.publishRuns()
      case 'freeSpace':
        return this.freeSpace(msg.runId)
      default: {
        const never: never = msg
        throw new Error(`Unknown storage command ${JSON.stringify(never)}`)
      }
    }
  }

  async publishCheckpoints(): Promise<void> {
    const db = await this.db()
    this.post({ type: 'checkpoints', items: db ? await listCheckpoints(db) : [] })
  }

  async publishRuns(): Promise<void> {
    const db = await this.db()
    const runs = db ? await listRuns(db) : []
    const thin = (r: RunRecord): RunRecord => {
      const stride = Math.ceil(r.steps.length / MAX_LISTED_STEPS)
      return stride > 1 ? { ...r, steps: r.steps.filter((_, i) => i % stride === 0 || i === r.steps.length - 1) } : r
    }
    this.post({ type: 'runs', items: runs.map(thin) })
  }

  async publishStorage(): Promise<void> {
    const db = await this.db()
    let usage: number | null = null
    let quota: number | null = null
    try {
      const est = await this.estimate()?.()
      usage = est?.usage ?? null
      quota = est?.quota ?? null
    } catch {
      // unknown: the panel says so
    }
    this.post({ type: 'storage', usage, quota, checkpointBytes: db ? await checkpointBytes(db) : 0 })
  }

  /** Starts recording a run; returns the callbacks to give the loop (wrapping the handler's). */
  async startRun(runId: string, settings: Settings, control: RunControl, prior: RunRecord | null, cb: FineTuneCallbacks, objective?: RunObjectiveRef): Promise<RunRecorder> {
    const s = this.s
    const now = Date.now()
    // An SFT or DPO run trains the loaded model on the objective's file, recorded as its dataset.
    const d: DatasetSummary | null = objective ? null : s.datasetSummary
    const m = objective ? (this.deps.objectiveModel?.() ?? null) : this.deps.current()
    const record: RunRecord = prior
      ? { ...prior, status: 'running', updatedAt: now, settings, steps: [...prior.steps], epochs: [...prior.epochs] } // copies: the series posted for the resume must not grow
      : {
          id: runId,
          name: `${objective ? `${objective.file} · ${objective.objective.toUpperCase()}` : (d?.name ?? 'data')} · ${settings.method} · ${formatDateTime(now, false)}`,
          status: 'running',
          startedAt: now,
          updatedAt: now,
          settings,
          dataset: objective ? objectiveDataset(objective) : datasetRef(d),
          model: { id: m?.summary.id ?? '', url: '', title: m?.summary.title ?? '', ...(m ? { kind: m.family.name } : {}) },
          steps: [],
          epochs: [],
          baseline: null,
          message: '',
          ...(objective ? { objective } : {}),
        }
    const rec = new RunRecorder(this, record, control, cb)
    await rec.save()
    // Listed from its start, not only once it ends: the runs view shows the run that trains
    // (its Delete waits for it), and the page's own listRuns at "running" can come before this save.
    await this.publishRuns()
    return rec
  }

  /** Queues a checkpoint write behind earlier ones; the loop goes on meanwhile. */
  enqueueCheckpoint(record: RunRecord, c: LoopCheckpoint, control: RunControl): void {
    const m = record.objective ? (this.deps.objectiveModel?.() ?? null) : this.deps.current()
    const id = `${record.id}-e${c.loop.epoch}-${Date.now().toString(36)}`
    const meta: Omit<CheckpointMeta, 'bytes'> = {
      id,
      runId: record.id,
      name: `Epoch ${c.loop.epoch}`,
      createdAt: Date.now(),
      epoch: c.loop.epoch,
      step: c.loop.step,
      train: c.train,
      val: withoutConfusion(c.val),
      monitored: c.monitored,
      mode: c.mode,
      isBest: c.isBest,
      pinned: false,
      method: record.settings.method,
      settings: record.settings,
      modelId: m?.summary.id ?? record.model.id,
      ...(m ? { modelKind: m.family.name } : {}),
      ...(record.objective ? { objective: record.objective } : datasetClasses(this.s.datasetSummary)),
      datasetId: record.dataset.id,
      datasetName: record.dataset.name,
    }
    const blob = { weights: c.weights, optimizer: c.optimizer, loop: c.loop }
    const job = { runId: record.id, meta, blob, control, keepLast: record.settings.keepLast, keepBest: record.settings.keepBest }
    this.writes = this.writes.then(async () => void (await this.write(job))).catch((e: unknown) => console.warn('Checkpoint write failed', e))
  }

  /** Resolves when every queued checkpoint write has finished. */
  flush(): Promise<void> {
    return this.writes
  }

  private async write(job: NonNullable<CheckpointHost['pending']>): Promise<boolean> {
    const db = await this.db()
    if (!db) return false
    const r = await saveCheckpoint(db, job.meta, job.blob, this.estimate())
    if (!r.ok) {
      this.pending = job
      if (r.error.kind === 'quota') job.control.pause() // the loop halts before its next step: nothing lost
      this.post({ type: 'storageFull', runId: job.runId, message: r.error.message })
      return false
    }
    this.pending = null
    await pruneRun(db, job.runId, job.keepLast, job.keepBest)
    await this.publishCheckpoints()
    return true
  }

  /** A person agreed to delete older checkpoints: keep this run's newest and best, retry the
   *  save that failed, and continue the run if it was paused for it. */
  private async freeSpace(runId: string): Promise<void> {
    const db = await this.need()
    const mine = await listCheckpoints(db, runId)
    const keep = new Set([mine.sort((a, b) => b.epoch - a.epoch)[0]?.id, bestOf(mine)?.id].filter((x): x is string => !!x))
    await deleteAllCheckpointsExcept(db, keep)
    const job = this.pending
    const saved = job && job.runId === runId ? await this.write(job) : true
    await this.publishCheckpoints()
    await this.publishStorage()
    if (saved && job && this.s.run?.id === runId) job.control.resume()
  }

  /** Loads a checkpoint's weights into the session so evaluation and the playground use them. */
  async restore(id: string): Promise<void> {
    const db = await this.need()
    const found = await loadCheckpoint(db, id)
    if (!found) throw new Error('That checkpoint is no longer stored (it may have been deleted in another tab).')
    const { meta, blob } = found
    // An SFT or DPO checkpoint is measured on its file when that file is the one checked in the
    // objectives panel, encoded before its weights go in (DPO's reference is the base model).
    const objective = meta.objective
    let objectiveVal: Encoded | null = null
    if (objective) {
      const model = await this.checkCompatible(meta)
      const f = this.deps.objectiveFile?.() ?? null
      if (f?.name === objective.file && f.objective === objective.objective) {
        model.tuning?.dispose()
        model.tuning = null
        if (model.base) resetWeights(model.body, model.base)
        objectiveVal = (await this.deps.encodeObjective?.(model, meta.settings, objective))?.val ?? null
      }
    }
    const { model, tuning } = await this.install(meta, blob.weights)
    let metrics: Metrics | null = null
    try {
      const val = objective ? objectiveVal : this.deps.encode(model, meta.settings).val
      if (val) {
        this.deps.adopt(model, tuning, val)
        metrics = await this.deps.evaluate(model, tuning, val)
      }
    } catch (e) {
      console.warn('Restored without evaluating', e)
    }
    this.post({ type: 'restored', checkpoint: meta, metrics, baseline: blob.loop.baseline, baselineNote: blob.loop.baselineNote, ...(blob.loop.baselineName ? { baselineName: blob.loop.baselineName } : {}) })
    if (metrics) this.post({ type: 'evaluation', metrics })
  }

  /** The model, dataset and loop state to continue `checkpointId`'s run. */
  async prepareResume(checkpointId: string): Promise<PreparedResume> {
    const db = await this.need()
    const found = await loadCheckpoint(db, checkpointId)
    if (!found) throw new Error('That checkpoint is no longer stored.')
    const { meta, blob } = found
    await this.checkCompatible(meta)
    this.checkObjectiveFile(meta)
    const record = (await getRun(db, meta.runId)) ?? null
    if (!record) throw new Error(`The run of checkpoint "${meta.name}" is no longer stored.`)
    const best = bestOf((await listCheckpoints(db, meta.runId)).filter((c) => c.epoch <= meta.epoch))
    const bestBlob = best && best.id !== meta.id ? await loadCheckpoint(db, best.id) : null
    // The series up to the checkpoint: steps after it will be trained again.
    const trimmed: RunRecord = { ...record, steps: record.steps.filter((p) => p.step <= meta.step), epochs: record.epochs.filter((p) => p.epoch <= meta.epoch) }
    this.post({ type: 'runSeries', runId: record.id, settings: meta.settings, steps: trimmed.steps, epochs: trimmed.epochs, baseline: blob.loop.baseline, ...(blob.loop.baselineName ? { baselineName: blob.loop.baselineName } : {}) })
    return {
      runId: record.id,
      settings: meta.settings,
      input: { loop: blob.loop, weights: blob.weights, optimizer: blob.optimizer, ...(bestBlob ? { bestWeights: bestBlob.blob.weights } : {}) },
      record: trimmed,
    }
  }

  /** The loaded model must be the run's base model; the run's dataset is opened when another
   *  one is current, and must still have the classes the head was trained for. */
  private async checkCompatible(meta: CheckpointMeta): Promise<HeldModel> {
    const s = this.s
    if (meta.objective) return this.checkObjectiveModel(meta)
    // A tabular MLP is built for its dataset's columns: open the run's dataset first.
    if (meta.modelKind === 'tabular' && s.datasetSummary?.id !== meta.datasetId) {
      const run = await getRun(await this.need(), meta.runId)
      await this.deps.selectDataset(run?.dataset ?? { id: meta.datasetId, name: meta.datasetName })
    }
    const model = this.deps.current()
    if (!model) throw new Error(`Load the model checkpoint "${meta.name}" was trained from (${meta.modelId || 'its base model'}) before restoring it.`)
    const kindOf = (k: string | undefined) => (k ? `${k} model ` : 'model ')
    if ((meta.modelId && model.summary.id !== meta.modelId) || (meta.modelKind && meta.modelKind !== model.family.name)) {
      throw new Error(`Checkpoint "${meta.name}" was trained from ${kindOf(meta.modelKind)}${meta.modelId}, but ${kindOf(model.family.name)}${model.summary.id} is loaded. Load that model first.`)
    }
    if (s.datasetSummary?.id !== meta.datasetId) {
      const run = await getRun(await this.need(), meta.runId)
      await this.deps.selectDataset(run?.dataset ?? { id: meta.datasetId, name: meta.datasetName })
    }
    const have = datasetClasses(s.datasetSummary).classes
    if (meta.classes && have && meta.classes.join('\u0000') !== have.join('\u0000')) {
      throw new Error(`Checkpoint "${meta.name}" was trained on ${meta.datasetName} with classes ${meta.classes.join(', ')}, but the loaded dataset has ${have.join(', ')}. Load that dataset first.`)
    }
    return model
  }

  /** An SFT or DPO checkpoint restores into the loaded model it was trained from. */
  private checkObjectiveModel(meta: CheckpointMeta): HeldModel {
    const model = this.deps.objectiveModel?.() ?? null
    if (!model) throw new Error(`Load the model checkpoint "${meta.name}" was trained from (${meta.modelId || 'its base model'}) before restoring it.`)
    if (meta.modelId && model.summary.id !== meta.modelId) throw new Error(`Checkpoint "${meta.name}" was trained from ${meta.modelId}, but ${model.summary.id} is loaded. Load that model first.`)
    return model
  }

  /** Resuming an SFT or DPO run needs its file checked in the objectives panel again. */
  private checkObjectiveFile(meta: CheckpointMeta): void {
    const o = meta.objective
    const f = this.deps.objectiveFile?.() ?? null
    if (o && (f?.name !== o.file || f.objective !== o.objective)) {
      throw new Error(`Checkpoint "${meta.name}" was trained by ${o.objective === 'sft' ? 'instruction tuning' : 'preference tuning'} on ${o.file}: choose that file${o.validationFile ? ` (and ${o.validationFile} as the held-out file)` : ''} in the language-model objectives panel, then continue the run.`)
    }
  }

  /** Base weights, then a fresh Tuning for the checkpoint's settings, then its weights. */
  private async install(meta: CheckpointMeta, weights: CheckpointBlob['weights']): Promise<{ model: HeldModel; tuning: Tuning }> {
    const model = await this.checkCompatible(meta)
    // The head's output layer [features, outputs] (a Hugging Face decoder's score has no bias).
    // One output is a regression head (a classifier has at least two classes).
    const headKernel = weights.find((w) => w.name === 'tuning/head.task.kernel')
    const outputs = headKernel?.shape[1]
    const settings = model.family.runSettings(meta.settings, model)
    // what the run set on the body before building its Tuning (an encoder's pooling, frozen kernels)
    model.family.beforeRun?.(model, settings)
    const tuning = new Tuning(model.body, settings, outputs ? (outputs === 1 ? 'regression' : outputs) : null)
    try {
      if (model.base) resetWeights(model.body, model.base)
      assignTensors(weights, stableNames(model.body, tuning.parts))
    } catch (e) {
      tuning.dispose()
      throw e
    }
    this.deps.adopt(model, tuning)
    return { model, tuning }
  }

  /** Internal for RunRecorder. */
  async saveRun(record: RunRecord): Promise<void> {
    const db = await this.db()
    if (db) await putRun(db, { ...record, updatedAt: Date.now() })
  }
}

/** Records one run as it goes: the series in memory, written at each epoch and at the end. */
export class RunRecorder {
  /** The newest epoch point while no checkpoint has followed it. The loop checkpoints each epoch
   *  it trained in full right after its epoch event, and only those (engine/train/fineTune.ts):
   *  one left without when the run is stopped is the epoch the stop came inside, which the loop's
   *  end message names ("in epoch 2 of 3 (1 epoch trained in full)"). */
  private unsaved: number | null = null

  constructor(
    private readonly host: CheckpointHost,
    readonly record: RunRecord,
    private readonly control: RunControl,
    private readonly cb: FineTuneCallbacks,
  ) {}

  save(): Promise<void> {
    return this.host.saveRun(this.record)
  }

  /** The handler's callbacks, plus recording and checkpointing. */
  callbacks(): FineTuneCallbacks {
    const { cb, record } = this
    return {
      ...cb,
      onBaseline: (m, note, name) => {
        record.baseline = m
        cb.onBaseline?.(m, note, name)
      },
      onStep: (e) => {
        record.steps.push({ step: e.step, loss: e.loss, lr: e.lr })
        cb.onStep?.(e)
      },
      onEpoch: async (e) => {
        this.unsaved = record.epochs.push(epochPoint(e)) - 1
        await cb.onEpoch?.(e)
        void this.save() // throttled: once per epoch
      },
      onCheckpoint: (c) => {
        this.unsaved = null
        this.host.enqueueCheckpoint(record, c, this.control)
      },
    }
  }

  async finish(result: { reason: DoneReason; summary: RunSummary; message: string }): Promise<void> {
    await this.host.flush()
    this.record.status = result.reason
    this.record.message = result.message
    // the Runs list says "stopped in epoch 2 · 1 epoch trained in full", not "2 epochs"
    const cut = this.unsaved === null ? undefined : this.record.epochs[this.unsaved]
    if (result.reason === 'stopped' && cut) this.record.epochs[this.unsaved!] = { ...cut, partial: true }
    await this.save()
  }

  async fail(message: string): Promise<void> {
    await this.host.flush()
    this.record.status = 'failed'
    this.record.message = message
    await this.save()
  }
}

/** The objective's file as a run's dataset (an id of its own: it is not in the dataset store). */
function objectiveDataset(o: RunObjectiveRef): DatasetRef {
  return { id: `${o.objective}:${o.file}`, name: o.file }
}

function datasetRef(d: DatasetSummary | null): DatasetRef {
  if (!d) return { id: '', name: '' }
  const storedId = d.details?.storedId
  return { id: d.id, name: d.name, ...(storedId ? { storedId } : {}) }
}

/** Class names are part of a classification dataset's identity: a head only fits them. */
function datasetClasses(d: DatasetSummary | null): { classes?: string[] } {
  return d && d.task !== 'language-modelling' && d.classes.length ? { classes: d.classes.map((c) => c.name) } : {}
}

/** The confusion matrix can be large and is not needed to list a checkpoint. */
function withoutConfusion(m: Metrics): Metrics {
  const { confusion: _c, ...rest } = m
  return rest
}
