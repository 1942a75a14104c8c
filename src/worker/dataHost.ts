/**
 * The worker's dataset side: parse once, keep in IndexedDB, choose roles, a separate
 * validation file, the split summary, image sets and their augmentation preview. The
 * handler delegates dataset commands here and reads `dataset` / `summary` / `imageSet`.
 * A bad file never replaces what is loaded: every failure is an 'error' event and a return.
 */
import * as tf from '@tensorflow/tfjs'
import { formatBytes, formatCount } from '../format/format'
import { parseDataset, withRoles, type ByteInput, type Dataset, type DataError, type Roles } from '../engine/data/dataset'
import { lengthHistogram, planSplit, valueHistogram, type SplitPlan } from '../engine/data/datasetPreview'
import { augmentBatch, augmentOptions, augmentSeed, describeAugment, NO_AUGMENT, type AugmentSettings } from '../engine/data/images/augment'
import { unusedFilesNote } from '../engine/data/images/unusedFiles'
import { loadImageBatch, type ImageSource } from '../engine/data/images/imageBatches'
import { DEFAULT_IMAGE_LIMITS, planImageFiles, type ImageFilePlan, type ImageLimits } from '../engine/data/images/imageFiles'
import { importImages } from '../engine/data/images/importImages'
import { UNIT } from '../engine/data/images/pixels'
import type { ImageDecoder, ImageSetInfo, StoredImage } from '../engine/data/images/types'
import { readImageZip } from '../engine/data/images/zipImages'
import { MAX_DATASET_BYTES } from '../engine/data/types'
import { DatasetStore, datasetId, type StoredDatasetMeta } from '../engine/storage/datasets'
import { datasetNotKeptMessage, isQuotaExceeded } from '../engine/storage/quota'
import { DEFAULTS } from '../settings/schema'
import type { Settings } from '../settings/types'
import type { DataCommand, DatasetDetails, ImageUpload, StoredDatasetInfo } from './dataProtocol'
import type { DatasetSummary, FromWorker, TaskKind, ToWorker } from './protocol'

type Post = (e: FromWorker) => void

const PROGRESS_EVERY_MS = 150

export interface ImageSet {
  id: string
  name: string
  info: ImageSetInfo
  source: ImageSource
}

export class DataHost {
  dataset: Dataset | null = null
  validation: Dataset | null = null
  imageSet: ImageSet | null = null
  summary: DatasetSummary | null = null
  private currentId: string | null = null
  private origin = ''
  private split = { validationFraction: DEFAULTS.valSplit, seed: DEFAULTS.seed }
  private augment: AugmentSettings & { seed: number } = pickAugment(DEFAULTS) // what the preview shows
  private maxBytes = MAX_DATASET_BYTES
  private imageLimits: ImageLimits = { ...DEFAULT_IMAGE_LIMITS }
  private storeP: Promise<DatasetStore | null> | null = null
  private memoryImages = new Map<string, StoredImage[]>() // when there is no IndexedDB

  constructor(
    private readonly post: Post,
    private readonly fetchFn: typeof fetch,
    private readonly decoder: ImageDecoder | null,
    private readonly storeName?: string,
  ) {}

  private store(): Promise<DatasetStore | null> {
    this.storeP ??= DatasetStore.open(this.storeName)
    return this.storeP
  }

  async handle(msg: DataCommand): Promise<void> {
    switch (msg.type) {
      case 'loadValidation':
        return this.loadValidation(msg.file)
      case 'clearValidation':
        return this.clearValidation()
      case 'setRoles':
        return this.setRoles(msg.roles)
      case 'listDatasets':
        return this.postList()
      case 'selectDataset':
        await this.select(msg.id)
        return
      case 'deleteDataset':
        return this.remove(msg.id)
      case 'restoreDataset':
        return this.restore(msg.fallback)
      case 'loadImages':
        return this.loadImages(msg.source)
      case 'augmentPreview':
        return this.augmentPreview(msg.count, msg.size, msg.step)
      case 'setDataLimits':
        if (msg.maxBytes !== undefined) this.maxBytes = msg.maxBytes
        if (msg.maxImageFiles !== undefined) this.imageLimits.maxFiles = msg.maxImageFiles
        if (msg.maxImageBytes !== undefined) this.imageLimits.maxTotalBytes = msg.maxImageBytes
        return
      default: {
        const never: never = msg
        throw new Error(`Unknown data command ${JSON.stringify(never)}`)
      }
    }
  }

