import { unzipSync } from 'fflate'
import { crc32 } from './crc32'
import { formatBytes } from '../../format/format'

/** Reads a zip someone handed us without trusting it: every entry's declared size is
 *  checked against limits BEFORE anything is inflated (fflate inflates into a buffer of
 *  exactly the declared size, so a lying header cannot make it allocate more), names that
 *  would escape the folder are refused, and each inflated entry must match its CRC-32. */
export interface UnzipLimits {
  maxEntries: number
  maxEntryBytes: number // declared uncompressed size of one entry
  maxTotalBytes: number // sum of declared uncompressed sizes
  maxRatio: number // uncompressed / compressed, for entries over 1 MiB
}

export const DEFAULT_UNZIP_LIMITS: UnzipLimits = {
  maxEntries: 64,
  maxEntryBytes: 512 * 2 ** 20,
  maxTotalBytes: 1024 * 2 ** 20,
  maxRatio: 200, // float weights barely compress; JSON a few times; 1000x is a bomb
}

interface DirEntry {
  name: string
  crc: number
  compressed: number
  size: number
  method: number
}

const MiB = formatBytes // sizes as everywhere else (src/format)

/** Entry name → bytes. Throws an Error whose message names the file and what is wrong. */
export function safeUnzip(bytes: Uint8Array, fileName: string, limits: UnzipLimits = DEFAULT_UNZIP_LIMITS): Map<string, Uint8Array> {
  const dir = readDirectory(bytes, fileName)
  if (dir.length > limits.maxEntries) throw new Error(`${fileName} holds ${dir.length} files; a studio model zip has at most ${limits.maxEntries}. Is it the right file?`)
  let total = 0
  const byName = new Map<string, DirEntry>()
  for (const e of dir) {
    checkPath(e.name, fileName)
    if (byName.has(e.name)) throw new Error(`${fileName}: "${e.name}" appears twice in the zip`)
    byName.set(e.name, e)
    if (e.method !== 0 && e.method !== 8) throw new Error(`${fileName}: "${e.name}" uses zip compression method ${e.method}; only stored and deflate are read`)
    if (e.size > limits.maxEntryBytes) throw new Error(`${fileName}: "${e.name}" would unpack to ${MiB(e.size)}, over the ${MiB(limits.maxEntryBytes)} limit per file`)
    if (e.size > 2 ** 20 && e.size / Math.max(e.compressed, 1) > limits.maxRatio) {
      throw new Error(`${fileName}: "${e.name}" would unpack ${Math.round(e.size / Math.max(e.compressed, 1))}x larger than it is packed — that looks like a zip bomb, so it was not opened`)
    }
    total += e.size
    if (total > limits.maxTotalBytes) throw new Error(`${fileName} would unpack to more than ${MiB(limits.maxTotalBytes)}; refusing to open it`)
  }
  let files: Record<string, Uint8Array>
  try {
    files = unzipSync(bytes, { filter: (f) => !f.name.endsWith('/') })
  } catch (e) {
    throw new Error(`${fileName} is damaged and could not be unpacked (${e instanceof Error ? e.message : String(e)})`)
  }
  const out = new Map<string, Uint8Array>()
  for (const [name, data] of Object.entries(files)) {
    const e = byName.get(name)
    if (!e) throw new Error(`${fileName}: "${name}" is not listed in the zip's directory (damaged file)`)
    if (data.length !== e.size || crc32(data) !== e.crc) throw new Error(`${fileName}: "${name}" is damaged (its checksum does not match); download or export it again`)
    out.set(name, data)
  }
  return out
}

/** Refuses absolute paths, drive letters, backslashes and any ".." segment. */
function checkPath(name: string, fileName: string): void {
  const bad =
    name.length === 0 ||
    name.length > 255 ||
    name.startsWith('/') ||
    name.includes('\\') ||
    /^[a-zA-Z]:/.test(name) ||
    name.includes('\0') ||
    name.split('/').some((seg) => seg === '..')
  if (bad) throw new Error(`${fileName}: the entry "${name.slice(0, 80)}" points outside the zip's folder; refusing to open a file built to escape it`)
}

const u16 = (b: Uint8Array, o: number) => b[o]! | (b[o + 1]! << 8)
const u32 = (b: Uint8Array, o: number) => (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24)) >>> 0

/** The central directory (classic zip; a studio export never needs zip64). */
function readDirectory(b: Uint8Array, fileName: string): DirEntry[] {
  const notZip = () => new Error(`${fileName} is not a zip file (or it is truncated). Choose a .zip exported by the studio.`)
  if (b.length < 22) throw notZip()
  let e = b.length - 22
  const stop = Math.max(0, b.length - 22 - 65535)
  while (e >= stop && u32(b, e) !== 0x06054b50) e--
  if (e < stop) throw notZip()
  const count = u16(b, e + 10)
  const size = u32(b, e + 12)
  let o = u32(b, e + 16)
  if (count === 0xffff || o === 0xffffffff) throw new Error(`${fileName} is a zip64 archive; the studio reads only its own (classic) zips`)
  if (o + size > e) throw notZip()
  const entries: DirEntry[] = []
  const dec = new TextDecoder()
  for (let i = 0; i < count; i++) {
    if (o + 46 > e || u32(b, o) !== 0x02014b50) throw new Error(`${fileName}: the zip's directory is damaged (entry ${i + 1})`)
    const nameLen = u16(b, o + 28)
    const extra = u16(b, o + 30)
    const comment = u16(b, o + 32)
    if (o + 46 + nameLen > e) throw new Error(`${fileName}: the zip's directory is damaged (entry ${i + 1})`)
    entries.push({
      method: u16(b, o + 10),
      crc: u32(b, o + 16),
      compressed: u32(b, o + 20),
      size: u32(b, o + 24),
      name: dec.decode(b.subarray(o + 46, o + 46 + nameLen)),
    })
    o += 46 + nameLen + extra + comment
  }
  return entries
}
