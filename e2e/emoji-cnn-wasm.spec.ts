import type { Page } from '@playwright/test'
import { expect, test } from './fixtures'

// Full fine-tuning of the built-in emoji CNN on WebAssembly in the built app: the CNN's fused
// kernels (src/engine/models/cnnFused.ts: the depthwise 3×3, ReLU6, channel norm, pool and
// im2col as one kernel each, forward and backward) run in both engine workers, and the run's
// validation figures equal those of the same run (same seed, dropout off) on one worker with
// the CNN as tf ops, the way it ran before (the test build's switch __studioCnnOpPath,
// worker/benchReadouts.ts). The line to beat (the untrained head on the CNN's features, before
// any step: forward passes only) agrees within 1e-5. The two differ only in the order float32
// sums run in, but 20 Adam steps amplify that: in Node the same run's validation loss on the
// cpu backend and on wasm, both as tf ops, differed by 3e-3 relative, the fused kernels' by 4e-4
// from cpu's; so after the epoch the validation loss is held to 1 %.

const QUERY = 'b=wasm&m=full&ep=1&bs=8&wu=0&do=0'

/** For each engine worker of the page (pthreads' blob: workers skipped): whether the CNN's fused
 *  kernels were registered there (they are on first use) and whether the op-path switch is on. */
async function cnnKernels(page: Page) {
  const out = await Promise.all(
    page.workers().filter((w) => !w.url().startsWith('blob:')).map((w) =>
      w
        .evaluate(() => {
          const g = globalThis as unknown as { _tfengine?: { backendName: string }; _tfGlobals?: Map<string, Map<string, unknown>>; __studioCnnOpPath?: boolean }
          if (!g._tfengine) return null
          const reg = g._tfGlobals?.get('kernelRegistry')
          return { url: location.href, backend: g._tfengine.backendName, fused: ['StudioDepthwise3x3', 'StudioChannelNorm', 'StudioRelu6Grad'].every((k) => reg?.has(`wasm_${k}`) ?? false), opPath: g.__studioCnnOpPath ?? null }
        })
        .catch(() => null),
    ),
  )
  return out.filter((x) => x !== null)
}

async function loadAndTrain(studio: import('./pages/studio').StudioPage, page: Page, opPath: boolean, loopNests = false) {
  await page.getByLabel('Sample dataset').selectOption('emoji-openmoji.zip')
  await studio.waitForDataset('emoji-openmoji.zip')
  await page.getByRole('button', { name: /^Emoji CNN/ }).click()
  await expect(page.getByTestId('model-title')).toContainText('Emoji CNN', { timeout: 120_000 })
  await expect(page.getByLabel('Method', { exact: true })).toHaveValue('full')
  await expect(studio.trainButton).toBeEnabled({ timeout: 30_000 })
  for (const w of page.workers()) await w.evaluate((on) => void ((globalThis as unknown as { __studioCnnOpPath?: boolean }).__studioCnnOpPath = on), opPath).catch(() => {})
  for (const w of page.workers()) await w.evaluate((on) => void ((globalThis as unknown as { __studioCnnLoopNests?: boolean }).__studioCnnLoopNests = on), loopNests).catch(() => {})
  await studio.trainButton.click()
  await studio.waitFinished(180_000)
  const baseline = await page.evaluate(() => (window as unknown as { __studio: () => { baseline: { name?: string; metrics: Record<string, unknown> } | null } }).__studio().baseline)
  return { ...(await studio.series()), baseline }
}

/** The page opened again after a run: it keeps the emoji images (stored in this browser) but
 *  starts on the built-in Tiny LM, which cannot train on them, so Train waits and the plan says
 *  why until loadAndTrain loads the Emoji CNN. */
async function reopen(studio: import('./pages/studio').StudioPage, page: Page) {
  await studio.open(QUERY, { trainable: false })
  await expect(page.getByText(/Tiny LM reads text, but emoji-openmoji\.zip is an image dataset/).first()).toBeVisible({ timeout: 30_000 })
  await expect(studio.trainButton).toBeDisabled()
}

