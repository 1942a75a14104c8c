import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import * as tf from '@tensorflow/tfjs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { checkCnnModelJson, tinyCnnFromParts } from '../src/engine/models/cnnFile'

const out = mkdtempSync(path.join(os.tmpdir(), 'emoji-cnn-test-'))

beforeAll(async () => {
  await tf.setBackend('cpu')
})
afterAll(() => rmSync(out, { recursive: true, force: true }))

describe('npm run pretrain:emoji-cnn -- --quick', () => {
  it('trains a few steps on real emoji images and writes a loadable model with its card', () => {
    const root = path.resolve(import.meta.dirname, '..')
    const r = spawnSync(process.execPath, ['scripts/pretrain-emoji-cnn.mjs', '--quick', '--out', out], { cwd: root, encoding: 'utf8', timeout: 170_000 })
    expect(r.status, r.stderr + r.stdout).toBe(0)
    expect(r.stdout).toMatch(/9 classes; train 48 images/)
    const json = checkCnnModelJson(JSON.parse(readFileSync(path.join(out, 'model.json'), 'utf8')), 'model.json')
    const model = tinyCnnFromParts(json, new Uint8Array(readFileSync(path.join(out, 'weights.bin'))))
    expect(model.parameterCount()).toBe(json.card.parameters)
    expect(json.pretrainClasses).toContain('Smileys & Emotion')
    const card = JSON.parse(readFileSync(path.join(out, 'card.json'), 'utf8'))
    expect(card.training.quick).toBe(true)
    expect(card.data.sources.map((s: { licence: string }) => s.licence)).toEqual(['Apache-2.0', 'CC-BY 4.0', 'MIT'])
    expect(readFileSync(path.join(out, 'card.md'), 'utf8')).toMatch(/Validation accuracy by category/)
    model.dispose()
  }, 180_000)
})
