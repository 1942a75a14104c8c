/**
 * Assembles the hand-written WebAssembly modules' WAT text (models/lmSimd.ts LM_WAT,
 * models/cnnSimd.ts CNN_WAT, models/heapTranspose.ts SWAP_WAT) with wabt (the npm package, pinned
 * in package.json) and writes the bytes into each file's hex constants: the plain one, and the
 * `…_SHARED_…` one assembled from the same text with `(memory 0 65536 shared)` for the threaded
 * backend. Run after editing a WAT:
 *
 *   node scripts/assemble-wat.mjs          rewrites the hex constants that differ
 *   node scripts/assemble-wat.mjs --check  only says which differ (exit 1 if any)
 *
 * src/engine/models/wasmHex.test.ts checks the same in the unit tests.
 */
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import wabtInit from 'wabt'

/** Each file, its WAT constant, and its plain and shared hex constants. */
export const WAT_MODULES = [
  { file: 'src/engine/models/lmSimd.ts', wat: 'LM_WAT', hex: 'LM_WASM_HEX', shared: 'LM_SHARED_WASM_HEX' },
  { file: 'src/engine/models/cnnSimd.ts', wat: 'CNN_WAT', hex: 'CNN_WASM_HEX', shared: 'CNN_SHARED_WASM_HEX' },
  { file: 'src/engine/models/heapTranspose.ts', wat: 'SWAP_WAT', hex: 'SWAP_WASM_HEX', shared: 'SWAP_SHARED_WASM_HEX' },
]

/** The WAT of the threaded backend's variant: the memory import shared, up to 4 GiB. */
export const sharedWat = (wat) => {
  if (!wat.includes('(memory 0)')) throw new Error('no `(memory 0)` import to share')
  return wat.replace('(memory 0)', '(memory 0 65536 shared)')
}

/** WAT text → the module's bytes as lower-case hex (SIMD and threads on, names resolved). */
export async function assembleWat(wat) {
  const wabt = await wabtInit()
  const m = wabt.parseWat('module.wat', wat, { simd: true, threads: true })
  try {
    m.resolveNames()
    return Buffer.from(m.toBinary({}).buffer).toString('hex')
  } finally {
    m.destroy()
  }
}

const watPattern = (name) => new RegExp(`export const ${name} = \`([^\`]*)\``)
const hexPattern = (name) => new RegExp(`(export const ${name} =\\n)((?:  '[0-9a-f]*'(?: \\+)?\\n)+)`)

/** The WAT constant's text in a source file. */
export function embeddedWat(src, name) {
  const m = watPattern(name).exec(src)
  if (!m) throw new Error(`${name} not found`)
  return m[1] ?? ''
}

/** A hex constant's value in a source file. */
export function embeddedHex(src, name) {
  const m = hexPattern(name).exec(src)
  if (!m) throw new Error(`${name} not found`)
  return (m[2] ?? '').replace(/[^0-9a-f]/g, '')
}

/** The source with a hex constant set to `hex`, as lines of 120 digits. */
function withHex(src, name, hex) {
  const lines = (hex.match(/.{1,120}/g) ?? []).map((l) => `  '${l}'`)
  return src.replace(hexPattern(name), (_, head) => `${head}${lines.join(' +\n')}\n`)
}

async function main() {
  const check = process.argv.includes('--check')
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
  let differ = 0
  for (const mod of WAT_MODULES) {
    const file = path.join(root, mod.file)
    let src = fs.readFileSync(file, 'utf8')
    const wat = embeddedWat(src, mod.wat)
    for (const [name, text] of [
      [mod.hex, wat],
      [mod.shared, sharedWat(wat)],
    ]) {
      const hex = await assembleWat(text)
      if (hex === embeddedHex(src, name)) continue
      differ++
      console.log(`${mod.file}: ${name} ${check ? 'differs from' : 'set to'} ${mod.wat} assembled (${hex.length / 2} bytes)`)
      if (!check) src = withHex(src, name, hex)
    }
    if (!check) fs.writeFileSync(file, src)
  }
  if (!differ) console.log('every hex constant is its WAT assembled')
  if (check && differ) process.exitCode = 1
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await main()
