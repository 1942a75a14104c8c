import * as tf from '@tensorflow/tfjs'
import type { Settings } from '../../settings/types'
import type { Body } from '../models/body'
import { Tuning } from '../train/fineTune'
import type { WeightMap } from '../tuning/interpolate'
import { crc32 } from './crc32'

/** `tuning.json` + `tuning.bin`: what a run added to the base model (task head, LoRA,
 *  adapters) and, for an adapter-only export, the body weights it changed — enough to
 *  rebuild the run's Tuning on top of a model. */
export const TUNING_FORMAT = 'studio-tuning'
export const TUNING_FORMAT_VERSION = 1

export type ExportChoice = 'merged' | 'adapter' | 'interpolated'
export type PackSection = 'body' | 'head' | 'lora' | 'adapters'

export interface PackWeight {
  section: PackSection
  name: string
  shape: number[]
  dtype: 'float32'
}

export interface TuningJson {
  format: typeof TUNING_FORMAT
  version: typeof TUNING_FORMAT_VERSION
  choice: ExportChoice
  alpha: number // the α the exported weights are at (1 = fully tuned)
  base: { title: string; fingerprint: string } // the pretrained model the pack applies to
  settings: Settings // as trained
  method: Settings['method'] // what to rebuild: 'lora' becomes 'full' once LoRA is folded in
  task: 'text-classification' | 'text-regression' | 'language-modelling' | 'image-classification'
  classes: string[] | null
  weights: PackWeight[]
}

export interface TuningPack {
  json: TuningJson
  values: Map<string, Float32Array> // key `${section}/${name}`
}

const key = (section: PackSection, name: string) => `${section}/${name}`

/** A short checksum of a set of weights (names and bits), to tell whether an adapter-only
 *  file was made for the model that is loaded. */
export async function fingerprintWeights(weights: WeightMap): Promise<string> {
  let c = 0
  const enc = new TextEncoder()
  for (const [name, t] of weights) {
    c = crc32(enc.encode(name), c)
    const d = await t.data<'float32'>()
    c = crc32(new Uint8Array(d.buffer, d.byteOffset, d.byteLength), c)
  }
  return c.toString(16).padStart(8, '0')
}

/** Serialises pack weights back to back in float32, in the order of `json.weights`. */
export async function packBytes(entries: { section: PackSection; name: string; tensor: tf.Tensor }[]): Promise<{ weights: PackWeight[]; bytes: Uint8Array }> {
  const total = entries.reduce((n, e) => n + e.tensor.size, 0)
  const data = new Float32Array(total)
  let at = 0
  const weights: PackWeight[] = []
  for (const e of entries) {
    const v = await e.tensor.data<'float32'>()
    data.set(v, at)
    at += v.length
    weights.push({ section: e.section, name: e.name, shape: [...e.tensor.shape], dtype: 'float32' })
  }
  return { weights, bytes: new Uint8Array(data.buffer) }
}

