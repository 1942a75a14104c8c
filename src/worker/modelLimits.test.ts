// The worker sends each model's limits with it, and re-checks settings with them: on the real
// emoji CNN, LoRA rank 48 is refused on the LoRA rank control with the value that works (32),
// at plan time and when a run is asked for, instead of failing inside `new Tuning`.
import 'fake-indexeddb/auto'
import { readFile } from 'node:fs/promises'
import path from 'node:path'
import * as tf from '@tensorflow/tfjs'
import { zipSync } from 'fflate'
import { beforeAll, describe, expect, it } from 'vitest'
import { fakeDecoder, fakeImage } from '../engine/data/images/testDecoder'
import { DEFAULTS } from '../settings/schema'
import type { Settings } from '../settings/types'
import { createHandler } from './handler'
import type { FromWorker } from './protocol'

const root = path.resolve(import.meta.dirname, '../..')

beforeAll(async () => {
  await tf.setBackend('cpu')
})

/** Two classes of 12×12 pictures: a block on the left or on the right. */
function sides(perClass: number): Uint8Array {
  const files: Record<string, Uint8Array> = {}
  for (let k = 0; k < perClass; k++) {
    for (const side of ['left', 'right'] as const) {
      files[`set/${side}/${k}.png`] = fakeImage(12, 12, (i) => ((side === 'left' ? i % 12 < 5 : i % 12 > 6) && Math.floor(i / 12) > k % 4 ? [30, 60, 220, 255] : [255, 255, 255, 255]))
    }
  }
  return zipSync(files)
}

describe('the worker and the model’s limits', () => {
  it('the emoji CNN comes with its limits, and LoRA rank 48 is refused on LoRA rank (32 works) at plan and at train', async () => {
    const fetchFn = (async (url: string | URL | Request) => {
      const rel = String(url).replace('http://app/', '')
      return new Response(await readFile(path.join(root, 'public', rel)))
    }) as typeof fetch
    const events: FromWorker[] = []
    const handle = createHandler((e) => events.push(e), {}, fetchFn, fakeDecoder)
    const last = <T extends FromWorker['type']>(type: T) => events.filter((e): e is Extract<FromWorker, { type: T }> => e.type === type).at(-1)

    await handle({ type: 'loadModel', source: { kind: 'builtin', id: 'emoji-cnn', url: 'http://app/models/emoji-cnn/model.json' } })
    expect(last('error')).toBeUndefined()
    expect(last('model')!.summary.limits).toEqual({ nLayers: 7, width: 256, methods: ['head', 'freeze', 'lora', 'full', 'custom'], why: { adapter: 'Adapters go between the blocks of a transformer; this CNN has none' }, lora: [{ target: 'pointwise', layer: 'b0.pw', maxRank: 32 }], loraTargetsChosen: false })

    await handle({ type: 'loadImages', source: { kind: 'zip', file: new File([sides(10) as BlobPart], 'sides.zip') } })
    expect(last('dataset')!.summary.task).toBe('image-classification')

    const lora = (rank: number): Settings => ({ ...DEFAULTS, backend: 'cpu', method: 'lora', loraRank: rank, loraAlpha: rank, epochs: 1, batchSize: 4, valSplit: 0.25 })
    await handle({ type: 'configure', settings: lora(48) })
    const refused = last('plan')!.problems
    expect(refused.map((p) => p.field)).toEqual(['loraRank'])
    expect(refused[0]!.message).toMatch(/^LoRA rank 48 is larger than layer b0\.pw allows .* set LoRA rank to 32 or less/)
    // Plans re-post the model: its limits stay with it.
    expect(last('model')!.summary.limits?.lora[0]?.maxRank).toBe(32)

    const before = events.length
    await handle({ type: 'train', runId: 'r48', settings: lora(48) })
    const answer = events.slice(before)
    expect(answer.find((e) => e.type === 'error')).toMatchObject({ runId: 'r48', where: 'settings: loraRank', message: expect.stringMatching(/set LoRA rank to 32 or less/) })
    expect(answer.some((e) => e.type === 'state' || e.type === 'step' || e.type === 'done')).toBe(false)

    await handle({ type: 'configure', settings: lora(32) })
    expect(last('plan')!.problems).toEqual([])
    // LoRA A [in, 32] and B [32, out] on the seven pointwise convs, plus the 2-class head on 256 features.
    const pw = [[32, 64], [64, 96], [96, 96], [96, 192], [192, 192], [192, 192], [192, 256]]
    expect(last('plan')!.trainableParams).toBe(pw.reduce((n, [i, o]) => n + 32 * (i! + o!), 0) + 256 * 2 + 2)
  })
})
