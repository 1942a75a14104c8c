/** One typed row of feature values (the playground's form) → numbers in column order, or a
 *  message that names the first field that is not a number. */
export function parseRow(columns: readonly string[], values: Record<string, string>): { ok: true; x: Float32Array } | { ok: false; message: string } {
  const x = new Float32Array(columns.length)
  for (const [j, col] of columns.entries()) {
    const raw = (values[col] ?? '').trim()
    const v = Number(raw)
    if (raw === '' || !Number.isFinite(v)) {
      return { ok: false, message: `Feature "${col}" is ${raw === '' ? 'empty' : `not a number ("${raw.slice(0, 40)}")`}: type a number for every feature column.` }
    }
    x[j] = v
  }
  return { ok: true, x }
}