test('the emoji CNN fine-tunes fully on WebAssembly with its fused kernels in both workers, as the op path does on one', async ({ studio, page }) => {
  test.setTimeout(240_000)
  await studio.open(QUERY)
  await expect.poll(() => studio.backend(), { timeout: 60_000 }).toBe('wasm')
  await expect(studio.badge).toContainText('on 2 workers of one thread each')
  const fused = await loadAndTrain(studio, page, false)
  const two = await cnnKernels(page)
  expect(two.map((e) => e.url.includes('gradientWorker')).sort(), 'the training worker and the second worker').toEqual([false, true])
  for (const e of two) {
    expect(e.backend).toBe('wasm')
    expect(e.fused, `${e.url}: the CNN's fused kernels ran`).toBe(true)
    expect(e.opPath).toBe(false)
  }
  await expect(studio.alerts).toHaveCount(0)

  // The same run on one worker, the CNN as tf ops (the page asks for one worker through
  // localStorage "studio.cpu"; the switch is set in that worker before the click).
  await page.evaluate(() => localStorage.setItem('studio.cpu', 'one'))
  await reopen(studio, page)
  await expect(studio.badge).toContainText('on one thread (chosen for a comparison)')
  const ops = await loadAndTrain(studio, page, true)
  const one = await cnnKernels(page)
  expect(one.map((e) => e.opPath), 'one worker, running the CNN as tf ops').toEqual([true])
  await page.evaluate(() => localStorage.removeItem('studio.cpu'))

  console.info(`line to beat: ${JSON.stringify(fused.baseline)} (fused, 2 workers) vs ${JSON.stringify(ops.baseline)} (tf ops, 1); validation: fused on 2 workers ${fused.epochs.map((e) => `${e.valLoss} (acc ${e.valAcc})`).join(', ')}; tf ops on 1 worker ${ops.epochs.map((e) => `${e.valLoss} (acc ${e.valAcc})`).join(', ')}`)
  expect(fused.baseline?.name).toBe(ops.baseline?.name)
  expect(fused.baseline?.metrics.accuracy).toBe(ops.baseline?.metrics.accuracy)
  const [b2, b1] = [fused.baseline?.metrics.loss, ops.baseline?.metrics.loss]
  if (typeof b1 === 'number') expect(Math.abs((b2 as number) - b1), 'line to beat: loss').toBeLessThan(1e-5)
  expect(fused.epochs).toHaveLength(1)
  expect(ops.epochs).toHaveLength(1)
  const [v2, v1] = [fused.epochs[0]!.valLoss, ops.epochs[0]!.valLoss]
  expect(Number.isFinite(v2)).toBe(true)
  expect(Math.abs(v2 - v1) / v1, `validation loss ${v2} (fused, 2 workers) vs ${v1} (tf ops, 1)`).toBeLessThan(0.01)
  expect(fused.steps.length).toBeGreaterThan(1)
  expect(fused.steps.every((s) => Number.isFinite(s.loss))).toBe(true)
})

// The CNN's JavaScript kernels run one image row per call of a function of their own (V8
// optimises those as functions; the loop nests they were, once a step each, only by on-stack
// replacement, which deoptimised at every inner-loop exit: bench/results/2026-12-06T22-00-…). The
// same arithmetic in the same order: the run on two workers ends with the nests' run's validation
// figures bit for bit, and its line to beat is the same (the test build's switch __studioCnnLoopNests,
// models/cnnLoopNests.ts, set in both workers before the click).
test('the emoji CNN kernels as per-row functions give the loop nests\' run bit for bit on two workers', async ({ studio, page }) => {
  test.setTimeout(240_000)
  const nestsOn = async () =>
    Promise.all(page.workers().filter((w) => !w.url().startsWith('blob:')).map((w) => w.evaluate(() => (globalThis as unknown as { __studioCnnLoopNests?: boolean }).__studioCnnLoopNests ?? null).catch(() => null)))
  await studio.open(QUERY)
  await expect(studio.badge).toContainText('on 2 workers of one thread each')
  const nests = await loadAndTrain(studio, page, false, true)
  expect((await nestsOn()).filter((x) => x !== null), 'both workers ran the loop nests').toEqual([true, true])
  await reopen(studio, page)
  await expect(studio.badge).toContainText('on 2 workers of one thread each')
  const rows = await loadAndTrain(studio, page, false, false)
  expect((await nestsOn()).filter((x) => x !== null)).toEqual([false, false])
  await expect(studio.alerts).toHaveCount(0)
  // How many chart points a run gets depends on timing (losses are read a group at a time), so
  // only that there are several.
  expect(rows.steps.length).toBeGreaterThan(1)
  expect(rows.steps.every((s) => Number.isFinite(s.loss))).toBe(true)
  // The chart's step points are the losses read a group at a time (which steps a point stands for
  // depends on timing), so the comparison is of what a run ends with: after an epoch of Adam steps
  // any difference in any step's gradients would show in the validation loss. The line to beat
  // (forward passes only) is equal too.
  expect(rows.baseline?.metrics.loss).toBe(nests.baseline?.metrics.loss)
  expect(typeof rows.baseline?.metrics.loss).toBe('number')
  expect(rows.epochs).toHaveLength(1)
  expect(nests.epochs).toHaveLength(1)
  expect(Number.isFinite(rows.epochs[0]!.valLoss)).toBe(true)
  expect(rows.epochs[0]!.valLoss).toBe(nests.epochs[0]!.valLoss)
  expect(rows.epochs[0]!.valAcc).toBe(nests.epochs[0]!.valAcc)
})
