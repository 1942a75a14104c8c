import { describe, expect, it } from 'vitest'
import { loadShardedSafetensors, parseSafetensors, readSafetensorsHeader, writeSafetensors } from './safetensors'

/** A safetensors file by hand: 8-byte little-endian length, the header text, the data bytes. */
function fileOf(header: string, data: number[]): Uint8Array {
  const h = new TextEncoder().encode(header)
  const out = new Uint8Array(8 + h.length + data.length)
  out[0] = h.length & 0xff
  out[1] = (h.length >> 8) & 0xff
  out.set(h, 8)
  out.set(data, 8 + h.length)
  return out
}

describe('safetensors reader', () => {
  it('reads F32, F16 and BF16 tensors into float32 (values written by hand from their bit patterns)', () => {
    const header = JSON.stringify({
      __metadata__: { format: 'pt' },
      a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] },
      h: { dtype: 'F16', shape: [2, 3], data_offsets: [8, 20] },
      b: { dtype: 'BF16', shape: [3], data_offsets: [20, 26] },
    })
    const data = [
      // F32 1.0 = 0x3F800000, -2.5 = 0xC0200000
      0x00, 0x00, 0x80, 0x3f, 0x00, 0x00, 0x20, 0xc0,
      // F16 1.0 = 0x3C00, -2.0 = 0xC000, 0.5 = 0x3800, 65504 = 0x7BFF, 2^-24 = 0x0001, 0 = 0x0000
      0x00, 0x3c, 0x00, 0xc0, 0x00, 0x38, 0xff, 0x7b, 0x01, 0x00, 0x00, 0x00,
      // BF16 1.0 = 0x3F80, -2.5 = 0xC020, 3.140625 = 0x4049
      0x80, 0x3f, 0x20, 0xc0, 0x49, 0x40,
    ]
    const { tensors, metadata } = parseSafetensors(fileOf(header, data), 'tiny.safetensors')
    expect(metadata).toEqual({ format: 'pt' })
    expect(tensors.get('a')).toMatchObject({ shape: [2], storedAs: 'F32' })
    expect(Array.from(tensors.get('a')!.data)).toEqual([1, -2.5])
    expect(tensors.get('h')!.shape).toEqual([2, 3])
    expect(Array.from(tensors.get('h')!.data)).toEqual([1, -2, 0.5, 65504, 5.960464477539063e-8, 0])
    expect(Array.from(tensors.get('b')!.data)).toEqual([1, -2.5, 3.140625])
  })

  it('reads data that is not 4-byte aligned (a header of odd length)', () => {
    const header = JSON.stringify({ x: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } }) + ' ' // odd padding
    const f = fileOf(header, [0x00, 0x00, 0x40, 0x40]) // 3.0 = 0x40400000
    expect(Array.from(parseSafetensors(f).tensors.get('x')!.data)).toEqual([3])
  })

  it('refuses a truncated file, naming the file and saying to download again', () => {
    const header = JSON.stringify({ x: { dtype: 'F32', shape: [4], data_offsets: [0, 16] } })
    const f = fileOf(header, new Array(16).fill(0))
    expect(() => parseSafetensors(f.subarray(0, f.length - 3), 'model.safetensors')).toThrow(/^model\.safetensors: is cut off: its tensors need 16 bytes of data but the file has 13\. Download the file again/)
    expect(() => parseSafetensors(f.subarray(0, 20), 'model.safetensors')).toThrow(/model\.safetensors: is cut off: its header says \d+ bytes of header/)
    expect(() => parseSafetensors(f.subarray(0, 5), 'model.safetensors')).toThrow(/model\.safetensors: is 5 bytes long, too short/)
  })

  it('refuses a header whose offsets do not match the shape, naming the tensor', () => {
    const header = JSON.stringify({ 'h.0.attn.c_attn.weight': { dtype: 'F32', shape: [2, 3], data_offsets: [0, 20] } })
    expect(() => parseSafetensors(fileOf(header, new Array(24).fill(0)), 'shard.safetensors')).toThrow(
      'shard.safetensors: has a header whose offsets do not match tensor "h.0.attn.c_attn.weight": shape [2, 3] in F32 needs 24 bytes, the offsets [0, 20] give 20.',
    )
  })

  it('refuses an unknown dtype by name with what it reads', () => {
    const header = JSON.stringify({ q: { dtype: 'I8', shape: [2], data_offsets: [0, 2] } })
    expect(() => parseSafetensors(fileOf(header, [1, 2]), 'q.safetensors')).toThrow(/q\.safetensors: stores tensor "q" as I8; the studio reads F32, F16, BF16\. Use a float32, float16 or bfloat16 checkpoint/)
  })

  it('refuses a file that is not safetensors (a pickle, JSON, random bytes)', () => {
    const pickle = new Uint8Array([0x80, 0x02, 0x63, 0x63, 0x6f, 0x6c, 0x6c, 0x65, 0x63, 0x74, 0x69, 0x6f, 0x6e, 0x73])
    expect(() => parseSafetensors(pickle, 'pytorch_model.bin')).toThrow(/pytorch_model\.bin: is not a safetensors file \(its first 8 bytes give a header of \d+ bytes\)\. Choose the model\.safetensors file/)
    expect(() => parseSafetensors(fileOf('{"x": ', [1]), 'bad.safetensors')).toThrow(/bad\.safetensors: is cut off|bad\.safetensors: is not a safetensors file \(its header is not JSON\)/)
    expect(() => parseSafetensors(fileOf('[1,2]', []), 'arr.safetensors')).toThrow('arr.safetensors: is not a safetensors file (its header is not a JSON object).')
  })
})

