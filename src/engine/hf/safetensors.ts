/**
 * Safetensors, the Hugging Face weight format: an 8-byte little-endian header length N, N
 * bytes of JSON (`{name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {…}}`,
 * offsets relative to the end of the header), then the raw little-endian tensor bytes.
 * The reader converts F32, F16 and BF16 to float32 (tfjs has no half-precision tensors);
 * the writer writes F32. A sharded checkpoint is several such files and a
 * `model.safetensors.index.json` whose `weight_map` names the file of each tensor.
 */
import { ModelLoadError } from '../models/modelLoadError'

export type SafetensorsDtype = 'F32' | 'F16' | 'BF16'
export const READABLE_DTYPES: readonly SafetensorsDtype[] = ['F32', 'F16', 'BF16']
const BYTES: Record<SafetensorsDtype, number> = { F32: 4, F16: 2, BF16: 2 }

/** One tensor as float32, row-major, with the dtype it was stored in. */
export interface LoadedTensor {
  shape: number[]
  data: Float32Array
  storedAs: SafetensorsDtype
}

export interface SafetensorsContents {
  tensors: Map<string, LoadedTensor>
  metadata: Record<string, string>
}

/** Refuses headers above this size: real ones are kilobytes; a bigger number means the file
 *  is not safetensors (its first 8 bytes read as a huge length). */
const MAX_HEADER_BYTES = 100 * 1024 * 1024

const NOT_SAFETENSORS = 'Choose the model.safetensors file from the model repository (a .bin, .pt or .gguf checkpoint is another format; convert it with the safetensors tools first).'

function fail(file: string, what: string, todo: string): never {
  throw new ModelLoadError(`${file}: ${what} ${todo}`, file)
}

/** Reads the header only: names, dtypes, shapes and byte ranges, nothing converted. */
export function readSafetensorsHeader(bytes: Uint8Array, file: string): { dataStart: number; entries: Map<string, { dtype: string; shape: number[]; begin: number; end: number }>; metadata: Record<string, string> } {
  if (bytes.length < 8) fail(file, `is ${bytes.length} bytes long, too short for a safetensors file (8-byte header length, then the header).`, NOT_SAFETENSORS)
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const headerLen = Number(view.getBigUint64(0, true))
  if (headerLen > MAX_HEADER_BYTES) fail(file, `is not a safetensors file (its first 8 bytes give a header of ${headerLen} bytes).`, NOT_SAFETENSORS)
  if (8 + headerLen > bytes.length) fail(file, `is cut off: its header says ${headerLen} bytes of header but the file has ${bytes.length - 8} after the length.`, 'Download the file again (the download was probably interrupted).')
  let header: unknown
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + headerLen)))
  } catch {
    fail(file, 'is not a safetensors file (its header is not JSON).', NOT_SAFETENSORS)
  }
  if (!header || typeof header !== 'object' || Array.isArray(header)) fail(file, 'is not a safetensors file (its header is not a JSON object).', NOT_SAFETENSORS)
  const dataStart = 8 + headerLen
  const dataLen = bytes.length - dataStart
  const entries = new Map<string, { dtype: string; shape: number[]; begin: number; end: number }>()
  let metadata: Record<string, string> = {}
  for (const [name, raw] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      metadata = (raw ?? {}) as Record<string, string>
      continue
    }
    const e = raw as { dtype?: unknown; shape?: unknown; data_offsets?: unknown }
    const shape = e?.shape
    const offs = e?.data_offsets
    if (typeof e?.dtype !== 'string' || !Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0) || !Array.isArray(offs) || offs.length !== 2 || !offs.every((o) => Number.isInteger(o) && o >= 0)) {
      fail(file, `has a malformed header entry for tensor "${name}" (needs dtype, shape and data_offsets [begin, end]).`, NOT_SAFETENSORS)
    }
    entries.set(name, { dtype: e.dtype as string, shape: shape as number[], begin: offs[0] as number, end: offs[1] as number })
  }
  let maxEnd = 0
  for (const [name, e] of entries) {
    if (!(READABLE_DTYPES as readonly string[]).includes(e.dtype)) {
      fail(file, `stores tensor "${name}" as ${e.dtype}; the studio reads ${READABLE_DTYPES.join(', ')}.`, 'Use a float32, float16 or bfloat16 checkpoint of this model (quantized int8/int4 checkpoints cannot be fine-tuned here).')
    }
    const numel = e.shape.reduce((a, b) => a * b, 1)
    const want = numel * BYTES[e.dtype as SafetensorsDtype]
    if (e.end < e.begin || e.end - e.begin !== want) {
      fail(file, `has a header whose offsets do not match tensor "${name}": shape [${e.shape.join(', ')}] in ${e.dtype} needs ${want} bytes, the offsets [${e.begin}, ${e.end}] give ${e.end - e.begin}.`, 'The file is damaged or was written by a broken tool: download or export it again.')
    }
    maxEnd = Math.max(maxEnd, e.end)
  }
  if (maxEnd > dataLen) fail(file, `is cut off: its tensors need ${maxEnd} bytes of data but the file has ${dataLen}.`, 'Download the file again (the download was probably interrupted).')
  return { dataStart, entries, metadata }
}

function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1
  const e = (h >> 10) & 0x1f
  const f = h & 0x3ff
  if (e === 0) return s * f * 2 ** -24 // subnormal
  if (e === 31) return f ? NaN : s * Infinity
  return s * (1 + f / 1024) * 2 ** (e - 15)
}

/** Lookup table for all 65536 half-precision values, built on first use. */
let halfTable: Float32Array | null = null
function halfLookup(): Float32Array {
  if (!halfTable) {
    halfTable = new Float32Array(65536)
    for (let i = 0; i < 65536; i++) halfTable[i] = halfToFloat(i)
  }
  return halfTable
}