  /** Parses a file or sample, keeps it in storage and makes it current. */
  async load(msg: Extract<ToWorker, { type: 'loadDataset' }>): Promise<void> {
    const src = msg.source
    let name: string
    let input: ByteInput
    let totalBytes: number | undefined
    let origin: string
    if (src.kind === 'url') {
      const res = await this.fetchFn(src.url)
      if (!res.ok || !res.body) throw new Error(`Could not download ${src.name} (HTTP ${res.status}).`)
      name = src.name
      input = res.body
      const len = Number(res.headers.get('content-length'))
      totalBytes = len > 0 ? len : undefined
      origin = `sample: ${src.name}`
    } else {
      name = src.file.name
      input = src.file.stream()
      totalBytes = src.file.size
      origin = `file: ${src.file.name}`
    }
    const d = await this.parse(name, input, totalBytes, 'dataset')
    if (!d) return
    this.dataset = d
    this.validation = null
    this.imageSet = null
    this.origin = origin
    this.currentId = datasetId('table', name, d.bytes)
    const stored = await this.saveTable(d, origin)
    this.publish(stored)
    await this.postList()
  }

  private async parse(name: string, input: ByteInput, totalBytes: number | undefined, what: 'dataset' | 'validation', roles?: Roles): Promise<Dataset | null> {
    let lastPost = 0
    const result = await parseDataset(
      name,
      input,
      (p) => {
        // A few updates a second are enough for a bar; more only keeps the page busy.
        const now = Date.now()
        if (now - lastPost < PROGRESS_EVERY_MS) return
        lastPost = now
        const total = p.totalBytes ?? totalBytes ?? p.bytesRead
        this.post({ type: 'progress', task: 'dataset', done: p.bytesRead, total, label: `Reading ${name}: ${mb(p.bytesRead)} of ${mb(total)}, ${formatCount(p.rows)} rows` })
      },
      { maxBytes: this.maxBytes, ...(totalBytes !== undefined ? { totalBytes } : {}), ...(roles ? { roles } : {}) },
    )
    if (!result.ok) {
      this.fail(result.error, what)
      return null
    }
    const task = toTask(result.dataset)
    if (!task) {
      this.fail({ file: name, message: `${name} looks like ${result.dataset.task} data, which the studio cannot train yet (several label columns need a text column). Choose a file with a text column and a label column, a numeric target, numeric feature columns with one label, or plain text.` }, what)
      return null
    }
    return result.dataset
  }

  private fail(error: DataError, what: 'dataset' | 'validation' | 'images'): void {
    const where = `${what} ${error.file}${error.row ? `, row ${error.row}` : ''}${error.field ? `, field ${error.field}` : ''}`
    this.post({ type: 'error', message: error.message, where })
  }

  private async saveTable(d: Dataset, origin: string): Promise<boolean> {
    const store = await this.store()
    if (!store || !this.currentId) return false
    this.post({ type: 'progress', task: 'dataset', done: 0, total: 1, label: `Saving ${d.name} in this browser` })
    try {
      const now = Date.now()
      await store.putTable({ id: this.currentId, name: d.name, kind: 'table', bytes: d.bytes, rows: d.rows.length, task: d.task, source: origin, createdAt: now, lastUsedAt: now }, d)
      await store.markUsed(this.currentId)
      return true
    } catch (e) {
      const message = isQuotaExceeded(e)
        ? datasetNotKeptMessage(d.name)
        : `${d.name} is loaded but could not be saved in this browser (${errorText(e) || errorName(e)}); it will not be there after a reload. Free some space by deleting stored datasets.`
      this.post({ type: 'error', message, where: `storage ${d.name}` })
      return false
    } finally {
      this.post({ type: 'progress', task: 'dataset', done: 1, total: 1, label: '' })
    }
  }