/** Checks tuning.json's shape and splits tuning.bin into named arrays. */
export function readTuningPack(jsonBytes: Uint8Array, bin: Uint8Array | undefined, fileName: string): TuningPack {
  let j: Partial<TuningJson>
  try {
    j = JSON.parse(new TextDecoder().decode(jsonBytes)) as Partial<TuningJson>
  } catch {
    throw new Error(`${fileName}: tuning.json is not valid JSON; the file is damaged: export the model again`)
  }
  if (!j || typeof j !== 'object' || j.format !== TUNING_FORMAT) throw new Error(`${fileName}: tuning.json is not a ${TUNING_FORMAT} file`)
  if (j.version !== TUNING_FORMAT_VERSION) throw new Error(`${fileName}: tuning.json has version ${String(j.version)}; this studio reads version ${TUNING_FORMAT_VERSION}`)
  if (!Array.isArray(j.weights) || !j.settings || typeof j.settings !== 'object' || !j.base || !(['text-classification', 'text-regression', 'language-modelling', 'image-classification'] as unknown[]).includes(j.task)) {
    throw new Error(`${fileName}: tuning.json lacks weights, settings, base or task`)
  }
  if (j.classes !== null && !(Array.isArray(j.classes) && j.classes.every((c) => typeof c === 'string'))) throw new Error(`${fileName}: tuning.json has unreadable classes`)
  if (!bin) throw new Error(`${fileName}: tuning.json is there but tuning.bin is missing`)
  const sizes = j.weights.map((w) => {
    const ok = w && typeof w.name === 'string' && ['body', 'head', 'lora', 'adapters'].includes(w.section) && Array.isArray(w.shape) && w.shape.every((d) => Number.isInteger(d) && d > 0 && d < 2 ** 24) && w.dtype === 'float32'
    if (!ok) throw new Error(`${fileName}: tuning.json lists an unreadable weight (${JSON.stringify(w).slice(0, 80)})`)
    return w.shape.reduce((a, b) => a * b, 1)
  })
  const expected = 4 * sizes.reduce((a, b) => a + b, 0)
  if (bin.length !== expected) throw new Error(`${fileName}: tuning.bin holds ${bin.length} bytes but tuning.json lists ${expected}`)
  const floats = new Float32Array(bin.slice().buffer)
  const values = new Map<string, Float32Array>()
  let at = 0
  j.weights.forEach((w, i) => {
    const n = sizes[i]!
    values.set(key(w.section, w.name), floats.slice(at, at + n))
    at += n
  })
  return { json: j as TuningJson, values }
}

/** Rebuilds the run's Tuning on `model` from a pack; writes any body weights into the model
 *  (the caller puts the model at its base weights first). Throws before changing anything
 *  when a weight is missing or has the wrong shape. */
export function restoreTuning(model: Body, pack: TuningPack): Tuning {
  const { json, values } = pack
  const shapes = new Map(json.weights.map((w) => [key(w.section, w.name), w.shape] as const))
  for (const w of json.weights.filter((x) => x.section === 'body')) {
    const v = (() => {
      try {
        return model.get(w.name)
      } catch {
        throw new Error(`The file changes the body weight ${w.name}, which the loaded model does not have`)
      }
    })()
    if (!tf.util.arraysEqual(v.shape, w.shape)) throw new Error(`Body weight ${w.name} is [${w.shape.join(', ')}] in the file but [${v.shape.join(', ')}] in the model`)
  }
  const need = json.task === 'language-modelling' ? null : json.task === 'text-regression' ? 'regression' : Math.max(2, json.classes?.length ?? 2)
  const tuning = new Tuning(model, { ...json.settings, method: json.method }, need)
  try {
    const parts: [PackSection, readonly { name: string; variable: tf.Variable }[]][] = [
      ['head', tuning.head?.params ?? []],
      ['lora', tuning.lora?.params ?? []],
      ['adapters', tuning.adapters?.params ?? []],
    ]
    for (const [section, params] of parts) {
      for (const p of params) {
        const k = key(section, p.name)
        const shape = shapes.get(k)
        if (!shape) throw new Error(`The file has no ${section} weight ${p.name}, which these settings need`)
        if (!tf.util.arraysEqual(shape, p.variable.shape)) throw new Error(`${section} weight ${p.name} is [${shape.join(', ')}] in the file but [${p.variable.shape.join(', ')}] here`)
      }
    }
    for (const [section, params] of parts) for (const p of params) assignFrom(p.variable, values.get(key(section, p.name))!)
    for (const w of json.weights.filter((x) => x.section === 'body')) assignFrom(model.get(w.name), values.get(key('body', w.name))!)
    return tuning
  } catch (e) {
    tuning.dispose()
    throw e
  }
}

function assignFrom(v: tf.Variable, data: Float32Array): void {
  const t = tf.tensor(data, v.shape, 'float32')
  v.assign(t)
  t.dispose()
}
