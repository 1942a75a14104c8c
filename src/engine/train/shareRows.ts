/**
 * How the rows of a batch or a pass are shared among the run's engine workers (dataParallel.ts):
 * as evenly as they go, the first shares one row longer where they do not go evenly, in row order
 * (share 0 is the training loop's own, then one a worker). With two workers that is the loop's
 * ceil(n/2) rows and the other's floor(n/2), as the split has always been.
 */
import type { TensorData } from './dataParallel'

/** Rows a share of `n` rows split `k` ways: the first n mod k get one more. Shares of 0 rows
 *  where n < k. */
export function shareSizes(n: number, k: number): number[] {
  if (!Number.isInteger(n) || n < 0) throw new Error(`Cannot share ${n} rows`)
  if (!Number.isInteger(k) || k < 1) throw new Error(`Cannot share rows among ${k} workers`)
  const base = Math.floor(n / k)
  const extra = n % k
  return Array.from({ length: k }, (_, i) => base + (i < extra ? 1 : 0))
}

/** Rows [from, from + count) of a rows-first array, in an array of their own (a worker message
 *  copies a view's whole buffer, so a share travels without the other shares' rows). */
export function rowsOfData(t: TensorData, from: number, count: number): TensorData {
  const rows = t.shape[0] ?? 0
  if (from < 0 || count < 0 || from + count > rows) throw new Error(`Rows ${from}–${from + count} of an array of ${rows} rows`)
  const width = t.shape.slice(1).reduce((a, b) => a * b, 1)
  return { shape: [count, ...t.shape.slice(1)], dtype: t.dtype, data: t.data.slice(from * width, (from + count) * width) }
}

/** Every array of a rows-first record cut into consecutive shares of `sizes` rows. */
export function splitRows(batch: Record<string, TensorData>, sizes: readonly number[]): Record<string, TensorData>[] {
  let from = 0
  return sizes.map((count) => {
    const share = Object.fromEntries(Object.entries(batch).map(([k, t]) => [k, rowsOfData(t, from, count)]))
    from += count
    return share
  })
}
