/** CRC-32 (IEEE, as in zip): lets an import tell a corrupt file from a valid one. */
let table: Uint32Array | null = null

function crcTable(): Uint32Array {
  if (table) return table
  table = new Uint32Array(256)
  for (let n = 0; n < 256; n++) {
    let c = n
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1
    table[n] = c >>> 0
  }
  return table
}

/** crc32 of `bytes`, continuing from `prev` (pass the last result to hash in pieces). */
export function crc32(bytes: Uint8Array, prev = 0): number {
  const t = crcTable()
  let c = (prev ^ 0xffffffff) >>> 0
  for (let i = 0; i < bytes.length; i++) c = t[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8)
  return (c ^ 0xffffffff) >>> 0
}
