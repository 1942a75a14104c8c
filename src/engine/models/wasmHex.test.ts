// The hand-written WebAssembly modules run from hex constants pasted next to their WAT text; this
// checks that each constant is its WAT assembled, so an edit to the WAT that was not assembled (or
// bytes that were patched by hand) fails here. scripts/assemble-wat.mjs rewrites the constants.
import { describe, expect, it } from 'vitest'
import { assembleWat as assemble, sharedWat } from '../../../scripts/assemble-wat.mjs'
import { LM_SHARED_WASM_HEX, LM_WASM_HEX, LM_WAT } from './lmSimd'
import { CNN_SHARED_WASM_HEX, CNN_WASM_HEX, CNN_WAT } from './cnnSimd'
import { SWAP_SHARED_WASM_HEX, SWAP_WASM_HEX, SWAP_WAT } from './heapTranspose'

const modules = [
  { name: 'lmSimd.ts LM_WAT', wat: LM_WAT, hex: LM_WASM_HEX, shared: LM_SHARED_WASM_HEX },
  { name: 'cnnSimd.ts CNN_WAT', wat: CNN_WAT, hex: CNN_WASM_HEX, shared: CNN_SHARED_WASM_HEX },
  { name: 'heapTranspose.ts SWAP_WAT', wat: SWAP_WAT, hex: SWAP_WASM_HEX, shared: SWAP_SHARED_WASM_HEX },
]

describe('the WebAssembly modules’ hex constants are their WAT, assembled (node scripts/assemble-wat.mjs)', () => {
  for (const { name, wat, hex, shared } of modules) {
    it(name, async () => {
      expect(await assemble(wat), `${name}: plain; run node scripts/assemble-wat.mjs`).toBe(hex)
      // the threaded backend's variant: the same text with the memory import shared
      expect(wat.split('(memory 0)').length, `${name}: one memory import`).toBe(2)
      expect(await assemble(sharedWat(wat)), `${name}: shared; run node scripts/assemble-wat.mjs`).toBe(shared)
      // and both are modules this engine compiles
      for (const h of [hex, shared]) expect(WebAssembly.validate(Uint8Array.from(h.match(/../g)!, (b) => parseInt(b, 16))), name).toBe(true)
    })
  }

  it('a WAT edit changes the bytes (the comparison can fail)', async () => {
    expect(await assemble(LM_WAT.replace('(i32.const 16)', '(i32.const 32)'))).not.toBe(LM_WASM_HEX)
  })
})
