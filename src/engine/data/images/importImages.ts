/**
 * Planned image files to stored images: each is decoded once to check it is an image
 * (undecodable ones are counted and named, not fatal), then its encoded bytes are handed
 * to the sink in batches. Nothing decoded is kept.
 */
import type { DataError } from '../types'
import type { ImageFilePlan } from './imageFiles'
import type { ImageDecoder, ImageRejection, ImageSetInfo, StoredImage } from './types'

export interface ImageSink {
  add(batch: { index: number; image: StoredImage }[]): Promise<void>
}

export type ImportResult = { ok: true; info: ImageSetInfo } | { ok: false; error: DataError }

const WRITE_BATCH = 64

export async function importImages(
  file: string,
  plan: ImageFilePlan,
  read: (path: string) => Promise<Uint8Array | undefined>,
  decoder: ImageDecoder,
  sink: ImageSink,
  onProgress?: (done: number, total: number) => void,
): Promise<ImportResult> {
  const undecodable: ImageRejection[] = []
  const labels: number[] = []
  const counts = plan.classes.map(() => 0)
  let minSide = Infinity
  let maxSide = 0
  let storedBytes = 0
  let pending: { index: number; image: StoredImage }[] = []
  const total = plan.images.length
  for (let i = 0; i < total; i++) {
    const { path, mime, label } = plan.images[i] as ImageFilePlan['images'][number]
    const bytes = await read(path)
    if (!bytes || bytes.length === 0) {
      undecodable.push({ path, reason: 'the file is empty' })
    } else {
      try {
        const { width, height } = await decoder.decode(bytes, mime)
        if (!(width > 0 && height > 0)) throw new Error('no pixels')
        minSide = Math.min(minSide, width, height)
        maxSide = Math.max(maxSide, width, height)
        pending.push({ index: labels.length, image: { bytes, mime, path, label } })
        labels.push(label)
        counts[label] = (counts[label] ?? 0) + 1
        storedBytes += bytes.length
      } catch {
        undecodable.push({ path, reason: `could not be decoded as ${mime.slice(6).toUpperCase()}` })
      }
    }
    if (pending.length >= WRITE_BATCH) {
      await sink.add(pending)
      pending = []
    }
    if (i % 16 === 15 || i === total - 1) onProgress?.(i + 1, total)
  }
  if (pending.length > 0) await sink.add(pending)
  const classes = plan.classes.map((name, i) => ({ name, count: counts[i] ?? 0 }))
  const kept = classes.filter((c) => c.count > 0)
  if (labels.length === 0) {
    return { ok: false, error: { file, message: `None of the ${total} images in ${file} could be decoded (first: ${undecodable[0]?.path ?? '?'}). Use PNG, JPEG, WebP or GIF files.` } }
  }
  if (kept.length < 2) {
    const only = kept[0]?.name ?? ''
    return { ok: false, error: { file, field: only, message: `Only the class "${only}" has images that could be decoded; a classifier needs at least 2 classes. Check the other folders' images.` } }
  }
  return { ok: true, info: { classes, count: labels.length, labels, minSide, maxSide, undecodable, skipped: plan.skipped, ...(plan.layoutNote ? { layoutNote: plan.layoutNote } : {}), storedBytes } }
}