  private async loadValidation(file: File): Promise<void> {
    const train = this.dataset
    if (!train) throw new Error('Load a training dataset before a validation file.')
    const v = await this.parse(file.name, file.stream(), file.size, 'validation', train.roles)
    if (!v) return
    const check = planSplit(train, v, this.split)
    if (!check.ok) return this.fail(check.error, 'validation')
    this.validation = v
    const store = await this.store()
    if (store && this.currentId) await store.setValidation(this.currentId, v).catch(() => undefined)
    this.publish(true)
    await this.postList()
  }

  private async clearValidation(): Promise<void> {
    if (!this.validation) return
    this.validation = null
    const store = await this.store()
    if (store && this.currentId) await store.setValidation(this.currentId, null).catch(() => undefined)
    this.publish(true)
  }

  private async setRoles(r: { text?: string; labels: string[]; features?: string[]; target?: string }): Promise<void> {
    const d = this.dataset
    if (!d) throw new Error('Load a dataset before choosing its columns.')
    const roles: Roles = { labels: r.labels, features: r.features ?? [], ...(r.text !== undefined ? { text: r.text } : {}), ...(r.target !== undefined && r.labels.length === 0 ? { target: r.target } : {}) }
    const result = withRoles(d, roles)
    if (!result.ok) return this.fail(result.error, 'dataset')
    if (!toTask(result.dataset)) {
      return this.fail({ file: d.name, message: `With these columns ${d.name} would be ${result.dataset.task} data, which the studio cannot train: several label columns need a text column. Choose a text column, or one label column.` }, 'dataset')
    }
    let validation = this.validation
    if (validation) {
      const v = withRoles(validation, roles)
      const check = v.ok ? planSplit(result.dataset, v.dataset, this.split) : null
      validation = v.ok && check?.ok ? v.dataset : null
      if (!validation) this.post({ type: 'error', message: `The validation file ${this.validation?.name} does not fit the new columns, so it was set aside; the validation rows are held out from ${d.name} again.`, where: `validation ${this.validation?.name}` })
    }
    this.dataset = result.dataset
    this.validation = validation
    const store = await this.store()
    if (store && this.currentId) await store.updateMeta(this.currentId, { roles, task: result.dataset.task, rows: result.dataset.rows.length }).catch(() => undefined)
    this.publish(true)
  }

  /** Recomputes the split summary when the split settings change. */
  configure(settings: Settings): void {
    this.augment = pickAugment(settings)
    const next = { validationFraction: settings.valSplit, seed: settings.seed }
    if (next.validationFraction === this.split.validationFraction && next.seed === this.split.seed) return
    this.split = next
    if (this.dataset && this.summary && this.summary.details?.kind === 'table') this.publish(this.summary.details.storedId !== undefined)
  }

  /** The split training uses: held out, or the separate validation file. */
  splitRows(settings: Settings): Extract<SplitPlan, { ok: true }> {
    if (!this.dataset) throw new Error('Load a dataset before training.')
    const p = planSplit(this.dataset, this.validation, { validationFraction: settings.valSplit, seed: settings.seed })
    if (!p.ok) throw new Error(p.error.message)
    return p
  }

