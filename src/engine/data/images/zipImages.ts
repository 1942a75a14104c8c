/**
 * A .zip of class folders to image files. The central directory is read first (nothing
 * decompressed) so the limits and path checks in planImageFiles run before any inflating.
 */
import { unzipSync } from 'fflate'
import type { DataError } from '../types'
import { DEFAULT_IMAGE_LIMITS, planImageFiles, type FileEntry, type ImageFilePlan, type ImageLimits } from './imageFiles'

export type ZipResult =
  | { ok: true; plan: ImageFilePlan; files: Map<string, Uint8Array> }
  | { ok: false; error: DataError }

export function listZip(bytes: Uint8Array): FileEntry[] {
  const entries: FileEntry[] = []
  unzipSync(bytes, {
    filter: (f) => {
      entries.push({ path: f.name, size: f.originalSize, compressedSize: f.size })
      return false
    },
  })
  return entries
}

export function readImageZip(file: string, bytes: Uint8Array, limits: ImageLimits = DEFAULT_IMAGE_LIMITS): ZipResult {
  let entries: FileEntry[]
  try {
    entries = listZip(bytes)
  } catch (e) {
    return { ok: false, error: { file, message: `${file} is not a readable .zip archive (${e instanceof Error ? e.message : String(e)}). Make the archive again, or pick the folder instead.` } }
  }
  const planned = planImageFiles(file, entries, limits)
  if (!planned.ok) return planned
  const want = new Set(planned.plan.images.map((i) => i.path))
  let out: Record<string, Uint8Array>
  try {
    out = unzipSync(bytes, { filter: (f) => want.has(f.name.replace(/\\/g, '/')) })
  } catch (e) {
    return { ok: false, error: { file, message: `${file} could not be unpacked (${e instanceof Error ? e.message : String(e)}). Make the archive again.` } }
  }
  const files = new Map<string, Uint8Array>()
  for (const [name, data] of Object.entries(out)) files.set(name.replace(/\\/g, '/'), data)
  return { ok: true, plan: planned.plan, files }
}
