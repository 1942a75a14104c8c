import { expect, smallSpamHam, test } from './fixtures'
import type { Page } from '@playwright/test'

// On WebAssembly the optimizer's update and the gradient clipping run as one kernel a weight and
// two kernels a step, and two workers' halves are combined in one (src/engine/train/fusedUpdate.ts:
// a SIMD WebAssembly module bound to the backend's memory), not as about 19 tf ops a weight. This shows it in the built app's training
// worker: tfjs registers those kernels the first time the optimizer or the clipping runs one, so
// after a run they are in the worker's kernel registry only if that path ran, and the run trained
// (finite losses, no alert). That the kernels give the same numbers as the tf ops, bit for bit,
// is fusedUpdate.test.ts's (Node, wasm and cpu).

/** The fused kernels registered in the training worker (the engine worker, not the second). */
async function fusedKernels(page: Page): Promise<string[]> {
  const workers = page.workers().filter((w) => !w.url().startsWith('blob:') && !w.url().includes('gradientWorker'))
  const names = await Promise.all(
    workers.map((w) =>
      w
        .evaluate(() => {
          const g = globalThis as unknown as { _tfengine?: { backendName: string }; _tfGlobals?: Map<string, Map<string, unknown>> }
          if (!g._tfengine) return []
          return [...(g._tfGlobals?.get('kernelRegistry')?.keys() ?? [])].filter((k) => /^wasm_Studio(AdamUpdate|SgdUpdate|SumSquares|ScaleAll|CombineHalves)$/.test(k))
        })
        .catch(() => [] as string[]),
    ),
  )
  return names.flat().sort()
}

test('on WebAssembly the AdamW update and the gradient clipping run as fused kernels in the training worker, and SGD with momentum too', async ({ studio, page }) => {
  // Full fine-tuning, AdamW with weight decay, clipping at 1 (the default), 1 epoch of 24 rows.
  await studio.open('b=wasm&m=full&o=adamw&wd=0.01&cn=1&ep=1&sl=32&bs=8&wu=0&do=0')
  await expect.poll(() => studio.backend(), { timeout: 60_000 }).toBe('wasm')
  await studio.uploadDataset('fused.csv', smallSpamHam(30))
  await studio.waitForDataset('fused.csv')
  await studio.trainButton.click()
  await studio.waitFinished(120_000)
  const adam = await studio.series()
  expect(adam.steps.length).toBeGreaterThan(0)
  for (const s of adam.steps) expect(Number.isFinite(s.loss), `step ${s.step} loss ${s.loss}`).toBe(true)
  // With two engine workers (2+ cores: the badge says so) the halves' gradients are combined in one kernel too.
  const twoWorkers = ((await studio.badge.textContent()) ?? '').includes('on 2 workers')
  expect(await fusedKernels(page)).toEqual([...(twoWorkers ? ['wasm_StudioCombineHalves'] : []), 'wasm_StudioAdamUpdate', 'wasm_StudioScaleAll', 'wasm_StudioSumSquares'].sort())
  await expect(studio.alerts).toHaveCount(0)

  // SGD with momentum, clipping off: a fresh page, so a fresh training worker.
  await studio.open('b=wasm&m=full&o=sgd&mo=0.9&cn=0&ep=1&sl=32&bs=8&wu=0&do=0')
  await expect.poll(() => studio.backend(), { timeout: 60_000 }).toBe('wasm')
  await studio.uploadDataset('fused-sgd.csv', smallSpamHam(30))
  await studio.waitForDataset('fused-sgd.csv')
  await studio.trainButton.click()
  await studio.waitFinished(120_000)
  const sgd = await studio.series()
  for (const s of sgd.steps) expect(Number.isFinite(s.loss), `step ${s.step} loss ${s.loss}`).toBe(true)
  expect(await fusedKernels(page)).toEqual([...(twoWorkers ? ['wasm_StudioCombineHalves'] : []), 'wasm_StudioSgdUpdate'].sort())
  await expect(studio.alerts).toHaveCount(0)
})