  private async postList(): Promise<void> {
    const store = await this.store()
    const metas = store ? await store.list().catch(() => []) : []
    const list: StoredDatasetInfo[] = metas.map((m) => ({
      id: m.id,
      name: m.name,
      kind: m.kind,
      bytes: m.bytes,
      rows: m.rows,
      task: m.task,
      source: m.source,
      lastUsedAt: m.lastUsedAt,
      ...(m.validationName ? { validationName: m.validationName } : {}),
    }))
    let usage: { used: number; quota: number } | undefined
    try {
      const est = await globalThis.navigator?.storage?.estimate?.()
      if (est?.usage !== undefined && est.quota !== undefined) usage = { used: est.usage, quota: est.quota }
    } catch {
      usage = undefined
    }
    this.post({ type: 'datasets', list, currentId: this.currentId, ...(usage ? { usage } : {}) })
  }

  /** Opens a stored dataset; false when it is not there. */
  private async select(id: string): Promise<boolean> {
    const store = await this.store()
    const meta = store ? await store.getMeta(id) : undefined
    if (!store || !meta) {
      this.post({ type: 'error', message: `The stored dataset ${id} is no longer in this browser. Upload the file again.`, where: 'storage' })
      await this.postList()
      return false
    }
    this.post({ type: 'progress', task: 'dataset', done: 0, total: 1, label: `Opening ${meta.name} from this browser` })
    if (meta.kind === 'images') {
      if (!meta.images) return false
      this.useImages(id, meta.name, meta.images, meta.source, store)
    } else {
      const rec = await store.getTable(id)
      if (!rec) return false
      let d = rec.dataset
      if (meta.roles) {
        const r = withRoles(d, meta.roles)
        if (r.ok) d = r.dataset
      }
      let v = rec.validation ?? null
      if (v && meta.roles) {
        const r = withRoles(v, meta.roles)
        v = r.ok ? r.dataset : null
      }
      this.dataset = d
      this.validation = v
      this.imageSet = null
      this.currentId = id
      this.origin = meta.source
    }
    await store.markUsed(id)
    this.publish(true)
    await this.postList()
    return true
  }

  private async remove(id: string): Promise<void> {
    const store = await this.store()
    if (store) await store.delete(id)
    this.memoryImages.delete(id)
    if (id === this.currentId) {
      // Still loaded for this session; only the stored copy is gone.
      this.currentId = null
      if (this.summary?.details) this.summary = { ...this.summary, details: withoutStoredId(this.summary.details) }
      if (this.summary) this.post({ type: 'dataset', summary: this.summary })
    }
    await this.postList()
  }

  private async restore(fallback: { url: string; name: string }): Promise<void> {
    const store = await this.store()
    const last = store ? await store.lastUsed().catch(() => undefined) : undefined
    if (last && (await store?.getMeta(last))) {
      try {
        if (await this.select(last)) return
      } catch (e) {
        this.post({ type: 'error', message: `The last dataset could not be opened from this browser (${errorText(e)}); loading the sample instead.`, where: 'storage' })
      }
    }
    await this.load({ type: 'loadDataset', source: { kind: 'url', url: fallback.url, name: fallback.name } })
  }

  // ---- images ----

