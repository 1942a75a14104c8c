/**
 * Which uploaded files are images of which class: one folder per class ("cats/1.png"),
 * from a .zip or a picked folder. Refuses paths that climb out of the folder and uploads
 * past the size and count limits (zip bombs) before anything is decompressed.
 */
import type { DataError } from '../types'
import type { ImageMime, ImageRejection } from './types'
import { formatBytes, formatCount } from '../../../format/format'
import { describeSplitLayout, findClassLayout, placeInLayout } from './classFolders'

export interface ImageLimits {
  /** Most files (images or not) in one upload. */
  maxFiles: number
  /** Most uncompressed bytes in all. */
  maxTotalBytes: number
  /** Most bytes for one image. */
  maxFileBytes: number
  /** An entry over 1 MB that shrank more than this much when zipped is a bomb, not an image. */
  maxRatio: number
}

export const DEFAULT_IMAGE_LIMITS: ImageLimits = {
  maxFiles: 20_000,
  maxTotalBytes: 256 * 1024 * 1024,
  maxFileBytes: 16 * 1024 * 1024,
  maxRatio: 100,
}

export interface FileEntry {
  path: string
  /** Uncompressed size (as declared by the zip, or the file's size). */
  size: number
  /** Compressed size inside a zip. */
  compressedSize?: number
}

export interface ImageFilePlan {
  /** Images to read, each with its class index. */
  images: { path: string; mime: ImageMime; label: number }[]
  classes: string[]
  /** Files that are not images, or not inside a class folder. */
  skipped: ImageRejection[]
  /** Where the classes came from when the upload has train/ and val/ folders, and what was left out. */
  layoutNote?: string
}

export type PlanResult = { ok: true; plan: ImageFilePlan } | { ok: false; error: DataError }

const MIME: Record<string, ImageMime> = { png: 'image/png', jpg: 'image/jpeg', jpeg: 'image/jpeg', webp: 'image/webp', gif: 'image/gif' }

export function mimeFromName(path: string): ImageMime | undefined {
  const dot = path.lastIndexOf('.')
  return dot < 0 ? undefined : MIME[path.slice(dot + 1).toLowerCase()]
}

/** Why a path is unsafe (it could write or read outside the upload's folder), or undefined. */
export function unsafePath(path: string): string | undefined {
  if (path.includes('\0')) return 'has a NUL character in its name'
  if (/^[a-zA-Z]:/.test(path) || path.startsWith('/') || path.startsWith('\\')) return 'is an absolute path'
  if (path.split(/[\\/]/).some((seg) => seg === '..')) return 'climbs out of the folder with ".."'
  return undefined
}

/** Files every OS adds that are not data. */
function isClutter(path: string): boolean {
  const segs = path.split('/')
  const base = segs[segs.length - 1] ?? ''
  return segs.some((s) => s === '__MACOSX' || (s.startsWith('.') && s.length > 1)) || base === 'Thumbs.db' || base === 'desktop.ini'
}

/**
 * Checks the limits and paths, then assigns classes: the first folder below the upload's
 * common top folder is the class. Classes are sorted by name so label indices do not
 * depend on file order.
 */
export function planImageFiles(file: string, entries: readonly FileEntry[], limits: ImageLimits = DEFAULT_IMAGE_LIMITS): PlanResult {
  const fail = (message: string, field?: string): PlanResult => ({ ok: false, error: { file, message, ...(field ? { field } : {}) } })
  if (entries.length > limits.maxFiles) {
    return fail(`${file} has ${formatCount(entries.length)} files; the limit is ${formatCount(limits.maxFiles)}. Upload fewer images (a sample of each class).`)
  }
  let total = 0
  for (const e of entries) {
    const bad = unsafePath(e.path)
    if (bad) return fail(`${file} was refused: the entry "${e.path}" ${bad}. Make the archive again from the class folders themselves.`, e.path)
    total += e.size
    if (total > limits.maxTotalBytes) {
      return fail(`${file} unpacks to more than ${mb(limits.maxTotalBytes)} (the limit), so it was not unpacked. Upload fewer or smaller images.`)
    }
    const c = e.compressedSize
    if (c !== undefined && e.size > 1024 * 1024 && e.size > limits.maxRatio * Math.max(1, c)) {
      return fail(`${file} was refused: "${e.path}" would unpack from ${kb(c)} to ${mb(e.size)}, which is what a zip bomb does, not an image.`, e.path)
    }
  }

  const sizes = new Map(entries.map((e) => [e.path.replace(/\\/g, '/'), e.size]))
  const paths = [...sizes.keys()].filter((p) => !p.endsWith('/'))
  // A zip of a folder ("emoji/faces/a.png"), or of train/ and val/ folders of class folders,
  // has its classes further down.
  const layout = findClassLayout(paths.filter((p) => !isClutter(p) && mimeFromName(p)))

  const skipped: ImageRejection[] = []
  const found: { path: string; mime: ImageMime; cls: string }[] = []
  for (let i = 0; i < paths.length; i++) {
    const path = paths[i] as string
    if (isClutter(path)) continue
    const mime = mimeFromName(path)
    if (!mime) {
      skipped.push({ path, reason: 'not a PNG, JPEG, WebP or GIF image' })
      continue
    }
    const { rel, split } = placeInLayout(path, layout)
    if (split !== undefined && !layout.split?.used.includes(split)) continue // named in the layout note
    const slash = rel.indexOf('/')
    if (slash <= 0) {
      skipped.push({ path, reason: 'not inside a class folder' })
      continue
    }
    const size = sizes.get(path) ?? 0
    if (size > limits.maxFileBytes) {
      skipped.push({ path, reason: `larger than ${mb(limits.maxFileBytes)}` })
      continue
    }
    found.push({ path, mime, cls: rel.slice(0, slash) })
  }
  const classes = [...new Set(found.map((f) => f.cls))].sort()
  if (found.length === 0) {
    return fail(`${file} has no images in class folders. Put the PNG, JPEG, WebP or GIF images of each class in a folder named after the class (cats/1.png, dogs/1.png).`)
  }
  if (classes.length < 2) {
    return fail(`${file} has only one class folder ("${classes[0] ?? ''}"). A classifier needs at least 2 classes: add a folder of images for another class.`, classes[0])
  }
  const index = new Map(classes.map((c, i) => [c, i]))
  const layoutNote = describeSplitLayout(layout, classes)
  return {
    ok: true,
    plan: { images: found.map((f) => ({ path: f.path, mime: f.mime, label: index.get(f.cls) as number })), classes, skipped, ...(layoutNote ? { layoutNote } : {}) },
  }
}

const mb = formatBytes
const kb = formatBytes
