/** Checkpoint save and load through the studio's own storage code (src/engine/storage) in this
 *  page's real IndexedDB: a real end-of-epoch checkpoint of a full fine-tuning run (weights and
 *  Adam moments), written and read back as the worker does, then assigned to the variables. */
import * as tf from '@tensorflow/tfjs'
import { blobBytes, deleteCheckpoints, loadCheckpoint, saveCheckpoint } from '../../src/engine/storage/checkpoints'
import { openStudioDb } from '../../src/engine/storage/db'
import type { CheckpointMeta } from '../../src/engine/storage/types'
import { fineTune, Tuning } from '../../src/engine/train/fineTune'
import { assignTensors, stableNames, type LoopCheckpoint } from '../../src/engine/train/loopState'
import { RunControl } from '../../src/engine/train/runControl'
import { benchSettings, now } from './loops'
import { slice, type Workload } from './workloads'

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1] ?? NaN

export async function checkpointBench(w: Workload, reps: number) {
  const s = { ...benchSettings(w, 'full', 8, w.all.kind === 'image' ? 64 : w.all.seqLen, 1), optimizer: 'adamw' as const }
  const tuning = new Tuning(w.model, s, w.classes)
  let ck: LoopCheckpoint | null = null
  let epochEndAt = 0
  let readMs = NaN
  await fineTune(w.model, tuning, { train: slice(w.all, 0, 16), val: slice(w.all, 100, 8) }, s, new RunControl(), {
    onEpoch: () => void (epochEndAt = now()),
    // Called after the loop has read the weights and optimizer state off the device.
    onCheckpoint: (c) => {
      ck = c
      readMs = now() - epochEndAt
    },
  })
  if (!ck) throw new Error('the run made no checkpoint')
  const c: LoopCheckpoint = ck
  const db = await openStudioDb('bench-checkpoints')
  const blob = { weights: c.weights, optimizer: c.optimizer, loop: c.loop }
  const bytes = blobBytes(blob)
  const save: number[] = []
  const load: number[] = []
  const assign: number[] = []
  const names = stableNames(w.model, tuning.parts)
  const estimate = () => navigator.storage.estimate()
  try {
    for (let i = 0; i < reps; i++) {
      const meta: Omit<CheckpointMeta, 'bytes'> = {
        id: `bench-${i}`, runId: 'bench', name: `Epoch ${i}`, createdAt: Date.now(), epoch: 1, step: c.loop.step,
        train: c.train, val: { loss: c.val.loss }, monitored: c.monitored, mode: c.mode, isBest: c.isBest, pinned: false,
        method: s.method, settings: s, modelId: w.id, datasetId: 'bench', datasetName: 'bench',
      }
      let t = now()
      const r = await saveCheckpoint(db, meta, blob, estimate)
      if (!r.ok) throw new Error(r.error.message)
      save.push(now() - t)
      t = now()
      const back = await loadCheckpoint(db, meta.id)
      load.push(now() - t)
      if (!back || blobBytes(back.blob) !== bytes) throw new Error('the checkpoint came back with another size')
      t = now()
      assignTensors(back.blob.weights, names)
      await Promise.all(w.model.params.map((p) => p.variable.data())) // the upload has landed
      assign.push(now() - t)
    }
  } finally {
    await deleteCheckpoints(db, Array.from({ length: reps }, (_, i) => `bench-${i}`))
    db.close()
    tuning.dispose()
  }
  const mb = bytes / 1e6
  return {
    via: 'src/engine/storage/checkpoints.ts saveCheckpoint / loadCheckpoint (one transaction each, with the storage-estimate check), real IndexedDB',
    model: w.id,
    tensors: c.weights.length,
    optimizerGroups: c.optimizer.length,
    megabytes: mb,
    readFromDeviceMs: readMs,
    saveMs: median(save),
    loadMs: median(load),
    assignMs: median(assign),
    saveMBps: mb / (median(save) / 1000),
    loadMBps: mb / (median(load) / 1000),
    restoreMBps: mb / ((median(load) + median(assign)) / 1000),
    backend: tf.getBackend(),
  }
}