  private async loadImages(source: ImageUpload): Promise<void> {
    if (!this.decoder) {
      throw new Error('This browser cannot decode images in a background thread (it needs createImageBitmap and OffscreenCanvas). Use a recent Chrome, Edge or Firefox.')
    }
    const name = source.kind === 'files' ? source.name : source.kind === 'zip' ? source.file.name : source.name
    let plan: ImageFilePlan
    let read: (path: string) => Promise<Uint8Array | undefined>
    let bytes: number
    this.post({ type: 'progress', task: 'dataset', done: 0, total: 1, label: `Reading ${name}` })
    if (source.kind === 'files') {
      const entries = source.files.map((f) => ({ path: f.path, size: f.file.size }))
      const planned = planImageFiles(name, entries, this.imageLimits)
      if (!planned.ok) return this.fail(planned.error, 'images')
      plan = planned.plan
      const byPath = new Map(source.files.map((f) => [f.path.replace(/\\/g, '/'), f.file]))
      read = async (p) => {
        const f = byPath.get(p)
        return f ? new Uint8Array(await f.arrayBuffer()) : undefined
      }
      bytes = source.files.reduce((s, f) => s + f.file.size, 0)
    } else {
      let zip: Uint8Array
      if (source.kind === 'zip') {
        if (source.file.size > this.imageLimits.maxTotalBytes) {
          return this.fail({ file: name, message: `${name} is ${mb(source.file.size)}; the limit is ${mb(this.imageLimits.maxTotalBytes)}. Upload fewer or smaller images.` }, 'images')
        }
        zip = new Uint8Array(await source.file.arrayBuffer())
      } else {
        const res = await this.fetchFn(source.url)
        if (!res.ok) throw new Error(`Could not download ${name} (HTTP ${res.status}).`)
        zip = new Uint8Array(await res.arrayBuffer())
      }
      const unzipped = readImageZip(name, zip, this.imageLimits)
      if (!unzipped.ok) return this.fail(unzipped.error, 'images')
      plan = unzipped.plan
      read = async (p) => unzipped.files.get(p)
      bytes = zip.length
    }
    const id = datasetId('images', name, bytes)
    const origin = source.kind === 'url' ? `sample: ${name}` : `${source.kind === 'zip' ? 'file' : 'folder'}: ${name}`
    const store = await this.store()
    const now = Date.now()
    const meta: StoredDatasetMeta = { id, name, kind: 'images', bytes, rows: 0, task: 'image-classification', source: origin, createdAt: now, lastUsedAt: now }
    const memory: StoredImage[] = []
    let stored = false
    if (store) {
      try {
        await store.beginImages(meta)
        stored = true
      } catch {
        stored = false
      }
    }
    let storageFull = false
    let written = 0 // images already in storage
    const keep = (batch: { index: number; image: StoredImage }[]) => batch.forEach((b) => (memory[b.index] = b.image))
    const add = async (batch: { index: number; image: StoredImage }[]): Promise<void> => {
      if (!stored || !store) return keep(batch)
      try {
        await store.addImages(id, batch)
        written += batch.length
      } catch (e) {
        if (!isQuotaExceeded(e)) throw e
        // Storage is full: keep the images in memory for this visit instead, those written so far included.
        storageFull = true
        stored = false
        const earlier = await store.getImages(id, Array.from({ length: written }, (_, i) => i))
        earlier.forEach((image, index) => (memory[index] = image))
        keep(batch)
        await store.delete(id).catch(() => undefined)
      }
    }
    const result = await importImages(name, plan, read, this.decoder, { add }, (done, total) =>
      this.post({ type: 'progress', task: 'dataset', done, total, label: `Checking images in ${name}: ${done} of ${total}` }),
    )
    if (!result.ok) {
      if (stored && store) await store.delete(id).catch(() => undefined)
      return this.fail(result.error, 'images')
    }
    if (storageFull) this.post({ type: 'error', message: datasetNotKeptMessage(name), where: `storage ${name}` })
    const info = result.info
    if (stored && store) {
      await store.updateMeta(id, { rows: info.count, images: info })
      await store.markUsed(id)
    } else this.memoryImages.set(id, memory)
    this.useImages(id, name, info, origin, stored ? store : null)
    this.publish(stored)
    if (info.undecodable.length > 0) {
      const names = info.undecodable.slice(0, 5).map((u) => u.path).join(', ')
      this.post({
        type: 'error',
        message: `${info.undecodable.length} image${info.undecodable.length === 1 ? '' : 's'} in ${name} could not be decoded and ${info.undecodable.length === 1 ? 'was' : 'were'} left out: ${names}${info.undecodable.length > 5 ? ', …' : ''}. The other ${info.count} images are loaded; replace or remove the broken files.`,
        where: `images ${name}, file ${info.undecodable[0]?.path ?? ''}`,
      })
    }
    await this.postList()
  }