function toFloat32(bytes: Uint8Array, dtype: SafetensorsDtype, numel: number): Float32Array {
  // Copy first: the data in the file need not be aligned for a typed-array view.
  const copy = bytes.slice()
  if (dtype === 'F32') return new Float32Array(copy.buffer, 0, numel)
  const halves = new Uint16Array(copy.buffer, 0, numel)
  if (dtype === 'BF16') {
    // bfloat16 is the top 16 bits of a float32.
    const bits = new Uint32Array(numel)
    for (let i = 0; i < numel; i++) bits[i] = halves[i]! << 16
    return new Float32Array(bits.buffer)
  }
  const table = halfLookup()
  const out = new Float32Array(numel)
  for (let i = 0; i < numel; i++) out[i] = table[halves[i]!]!
  return out
}

/** Parses a whole safetensors file; every tensor comes back as float32. */
export function parseSafetensors(bytes: Uint8Array, file = 'model.safetensors'): SafetensorsContents {
  const { dataStart, entries, metadata } = readSafetensorsHeader(bytes, file)
  const tensors = new Map<string, LoadedTensor>()
  for (const [name, e] of entries) {
    const dtype = e.dtype as SafetensorsDtype
    const numel = e.shape.reduce((a, b) => a * b, 1)
    tensors.set(name, { shape: e.shape, storedAs: dtype, data: toFloat32(bytes.subarray(dataStart + e.begin, dataStart + e.end), dtype, numel) })
  }
  return { tensors, metadata }
}

export interface TensorToWrite {
  name: string
  shape: readonly number[]
  data: Float32Array
}

/** Writes float32 tensors as one safetensors file (in the order given). The header is padded
 *  with spaces to a multiple of 8 bytes, as the reference writer does, so the data is aligned. */
export function writeSafetensors(tensors: readonly TensorToWrite[], metadata?: Record<string, string>): Uint8Array<ArrayBuffer> {
  const header: Record<string, unknown> = {}
  if (metadata && Object.keys(metadata).length) header.__metadata__ = metadata
  let at = 0
  const seen = new Set<string>()
  for (const t of tensors) {
    if (seen.has(t.name)) throw new Error(`writeSafetensors: tensor "${t.name}" given twice`)
    seen.add(t.name)
    const numel = t.shape.reduce((a, b) => a * b, 1)
    if (numel !== t.data.length) throw new Error(`writeSafetensors: tensor "${t.name}" has shape [${t.shape.join(', ')}] (${numel} values) but ${t.data.length} values`)
    header[t.name] = { dtype: 'F32', shape: [...t.shape], data_offsets: [at, at + numel * 4] }
    at += numel * 4
  }
  let json = JSON.stringify(header)
  const enc = new TextEncoder()
  let headerBytes = enc.encode(json)
  const pad = (8 - (headerBytes.length % 8)) % 8
  if (pad) {
    json += ' '.repeat(pad)
    headerBytes = enc.encode(json)
  }
  const out = new Uint8Array(8 + headerBytes.length + at)
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes.length), true)
  out.set(headerBytes, 8)
  let pos = 8 + headerBytes.length
  for (const t of tensors) {
    out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), pos)
    pos += t.data.byteLength
  }
  return out
}

export const SHARD_INDEX = 'model.safetensors.index.json'

/** The shard files an index names, in first-mention order, and which file holds each tensor. */
export function parseShardIndex(text: string, file = SHARD_INDEX): { shards: string[]; weightMap: Map<string, string> } {
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    fail(file, 'is not JSON.', `Choose the ${SHARD_INDEX} from the model repository.`)
  }
  const map = (json as { weight_map?: unknown })?.weight_map
  if (!map || typeof map !== 'object' || Array.isArray(map)) fail(file, 'has no "weight_map" object naming the file of each tensor.', `Choose the ${SHARD_INDEX} from the model repository.`)
  const weightMap = new Map<string, string>()
  const shards: string[] = []
  for (const [name, shard] of Object.entries(map as Record<string, unknown>)) {
    if (typeof shard !== 'string' || !shard.endsWith('.safetensors') || shard.includes('/') || shard.includes('..')) fail(file, `names "${String(shard)}" as the file of tensor "${name}"; shard files are plain *.safetensors names next to the index.`, 'The index is damaged: download it again.')
    weightMap.set(name, shard)
    if (!shards.includes(shard)) shards.push(shard)
  }
  return { shards, weightMap }
}

/** Reads a sharded set: the index, then each shard it names (through `readFile`, so the same
 *  code serves downloads, the cache and local files). Every tensor the index lists must be in
 *  the shard it names. */
export async function loadShardedSafetensors(indexText: string, readFile: (name: string) => Promise<Uint8Array>, onShard?: (name: string, i: number, of: number) => void): Promise<SafetensorsContents> {
  const { shards, weightMap } = parseShardIndex(indexText)
  const tensors = new Map<string, LoadedTensor>()
  const metadata: Record<string, string> = {}
  for (let i = 0; i < shards.length; i++) {
    const name = shards[i]!
    onShard?.(name, i, shards.length)
    const part = parseSafetensors(await readFile(name), name)
    Object.assign(metadata, part.metadata)
    for (const [t, v] of part.tensors) {
      if (tensors.has(t)) fail(name, `holds tensor "${t}", which another shard already held.`, 'The sharded set is inconsistent: download the model again.')
      tensors.set(t, v)
    }
  }
  for (const [t, shard] of weightMap) {
    if (!tensors.has(t)) fail(shard, `does not hold tensor "${t}", which ${SHARD_INDEX} says it holds.`, 'The shard and the index come from different versions: download both again.')
  }
  return { tensors, metadata }
}
