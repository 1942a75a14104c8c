/**
 * A pass split over two workers (inferencePasses.ts) whose replica rows cannot be read back:
 * the rows sent to the replica are sliced on the device and read back before the request goes
 * out; on WebGL or WebGPU that readback fails when the context or device is lost. Here the
 * backend is the real CPU one under another name, as impossibleLoss.test.ts does, whose next
 * readback fails once (kernels and everything else unchanged). A shape error in either half
 * cannot reach this point: the slices and the loop's half run inside tf.tidy, and the request
 * is posted only after the rows are read.
 *
 * Expected values: the pass fails with the backend's error, and the tensor count is the one
 * before the call (nothing sliced is left). The same call without the fault answers the
 * one-worker pass's outputs and adds one tensor (its answer).
 */
import * as tf from '@tensorflow/tfjs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DEFAULTS } from '../../settings/schema'
import type { Settings } from '../../settings/types'
import { TinyGpt } from '../models/tinyGpt'
import { FeatureCache } from './featureCache'
import { Tuning } from './fineTune'
import { frozenPrefix, headLogits, type Batch } from './forward'
import { headRows, prefixRows, runPass, type PassSplit } from './inferencePasses'

const LOST = 'cpu-readback-lost'
const LOST_MESSAGE = 'the device was lost while reading a tensor back'
/** Reads that succeed before the one that fails; null: none fails. */
let readsBeforeFault: number | null = null

beforeAll(async () => {
  await tf.setBackend('cpu')
  const Cpu = tf.engine().findBackend('cpu')!.constructor as new () => tf.KernelBackend
  class ReadbackLost extends Cpu {
    override read(dataId: object) {
      if (readsBeforeFault !== null && readsBeforeFault-- === 0) {
        readsBeforeFault = null
        return Promise.reject(new Error(LOST_MESSAGE))
      }
      return super.read(dataId)
    }
  }
  tf.registerBackend(LOST, () => new ReadbackLost())
  for (const k of tf.getKernelsForBackend('cpu')) tf.registerKernel({ ...k, backendName: LOST })
  await tf.setBackend(LOST)
})
afterAll(async () => {
  await tf.setBackend('cpu')
  tf.removeBackend(LOST)
})

const cfg = { vocabSize: 24, seqLen: 8, dModel: 16, nLayers: 2, nHeads: 2, dFF: 32 }
const s: Settings = { ...DEFAULTS, method: 'full', seqLen: cfg.seqLen, dropout: 0, loraDropout: 0 }

/** Six rows of tokens, the last two padded, with their mask and labels. */
function rows() {
  const n = 6
  const tokens = tf.tensor2d(Array.from({ length: n * cfg.seqLen }, (_, i) => 3 + ((i * 5) % 19)), [n, cfg.seqLen], 'int32')
  const mask = tf.tensor2d(Array.from({ length: n * cfg.seqLen }, (_, i) => (Math.floor(i / cfg.seqLen) >= 4 && i % cfg.seqLen >= 5 ? 0 : 1)), [n, cfg.seqLen])
  const labels = tf.tensor1d([0, 1, 0, 1, 1, 0], 'int32')
  return { tokens, mask: mask as tf.Tensor2D, labels }
}

/** The replica computed in this thread by the replica's own function (runPass). */
const inProcess = (model: TinyGpt, tuning: Tuning): PassSplit => ({
  ownRows: (n) => Math.ceil(n / 2),
  post: async (pass) => ({ answer: runPass(model, tuning, pass) }),
})

/** `pass` answers what the one-worker pass `one` answers, adding only its answer (`one` is
 *  disposed here); then, for each k of `faults`, with the replica's readback k + 1 failing, it
 *  fails with the backend's error and leaves no tensor. */
async function answersThenFailsClean(pass: () => Promise<tf.Tensor>, one: tf.Tensor, faults: readonly number[]): Promise<void> {
  const before = tf.memory().numTensors
  const two = await pass()
  expect(tf.memory().numTensors - before, 'tensors a pass adds: its answer').toBe(1)
  expect(two.shape).toEqual(one.shape)
  expect(Array.from(await two.data())).toEqual(Array.from(await one.data()))
  tf.dispose([one, two])
  for (const k of faults) {
    readsBeforeFault = k
    const beforeFault = tf.memory().numTensors
    await expect(pass()).rejects.toThrow(LOST_MESSAGE)
    expect(readsBeforeFault, 'the fault was met').toBeNull()
    expect(tf.memory().numTensors - beforeFault, `tensors the failed pass left (readback ${k + 1} failed)`).toBe(0)
  }
}

describe('a split pass whose replica rows cannot be read back', () => {
  it('the frozen prefix (prefixRows): fails with the backend\'s error and leaves no tensor; without the fault it answers the one-worker pass', async () => {
    const model = new TinyGpt(cfg, undefined, 3)
    const tuning = new Tuning(model, s, 2)
    const cache = new FeatureCache(1, false, { train: 6, val: 0 })
    const { tokens, mask, labels } = rows()
    const split = inProcess(model, tuning)

    const one = tf.tidy(() => frozenPrefix(model, tuning, cache, tokens, mask))
    // The replica's tokens, then its mask, fail to read back.
    await answersThenFailsClean(() => prefixRows(model, tuning, cache, tokens, mask, split), one, [0, 1])

    tf.dispose([tokens, mask, labels])
    cache.dispose()
    tuning.dispose()
    model.dispose()
  })

  it('the head\'s outputs (headRows): fails with the backend\'s error and leaves no tensor; without the fault it answers the one-worker pass', async () => {
    const model = new TinyGpt(cfg, undefined, 3)
    const tuning = new Tuning(model, s, 2)
    const cache = new FeatureCache(0, false, { train: 6, val: 0 })
    const { tokens, mask, labels } = rows()
    const batch: Batch = { input: tokens, mask, labels }
    const split = inProcess(model, tuning)

    const one = tf.tidy(() => headLogits(model, tuning, batch, cache, s, false))
    // The replica's first, then its last batch entry (input, mask, labels) fail to read back.
    await answersThenFailsClean(() => headRows(model, tuning, batch, cache, split), one, [0, 2])

    tf.dispose([tokens, mask, labels])
    cache.dispose()
    tuning.dispose()
    model.dispose()
  })
})