  private useImages(id: string, name: string, info: ImageSetInfo, origin: string, store: DatasetStore | null): void {
    const memory = this.memoryImages.get(id)
    const source: ImageSource = {
      count: info.count,
      get: async (indices) => {
        if (store) return store.getImages(id, indices)
        return indices.map((i) => {
          const img = memory?.[i]
          if (!img) throw new Error(`Image ${i} of ${name} is not loaded.`)
          return img
        })
      },
    }
    this.imageSet = { id, name, info, source }
    this.dataset = null
    this.validation = null
    this.currentId = id
    this.origin = origin
  }

  /** A few images, one per class in turn, as loaded and as augmented. */
  /** The first images of each class as training step `step` would augment them: the loop's
   *  own augmentBatch with the current settings and augmentSeed(seed, step, 0). */
  private async augmentPreview(count: number, size: number, step: number): Promise<void> {
    const set = this.imageSet
    if (!set || !this.decoder) throw new Error('Load an image dataset to preview augmentation.')
    const indices = previewIndices(set.info, count)
    const batch = await loadImageBatch(set.source, indices, this.decoder, { size, norm: UNIT })
    const x = tf.tensor4d(batch.x, [batch.n, size, size, 3])
    const s = this.augment
    const opts = augmentOptions(s)
    const aug = augmentBatch(x, opts ?? NO_AUGMENT, augmentSeed(s.seed, step, 0), UNIT)
    const note = opts
      ? `The draws of training step ${step + 1} (seed ${s.seed}) applied to these images: ${describeAugment(s)}. Validation images are never augmented. Augmented images differ at every step, so frozen blocks (head only included) run on each training batch instead of once per image: epochs take longer.`
      : 'Augmentation is off, so training sees the images as loaded. Turn on flips, shift and crop, rotation or colour jitter under Advanced settings, Image augmentation, in step 3.'
    const augData = await aug.data()
    tf.dispose([x, aug])
    const per = size * size
    const toRgba = (src: ArrayLike<number>, k: number) => {
      const out = new Uint8ClampedArray(per * 4)
      for (let i = 0; i < per; i++) {
        for (let c = 0; c < 3; c++) out[i * 4 + c] = Math.round(255 * (src[(k * per + i) * 3 + c] as number))
        out[i * 4 + 3] = 255
      }
      return out
    }
    const samples = indices.map((_, k) => ({
      label: set.info.classes[batch.labels[k] as number]?.name ?? '?',
      original: toRgba(batch.x, k),
      augmented: toRgba(augData, k),
    }))
    this.post({ type: 'augmentPreview', size, samples, note })
  }

