/**
 * What the sequence-classification export tests share (seqClsExport.test.ts: the merged
 * checkpoint; peftSeqCls.test.ts: the SEQ_CLS adapter): two rows of token ids with right padding
 * and a pad id (0) the decoders' class finds each row's last token by (the committed reference
 * outputs were computed on them), the held model's validation rows naming the head's classes or
 * scale, the studio's class logits for them, and the family's export unzipped.
 */
import * as tf from '@tensorflow/tfjs'
import { unzipSync } from 'fflate'
import type { Settings } from '../../settings/types'
import { hfFamily, type HeldHf } from '../session/families/hf'
import type { Encoded } from '../train/encoded'
import { FeatureCache } from '../train/featureCache'
import type { Tuning } from '../train/fineTune'
import { headLogits } from '../train/forward'

export const IDS = [
  [0, 5, 17, 3, 42, 8, 1, 29],
  [0, 60, 2, 33, 0, 0, 0, 0],
]
export const MASK = [
  [1, 1, 1, 1, 1, 1, 1, 1],
  [1, 1, 1, 1, 0, 0, 0, 0],
]

/** The rows as the held model's validation split: its classes, or (regression) a target scale of mean 3, std 2. */
export function holdRows(h: HeldHf, need: number | 'regression', classes: string[]): void {
  const n = IDS.length
  const seqLen = IDS[0]!.length
  const common = { n, seqLen, tokens: Int32Array.from(IDS.flat()), mask: Float32Array.from(MASK.flat()) }
  h.validationSplit = (need === 'regression' ? { kind: 'regression', ...common, values: new Float32Array(n), scale: { name: 'score', mean: 3, std: 2 } } : { kind: 'classification', ...common, labels: new Int32Array(n), classes }) as Encoded
}

/** The studio's class logits for the rows, through the loop's own head path. */
export async function studioLogits(h: HeldHf, tuning: Tuning, settings: Settings): Promise<number[]> {
  const out = tf.tidy(() => headLogits(h.body, tuning, { input: tf.tensor2d(IDS, undefined, 'int32'), mask: tf.tensor2d(MASK) }, new FeatureCache(0, false, { train: 0, val: 0 }), settings, false))
  const v = Array.from(await out.data())
  out.dispose()
  return v
}

/** The family's export of `choice`, unzipped. */
export async function exportZip(h: HeldHf, choice: 'merged' | 'adapter'): Promise<{ fileName: string; files: Record<string, Uint8Array> }> {
  const r = await hfFamily.export(h, { choice, alpha: 1, blend: () => { throw new Error('no blend') }, data: null, metrics: { base: null, tuned: null }, measureAt: async () => null, onProgress: () => {} })
  return { fileName: r.fileName, files: unzipSync(r.bytes) }
}
