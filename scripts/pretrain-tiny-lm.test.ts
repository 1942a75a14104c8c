import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import * as tf from '@tensorflow/tfjs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadTinyGpt } from '../src/engine/models/modelFile'

const out = mkdtempSync(path.join(os.tmpdir(), 'tiny-lm-test-'))

beforeAll(async () => {
  await tf.setBackend('cpu')
})
afterAll(() => rmSync(out, { recursive: true, force: true }))

// CI never pretrains for real; this proves the script (tokenizer, corpus, the browser run on
// wasm, writing files) still works end to end, in a few steps, without touching public/.
describe('npm run pretrain:tiny-lm -- --quick', () => {
  it('trains a few steps in headless Chromium and writes a loadable model with its card', async () => {
    const root = path.resolve(import.meta.dirname, '..')
    const r = spawnSync(process.execPath, ['scripts/pretrain-tiny-lm.mjs', '--quick', '--out', out], { cwd: root, encoding: 'utf8', timeout: 280_000 })
    expect(r.status, r.stderr + r.stdout).toBe(0)
    const fileFetch = async (url: string) => new Response(await readFile(url))
    const { model, tokenizer, card } = await loadTinyGpt(path.join(out, 'model.json'), fileFetch)
    expect(model.parameterCount()).toBeGreaterThan(500_000)
    expect(tokenizer.decode(tokenizer.encode('Call me Ishmael.'))).toBe('Call me Ishmael.')
    expect(JSON.stringify(card)).toMatch(/Moby/)
    expect(readFileSync(path.join(out, 'card.md'), 'utf8').length).toBeGreaterThan(200)
    model.dispose()
  }, 300_000)
})