  /** Builds and posts the summary of what is current. */
  private publish(stored: boolean): void {
    const storedId = stored && this.currentId ? { storedId: this.currentId } : {}
    if (this.imageSet) {
      const { info, name } = this.imageSet
      const { labels: _labels, ...rest } = info
      void _labels
      const left = [...info.undecodable.map((u) => ({ ...u, reason: `could not be decoded (${u.reason})` })), ...info.skipped]
      this.summary = {
        id: this.imageSet.id,
        name,
        task: 'image-classification',
        rows: info.count,
        rejected: left.length,
        rejectedReasons: left.slice(0, 10).map((l, i) => ({ row: i + 1, reason: `${l.path}: ${l.reason}` })),
        warnings: imageWarnings(info),
        classes: info.classes.map((c) => ({ name: c.name, count: c.count })),
        preview: [],
        columns: ['image', 'label'],
        bytes: info.storedBytes,
        source: this.origin,
        details: { kind: 'images', ...storedId, allColumns: ['image', 'label'], roles: { labels: ['label'] }, lengthHistogram: [], images: rest },
      }
      this.post({ type: 'dataset', summary: this.summary })
      return
    }
    const d = this.dataset
    if (!d) return
    const task = toTask(d) ?? 'text-classification'
    const labelCol = d.roles.labels[0]
    // Preview: what is read and what is predicted (features too: the playground starts from row 1).
    const cols = [d.roles.text, ...d.roles.labels, d.roles.target, ...d.roles.features].filter((c): c is string => c !== undefined)
    const idx = cols.map((c) => d.columns.indexOf(c))
    const split = planSplit(d, this.validation, this.split)
    const details: DatasetDetails = {
      kind: 'table',
      ...storedId,
      allColumns: d.columns,
      roles: { labels: d.roles.labels, features: d.roles.features, ...(d.roles.text !== undefined ? { text: d.roles.text } : {}), ...(d.roles.target !== undefined ? { target: d.roles.target } : {}) },
      lengthHistogram: lengthHistogram(d),
      ...(d.roles.target && !d.roles.labels.length ? { targetHistogram: valueHistogram(d, d.roles.target) } : {}),
      ...(d.textLengths ? { lengths: d.textLengths } : {}),
      ...(split.ok ? { split: split.summary } : { splitError: split.error.message }),
    }
    this.summary = {
      id: this.currentId ?? `${d.name}:${d.bytes}`,
      name: d.name,
      task,
      rows: d.rows.length,
      rejected: d.rejectedCount,
      rejectedReasons: d.rejected.slice(0, 10),
      warnings: d.warnings.map((w) => w.message),
      classes: labelCol ? (d.classes[labelCol] ?? []).map((c) => ({ name: c.label, count: c.count })) : [],
      preview: d.rows.slice(0, 8).map((r) => idx.map((i) => (r[i] ?? '').slice(0, 300))),
      columns: cols,
      bytes: d.bytes,
      source: this.origin,
      details,
    }
    this.post({ type: 'dataset', summary: this.summary })
  }
}

/** The task the studio trains for this dataset; null when it cannot train it. */
export function toTask(d: Dataset): TaskKind | null {
  if (d.task === 'language-modelling') return 'language-modelling'
  if (d.task === 'text-classification' || (d.task === 'multitask' && d.roles.text)) return 'text-classification'
  if (d.task === 'regression') return d.roles.text ? 'text-regression' : 'tabular-regression'
  if (d.task === 'tabular-classification') return 'tabular-classification'
  return null
}

/** A name for an error whose message is empty (IndexedDB's often are). */
function errorName(e: unknown): string {
  const name = typeof e === 'object' && e !== null ? (e as { name?: unknown }).name : undefined
  return typeof name === 'string' && name ? name : 'no reason given'
}

function imageWarnings(info: ImageSetInfo): string[] {
  const w: string[] = info.layoutNote ? [info.layoutNote] : []
  const few = info.classes.filter((c) => c.count < 5)
  if (few.length) w.push(`Few images in ${few.map((c) => `"${c.name}" (${c.count})`).join(', ')}: too few to learn or to validate. Add images.`)
  const unused = unusedFilesNote(info) // the images that could not be decoded too: the "rejected" count beside it
  if (unused) w.push(unused)
  if (info.minSide < 16) w.push(`Some images are only ${info.minSide} pixels on a side; they will be scaled up.`)
  return w
}

/** Up to `count` indices, cycling through the classes so each shows. */
function pickAugment(s: Settings): AugmentSettings & { seed: number } {
  return { augFlip: s.augFlip, augShift: s.augShift, augRotate: s.augRotate, augColor: s.augColor, seed: s.seed }
}

function previewIndices(info: ImageSetInfo, count: number): number[] {
  const byClass = info.classes.map(() => [] as number[])
  info.labels.forEach((l, i) => byClass[l]?.push(i))
  const out: number[] = []
  for (let round = 0; out.length < Math.min(count, info.count); round++) {
    for (const list of byClass) {
      const i = list[round]
      if (i !== undefined && out.length < count) out.push(i)
    }
  }
  return out
}

function withoutStoredId(d: DatasetDetails): DatasetDetails {
  const { storedId: _id, ...rest } = d
  void _id
  return rest
}

/** Sizes in progress labels, written as everywhere else (src/format). */
const mb = formatBytes

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e)
}
