/**
 * The files of an image upload that were left out, for the dataset summary: every one counted
 * (the summary's "rejected" count is the same number) and named by what was wrong with it, the
 * images that could not be decoded among them, so the summary agrees with the count beside it
 * and with the alert that names the broken images.
 */
import { formatCount } from '../../../format/format'
import type { ImageSetInfo } from './types'

const NAMED = 5 // paths named per reason; the rest are counted

export function unusedFilesNote(info: Pick<ImageSetInfo, 'undecodable' | 'skipped'>): string | null {
  const left = [
    ...info.undecodable.map((u) => ({ path: u.path, reason: u.reason.startsWith('could not be decoded') ? u.reason : `could not be decoded (${u.reason})` })),
    ...info.skipped,
  ]
  if (left.length === 0) return null
  const byReason = new Map<string, string[]>()
  for (const f of left) byReason.set(f.reason, [...(byReason.get(f.reason) ?? []), f.path])
  const groups = [...byReason].map(([reason, paths]) => {
    const named = paths.slice(0, NAMED).join(', ')
    return `${reason}: ${paths.length > NAMED ? `${named} and ${formatCount(paths.length - NAMED)} more` : named}`
  })
  const broken = info.undecodable.length
  const fix = broken ? ` Replace or remove the ${broken === 1 ? 'image' : 'images'} that could not be decoded.` : ''
  return `${formatCount(left.length)} ${left.length === 1 ? 'file was' : 'files were'} not used — ${groups.join('; ')}.${fix}`
}
