/** Multitask loss weights: a comma list of numbers 0–100, one per label column in order
 *  ("1,0.5"); empty means every task weighs 1, and tasks past the list's end weigh 1. */

export const MAX_TASKS = 8

export function readTaskWeights(raw: string): number[] | null {
  const t = raw.trim()
  if (t === '') return []
  const parts = t.split(',').map((p) => p.trim())
  if (parts.length > MAX_TASKS) return null
  const out: number[] = []
  for (const p of parts) {
    if (!/^(\d+\.?\d*|\.\d+)$/.test(p)) return null
    const w = Number(p)
    if (!(w >= 0 && w <= 100)) return null
    out.push(w)
  }
  return out
}

/** The schema's parse: canonical text ("1,0.5"), or null to refuse. */
export function parseTaskWeights(raw: string): string | null {
  const w = readTaskWeights(raw)
  return w ? w.map((x) => String(x)).join(',') : null
}

/** One weight per task (defaults to 1). */
export function taskWeightsFor(raw: string, tasks: number): number[] {
  const w = readTaskWeights(raw) ?? []
  return Array.from({ length: tasks }, (_, i) => w[i] ?? 1)
}