describe('safetensors writer', () => {
  it('writes the exact bytes of the format: length, space-padded header to a multiple of 8, little-endian F32 data', () => {
    const out = writeSafetensors([{ name: 'w', shape: [2], data: new Float32Array([1, -2.5]) }])
    const header = '{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}' // 54 bytes → 2 spaces of padding
    expect(header.length).toBe(54)
    expect(Array.from(out.subarray(0, 8))).toEqual([56, 0, 0, 0, 0, 0, 0, 0])
    expect(new TextDecoder().decode(out.subarray(8, 64))).toBe(header + '  ')
    expect(Array.from(out.subarray(64))).toEqual([0x00, 0x00, 0x80, 0x3f, 0x00, 0x00, 0x20, 0xc0])
  })

  it('round-trips several tensors and metadata through the reader', () => {
    const a = new Float32Array(12).map((_, i) => i * 0.25 - 1)
    const b = new Float32Array([Math.PI, -0, 1e-30, 3e38])
    const bytes = writeSafetensors(
      [
        { name: 'transformer.h.0.attn.c_attn.weight', shape: [3, 4], data: a },
        { name: 'lm_head.bias', shape: [4], data: b },
        { name: 'empty', shape: [0, 5], data: new Float32Array(0) },
      ],
      { format: 'pt' },
    )
    const back = parseSafetensors(bytes)
    expect(back.metadata).toEqual({ format: 'pt' })
    expect(back.tensors.get('transformer.h.0.attn.c_attn.weight')!.shape).toEqual([3, 4])
    expect(back.tensors.get('transformer.h.0.attn.c_attn.weight')!.data).toEqual(a)
    expect(back.tensors.get('lm_head.bias')!.data).toEqual(b)
    expect(back.tensors.get('empty')!.shape).toEqual([0, 5])
    expect(readSafetensorsHeader(bytes, 'x').dataStart % 8).toBe(0)
  })

  it('refuses a shape that does not match the data', () => {
    expect(() => writeSafetensors([{ name: 'w', shape: [2, 2], data: new Float32Array(3) }])).toThrow('tensor "w" has shape [2, 2] (4 values) but 3 values')
  })
})

describe('sharded safetensors', () => {
  const shard1 = writeSafetensors([{ name: 'a', shape: [2], data: new Float32Array([1, 2]) }])
  const shard2 = writeSafetensors([
    { name: 'b', shape: [1], data: new Float32Array([3]) },
    { name: 'c', shape: [1], data: new Float32Array([4]) },
  ])
  const files: Record<string, Uint8Array> = { 'model-00001-of-00002.safetensors': shard1, 'model-00002-of-00002.safetensors': shard2 }
  const read = async (n: string) => {
    const f = files[n]
    if (!f) throw new Error(`no ${n}`)
    return f
  }

  it('reads every shard the index names and merges them', async () => {
    const index = JSON.stringify({ metadata: { total_size: 16 }, weight_map: { a: 'model-00001-of-00002.safetensors', b: 'model-00002-of-00002.safetensors', c: 'model-00002-of-00002.safetensors' } })
    const seen: string[] = []
    const all = await loadShardedSafetensors(index, read, (n, i, of) => seen.push(`${i + 1}/${of} ${n}`))
    expect(seen).toEqual(['1/2 model-00001-of-00002.safetensors', '2/2 model-00002-of-00002.safetensors'])
    expect([...all.tensors.keys()].sort()).toEqual(['a', 'b', 'c'])
    expect(Array.from(all.tensors.get('c')!.data)).toEqual([4])
  })

  it('refuses an index that names a tensor its shard lacks, and one without a weight_map', async () => {
    const index = JSON.stringify({ weight_map: { a: 'model-00001-of-00002.safetensors', d: 'model-00002-of-00002.safetensors' } })
    await expect(loadShardedSafetensors(index, read)).rejects.toThrow('model-00002-of-00002.safetensors: does not hold tensor "d", which model.safetensors.index.json says it holds.')
    await expect(loadShardedSafetensors('{"metadata":{}}', read)).rejects.toThrow('model.safetensors.index.json: has no "weight_map" object')
    await expect(loadShardedSafetensors(JSON.stringify({ weight_map: { a: '../etc/passwd.safetensors' } }), read)).rejects.toThrow(/shard files are plain \*\.safetensors names/)
  })
})
