/**
 * Where the class folders are among an upload's image paths: below any folders every image
 * shares ("my data/images/cats/1.png" has its classes two levels down), and inside split
 * folders when the upload is laid out as train/, val/ and test/ of class folders — then the
 * classes are the folders inside them, not "train" and "val".
 */

/** Folder names that mean a split of the data, not a class. */
const SPLIT_NAMES = new Set(['train', 'training', 'val', 'valid', 'validation', 'dev', 'test', 'testing', 'eval'])
const TRAIN_NAMES = new Set(['train', 'training'])

export interface ClassLayout {
  /** Folders above the class folders (or above the split folders) that every image shares, with a trailing "/"; '' when none. */
  prefix: string
  /** Set when the class folders sit inside split folders. */
  split?: {
    /** Split folders whose images are used (the training folder when there is one, else all). */
    used: string[]
    /** Split folders left out, with how many images each holds. */
    leftOut: { folder: string; images: number }[]
  }
}

/** Finds the layout from the paths of the images ('/'-separated, clutter already removed). */
export function findClassLayout(imagePaths: readonly string[]): ClassLayout {
  const segs = imagePaths.map((p) => p.split('/'))
  let depth = 0
  // Strip a shared folder while every image still has a class folder and a file below it.
  while (segs.length > 0 && segs.every((s) => s.length >= depth + 3 && s[depth] === segs[0]![depth])) depth++
  const prefix = segs[0] && depth > 0 ? `${segs[0].slice(0, depth).join('/')}/` : ''
  const firsts = new Set(segs.map((s) => s[depth] ?? ''))
  const isSplitLayout =
    firsts.size >= 2 && [...firsts].every((f) => SPLIT_NAMES.has(f.toLowerCase())) && segs.every((s) => s.length >= depth + 3)
  if (!isSplitLayout) return { prefix }
  const train = [...firsts].filter((f) => TRAIN_NAMES.has(f.toLowerCase()))
  const used = train.length > 0 ? train : [...firsts]
  const counts = new Map<string, number>()
  for (const s of segs) {
    const f = s[depth] as string
    if (!used.includes(f)) counts.set(f, (counts.get(f) ?? 0) + 1)
  }
  const leftOut = [...counts].sort(([a], [b]) => (a < b ? -1 : 1)).map(([folder, images]) => ({ folder, images }))
  return { prefix, split: { used: used.sort(), leftOut } }
}

/** The class folder and the split folder of one image path under a layout; the split is
 *  undefined when the layout has none. */
export function placeInLayout(path: string, layout: ClassLayout): { rel: string; split?: string } {
  const rel = path.startsWith(layout.prefix) ? path.slice(layout.prefix.length) : path
  if (!layout.split) return { rel }
  const slash = rel.indexOf('/')
  if (slash <= 0) return { rel }
  return { rel: rel.slice(slash + 1), split: rel.slice(0, slash) }
}

/** What the page says about a split layout: which classes came from where and what was left out. */
export function describeSplitLayout(layout: ClassLayout, classes: readonly string[]): string | undefined {
  const split = layout.split
  if (!split) return undefined
  const quoted = (xs: readonly string[]) => xs.map((x) => `"${x}"`).join(' and ')
  const from = `The classes are the folders inside ${quoted(split.used)} (${classes.join(', ')}).`
  if (split.leftOut.length === 0) return from
  const left = split.leftOut.map((l) => `${l.images} image${l.images === 1 ? '' : 's'} in "${l.folder}"`).join(' and ')
  return `${from} The ${left} ${split.leftOut.length === 1 && split.leftOut[0]!.images === 1 ? 'was' : 'were'} left out: the studio holds out its own validation images from ${quoted(split.used)}.`
}
