import { expect, smallSpamHam, test } from './fixtures'
import type { Page, Worker } from '@playwright/test'

// On WebAssembly with 2 or more cores a full fine-tuning run splits every batch between the
// training worker and a second engine worker (src/engine/train/dataParallel.ts,
// src/worker/gradientWorker.ts). This shows it in the built app: the badge says "2 workers",
// both workers run tfjs on one thread each and hold the model, and the run's validation losses
// equal those of the same run (same seed, dropout off) on one worker, within 1e-4: the split
// changes only the order float32 sums run in (the Node test, dataParallel.test.ts, says why
// that tolerance).

// sliced: attention's batched products ran as one XNNPACK product per slice
// (engine/models/slicedMatMul.ts registers its kernel the first time it runs one).
// lmFused: tiny-lm's layer norms, GELU, softmax, heads and bias gradients ran as one kernel each
// (engine/models/lmFused.ts registers them when TinyGpt first takes that path on wasm).
type EngineState = { backend: string; threads: number | null; tensors: number; isolated: boolean; sliced: boolean; lmFused: string[] }
const LM_FUSED = ['StudioGatherRows', 'StudioChannelNorm', 'StudioGelu', 'StudioCausalSoftmax', 'StudioSplitHeads', 'StudioHeadsToRows', 'StudioRowSum', 'StudioChannelNormGrad', 'StudioGeluGrad', 'StudioSoftmaxGrad', 'StudioMergeHeads', 'StudioRowsToHeads']

/** tfjs' engine in each worker that runs one (pthreads are blob: workers: skipped). */
async function engines(page: Page): Promise<{ url: string; state: EngineState }[]> {
  const out = await Promise.all(
    page.workers().filter((w: Worker) => !w.url().startsWith('blob:')).map(async (w) => {
      const state = await w
        .evaluate((lmKernels) => {
          const g = globalThis as unknown as { _tfengine?: { backendName: string; state: { numTensors: number }; backendInstance: { wasm?: { tfjs: { getThreadsCount(): number } } } }; _tfGlobals?: Map<string, Map<string, unknown>> }
          const e = g._tfengine
          const registry = g._tfGlobals?.get('kernelRegistry')
          const sliced = registry?.has('wasm_StudioSlicedBatchMatMul') ?? false
          const lmFused = lmKernels.filter((k) => registry?.has(`wasm_${k}`))
          return e ? { backend: e.backendName, threads: e.backendInstance?.wasm?.tfjs.getThreadsCount() ?? null, tensors: e.state.numTensors, isolated: crossOriginIsolated, sliced, lmFused } : null
        }, LM_FUSED)
        .catch(() => null)
      return state ? { url: w.url(), state } : null
    }),
  )
  return out.filter((x): x is { url: string; state: EngineState } => x !== null)
}

const QUERY = 'b=wasm&m=full&ep=2&sl=32&bs=8&wu=0&do=0'

async function trainOnce(studio: import('./pages/studio').StudioPage) {
  await studio.uploadDataset('small-spam-ham.csv', smallSpamHam(48))
  await studio.waitForDataset('small-spam-ham.csv')
  await studio.trainButton.click()
  await studio.waitFinished(120_000)
  return studio.series()
}

test('a full fine-tuning run on WebAssembly splits its batches over two workers (three when asked) and trains as one worker does', async ({ studio, page }) => {
  const cores = await page.evaluate(() => navigator.hardwareConcurrency)
  expect(cores, 'this check needs a machine with at least 2 cores').toBeGreaterThanOrEqual(2)

  await studio.open(QUERY)
  await expect.poll(() => studio.backend(), { timeout: 60_000 }).toBe('wasm')
  await expect(studio.badge).toContainText('on 2 workers of one thread each')
  const two = await trainOnce(studio)
  const both = await engines(page)
  expect(both.map((e) => e.url.includes('gradientWorker')).sort(), 'the training worker and the second worker').toEqual([false, true])
  for (const e of both) {
    expect(e.state.backend).toBe('wasm')
    expect(e.state.threads).toBe(1)
    expect(e.state.sliced, `${e.url}: attention's batched products as sliced XNNPACK products`).toBe(true)
    expect(e.state.lmFused, `${e.url}: tiny-lm's pieces between the products as fused kernels`).toEqual(LM_FUSED)
  }
  // Our WebAssembly SIMD modules (engine/models/heapTranspose.ts's transpose, lmSimd.ts's kernels)
  // were instantiated on each engine worker's tfjs-wasm memory, not left to their JavaScript
  // fallbacks (engine/models/heapModules.ts counts both outcomes; worker/benchReadouts.ts).
  type Loads = Record<string, { instantiated: number; failed: number }>
  const engineWorkers = page.workers().filter((w: Worker) => !w.url().startsWith('blob:'))
  const loads = await Promise.all(engineWorkers.map(async (w) => ({ url: w.url(), loads: await w.evaluate(() => ({ ...((globalThis as unknown as { __studioHeapModules?: Loads }).__studioHeapModules ?? {}) })) })))
  expect(loads.map((l) => l.url.includes('gradientWorker')).sort(), 'both engine workers read').toEqual([false, true])
  for (const l of loads) {
    for (const name of ['heapTranspose', 'lmSimd']) {
      expect(l.loads[name]?.instantiated ?? 0, `${l.url}: ${name}'s SIMD module instantiated`).toBeGreaterThanOrEqual(1)
      expect(l.loads[name]?.failed ?? 0, `${l.url}: ${name}'s SIMD module failed to instantiate`).toBe(0)
    }
  }
  // The second worker holds the run's model: the built-in LM's weights and the head.
  const second = both.find((e) => e.url.includes('gradientWorker'))!
  expect(second.state.tensors).toBeGreaterThan(40)
  // The halves ran at the same time: the second worker had its request before the training
  // worker's own half ended (engine/train/dataParallel.ts keeps each split step's timeline).
  // Chromium sends a worker's message only when its task ends: without the task boundary after
  // posting, every request arrived after the loop's half had run, and two workers were no faster.
  type Timed = { posted: number; mine: number; replica: { received: number } | null; handedBack: { grads: boolean; weights: boolean }; shared: boolean }
  const timeline = (await Promise.all(page.workers().map((w) => w.evaluate(() => (globalThis as unknown as { __studioDataParallelSteps?: Timed[] }).__studioDataParallelSteps ?? []).catch(() => [] as Timed[])))).flat()
  expect(timeline.length, 'split steps timed').toBeGreaterThanOrEqual(10) // 2 epochs of 5 batches of 8 (40 training rows)
  const overlapped = timeline.filter((t) => t.replica !== null && t.replica.received < t.mine)
  console.info(`request received after posting: ${timeline.map((t) => (t.replica ? (t.replica.received - t.posted).toFixed(1) : '–')).join(', ')} ms; the loop's half took ${timeline.map((t) => (t.mine - t.posted).toFixed(0)).join(', ')} ms`)
  expect(overlapped.length, 'steps whose halves overlapped').toBeGreaterThanOrEqual(timeline.length * 0.8)
  // The page is cross-origin isolated, so the changed weights and the gradients went through the
  // real messages as views of one SharedArrayBuffer both workers hold (dataParallel.ts
  // sharedExchange): every request named the gradient region, and no weights array came back.
  expect(timeline.every((t) => t.shared), 'steps through the shared buffer').toBe(true)
  expect(timeline.every((t) => t.handedBack.grads && !t.handedBack.weights), 'gradient region named, no weights array handed back').toBe(true)
  await expect(studio.alerts).toHaveCount(0)

  // The same run on three workers, as a machine with 6 or more logical processors gets by
  // default (worker/backendEnvironment.ts engineWorkersFor); asked for through localStorage
  // "studio.workers" here, where there are 2 cores: this checks the sharing, not the speed. Both
  // other workers hold the model.
  await page.evaluate(() => localStorage.setItem('studio.workers', '3'))
  await studio.open(QUERY)
  await expect(studio.badge).toContainText('on 3 workers of one thread each')
  const three = await trainOnce(studio)
  const all = await engines(page)
  expect(all.map((e) => e.url.includes('gradientWorker')).sort(), 'the training worker and two others').toEqual([false, true, true])
  for (const e of all) expect(e.state.tensors, `${e.url} holds the model`).toBeGreaterThan(40)
  const shares = (await Promise.all(page.workers().map((w) => w.evaluate(() => ((globalThis as unknown as { __studioDataParallelSteps?: { shares?: number[] }[] }).__studioDataParallelSteps ?? []).map((t) => t.shares ?? null)).catch(() => [] as (number[] | null)[])))).flat()
  expect(shares.length, 'split steps timed').toBeGreaterThanOrEqual(10)
  // 39 training rows an epoch: four batches of 8 (3 + 3 + 2) and one of 7 (3 + 2 + 2).
  const seen = shares.map((s) => JSON.stringify(s))
  expect(seen.filter((s) => s === '[3,3,2]').length, `batches of 8 shared 3 + 3 + 2: ${seen.join(' ')}`).toBe(8)
  expect(seen.filter((s) => s === '[3,2,2]').length, `batches of 7 shared 3 + 2 + 2: ${seen.join(' ')}`).toBe(2)
  await expect(studio.alerts).toHaveCount(0)
  await page.evaluate(() => localStorage.removeItem('studio.workers'))

  // The same run on one worker: the page asks for it through localStorage "studio.cpu".
  await page.evaluate(() => localStorage.setItem('studio.cpu', 'one'))
  await studio.open(QUERY)
  await expect(studio.badge).toContainText('on one thread (chosen for a comparison)')
  const one = await trainOnce(studio)
  const alone = await engines(page)
  expect(alone.map((e) => e.url.includes('gradientWorker')), 'one worker, no second').toEqual([false])
  await page.evaluate(() => localStorage.removeItem('studio.cpu'))

  console.info(`validation losses: 2 workers ${two.epochs.map((e) => e.valLoss).join(', ')}; 3 workers ${three.epochs.map((e) => e.valLoss).join(', ')}; 1 worker ${one.epochs.map((e) => e.valLoss).join(', ')}`)
  expect(two.epochs).toHaveLength(2)
  expect(three.epochs).toHaveLength(2)
  expect(one.epochs).toHaveLength(2)
  for (const [workers, split] of [[2, two], [3, three]] as const) {
    split.epochs.forEach((e, i) => {
      expect(Number.isFinite(e.valLoss)).toBe(true)
      expect(Math.abs(e.valLoss - one.epochs[i]!.valLoss), `validation loss, epoch ${i + 1}: ${e.valLoss} (${workers} workers) vs ${one.epochs[i]!.valLoss} (1)`).toBeLessThan(1e-4)
    })
  }
  expect(two.steps.length).toBeGreaterThan(1)
})

/** What the page shows of a run: its per-epoch validation figures, the line to beat and the
 *  best result (src/testHooks.ts), and the requests the second worker answered, by kind. */
type Figures = { epochs: { valLoss: number; valAcc?: number }[]; baseline: { metrics: Record<string, unknown>; note: string; name?: string } | null; result: { summary: { best: Record<string, unknown> } } | null }
async function figures(page: Page): Promise<Figures> {
  return page.evaluate(() => (window as unknown as { __studio: () => Figures }).__studio())
}
async function replicaRequests(page: Page): Promise<Record<string, number>> {
  const second = page.workers().find((w) => w.url().includes('gradientWorker'))
  if (!second) return {}
  return second.evaluate(() => ({ ...((globalThis as unknown as { __studioReplicaRequests?: Record<string, number> }).__studioReplicaRequests ?? {}) }))
}
/** A metric's number, NaN for none (a zero-shot line to beat has no loss). */
const num = (x: unknown) => (typeof x === 'number' ? x : NaN)
const sameNumber = (a: unknown, b: unknown, tol: number) => (Number.isNaN(num(a)) && Number.isNaN(num(b))) || Math.abs(num(a) - num(b)) <= tol

// The default run's kind (the first three of four blocks frozen and cached): on two workers
// its zero-shot baseline, the frozen blocks' pass of every row, the base model's and each
// epoch's evaluation halve their rows between the workers (engine/train/inferencePasses.ts).
// Its figures must be those of the same run on one worker: the line to beat (measured before
// any step) within 1e-6 and its accuracy exactly; the epochs' validation losses within 1e-4 and
// accuracies exactly (the training steps are split too, so the weights differ by float rounding,
// as the test above says).
test('a frozen-blocks run on two workers halves its baseline, cache and evaluation passes, and shows the validation figures of one worker', async ({ studio, page }) => {
  const query = 'b=wasm&m=freeze&ep=2&sl=32&bs=8&wu=0&do=0'
  await studio.open(query)
  await expect(studio.badge).toContainText('on 2 workers of one thread each')
  await trainOnce(studio)
  const two = await figures(page)
  const asked = await replicaRequests(page)
  console.info(`the second worker answered ${JSON.stringify(asked)}`)
  expect(asked.labelLogProbs ?? 0, 'its half of the zero-shot baseline (one request a batch of 32 prompts)').toBeGreaterThanOrEqual(1)
  expect(asked.prefix ?? 0, "its half of the frozen blocks' pass: the validation rows, then each training batch of the first epoch").toBeGreaterThanOrEqual(2)
  expect(asked.head ?? 0, "its half of the base model's and both epochs' evaluations").toBeGreaterThanOrEqual(3)
  expect(asked.half ?? 0, 'its half of every training step').toBeGreaterThanOrEqual(8)
  await expect(studio.alerts).toHaveCount(0)

  await page.evaluate(() => localStorage.setItem('studio.cpu', 'one'))
  await studio.open(query)
  await expect(studio.badge).toContainText('on one thread (chosen for a comparison)')
  await trainOnce(studio)
  const one = await figures(page)
  await page.evaluate(() => localStorage.removeItem('studio.cpu'))

  console.info(`line to beat: ${JSON.stringify(two.baseline)} (2 workers) vs ${JSON.stringify(one.baseline)} (1); validation: ${JSON.stringify(two.epochs.map((e) => [e.valLoss, e.valAcc]))} vs ${JSON.stringify(one.epochs.map((e) => [e.valLoss, e.valAcc]))}`)
  expect(two.baseline?.name).toBe(one.baseline?.name)
  expect(two.baseline?.note, 'the note names each candidate: the zero-shot LM and the untrained head with their accuracies').toBe(one.baseline?.note)
  expect(two.baseline?.metrics.accuracy).toBe(one.baseline?.metrics.accuracy)
  expect(sameNumber(two.baseline?.metrics.loss, one.baseline?.metrics.loss, 1e-6), 'line to beat: loss').toBe(true)
  expect(two.epochs).toHaveLength(2)
  expect(one.epochs).toHaveLength(2)
  two.epochs.forEach((e, i) => {
    expect(Number.isFinite(e.valLoss)).toBe(true)
    expect(Math.abs(e.valLoss - one.epochs[i]!.valLoss), `validation loss, epoch ${i + 1}`).toBeLessThan(1e-4)
    expect(e.valAcc, `validation accuracy, epoch ${i + 1}`).toBe(one.epochs[i]!.valAcc)
  })
  expect(two.result?.summary.best.accuracy).toBe(one.result?.summary.best.accuracy)
})

const FAULTS = [
  // It ends itself, as a killed worker would: no error event, only its Web Lock freed.
  { name: 'ends', words: /The second training worker ended/, fault: () => (self as unknown as { close(): void }).close() },
  // An error nothing in it catches. Seen either as the Worker's error event in the training
  // worker or as the next half failing there; either way the run's end message words it.
  { name: 'throws an uncaught error', words: /The second training worker (stopped on an error|failed \(it hit an error it could not recover from\))/, fault: () => void setTimeout(() => { throw new Error('a fault injected by the test') }) },
]

for (const { name, words, fault } of FAULTS) test(`the second worker ${name} mid-run: the run finishes in one worker and says so, and the next run has two again`, async ({ studio, page }) => {
  await studio.open('b=wasm&m=full&ep=3&sl=32&bs=8&wu=0&do=0')
  await expect(studio.badge).toContainText('on 2 workers of one thread each')
  await studio.uploadDataset('small-spam-ham.csv', smallSpamHam(48))
  await studio.waitForDataset('small-spam-ham.csv')
  await studio.trainButton.click()
  await expect.poll(() => studio.lossPoints(), { timeout: 60_000 }).toBeGreaterThan(0)
  const second = page.workers().find((w) => w.url().includes('gradientWorker'))
  expect(second, 'the second worker is running').toBeTruthy()
  void second!.evaluate(fault).catch(() => {})
  const text = await studio.waitEnded(120_000)
  expect(text).toMatch(/^Training complete — /)
  expect(text).toMatch(new RegExp(`${words.source}; the run went on in one worker with the same numbers, at about half the speed\\.$`))
  expect(text).not.toContain('injected') // the engine's own text stays in the console
  await expect(studio.badge).toContainText('in this run the second worker stopped')
  await expect(studio.alerts).toHaveCount(0)

  // The next run starts a fresh second worker.
  await studio.trainButton.click()
  await studio.waitFinished(120_000)
  expect(await studio.status.innerText()).not.toContain('second training worker')
  await expect(studio.badge).toContainText('on 2 workers of one thread each')
  await expect(studio.badge).not.toContainText('stopped')
  expect(page.workers().filter((w) => w.url().includes('gradientWorker')).length).toBeGreaterThanOrEqual(1)
})

// A batch of one row on two workers (39 training rows at batch 19: 19, 19, then 1): the row stays
// on the training worker. Before, the second worker was sent a half of no rows, its forward pass
// failed ('StudioSplitHeads: … B = 0') and so did the same half recomputed on the first, so every
// dataset whose training rows were one more than a multiple of the batch ended its run on that.
test('a last batch of one row on two workers: the run trains it and finishes', async ({ studio }) => {
  await studio.open('b=wasm&m=full&ep=2&sl=32&bs=19&wu=0&do=0')
  await expect(studio.badge).toContainText('on 2 workers of one thread each')
  const { epochs } = await trainOnce(studio)
  const text = await studio.status.innerText()
  expect(text).toMatch(/^Training complete — /)
  expect(text).not.toMatch(/Studio|B = 0|worker/)
  expect(epochs).toHaveLength(2)
  for (const e of epochs) expect(Number.isFinite(e.valLoss)).toBe(true)
  await expect(studio.alerts).toHaveCount(0)
})

// The Evaluate panel's blend of base and tuned weights outside a run (engine/train/evaluationSplit.ts):
// each α's evaluation halves its validation rows between the training worker and the second
// worker, as a run's evaluations do. Both sweeps here run in one page on the same trained weights,
// the second with the split switched off in the training worker (__studioEvaluationOneWorker, not
// in the production build): the second worker answers the first sweep's passes and none of the
// second's, and the figures at every α are the same.
test("the Evaluate panel's sweep over α halves its evaluations over both workers and shows one worker's figures", async ({ studio, page }) => {
  await studio.open('b=wasm&m=full&ep=1&sl=32&bs=8&wu=0&do=0')
  await expect(studio.badge).toContainText('on 2 workers of one thread each')
  await trainOnce(studio)
  type Point = { alpha: number; loss: number; accuracy?: number }
  const sweep = async (): Promise<Point[]> => {
    const button = page.getByRole('button', { name: 'Sweep α from 0 to 1' })
    await button.click()
    await expect(button).toBeDisabled() // measuring
    await expect(button).toBeEnabled({ timeout: 120_000 })
    await expect(page.getByTestId('sweep-chart')).toHaveAttribute('data-points', '11')
    return page.evaluate(() => (window as unknown as { __studio: () => { sweep: Point[] } }).__studio().sweep)
  }
  const before = (await replicaRequests(page)).head ?? 0
  const two = await sweep()
  const asked = (await replicaRequests(page)).head ?? 0
  expect(asked - before, "the second worker's half of each α's evaluation (the validation rows are one batch)").toBe(11)

  const training = page.workers().find((w) => w.url().includes('engine.worker'))!
  expect(training, 'the training worker').toBeTruthy()
  await training.evaluate(() => void ((globalThis as unknown as { __studioEvaluationOneWorker: boolean }).__studioEvaluationOneWorker = true))
  const one = await sweep()
  await training.evaluate(() => void ((globalThis as unknown as { __studioEvaluationOneWorker: boolean }).__studioEvaluationOneWorker = false))
  expect((await replicaRequests(page)).head ?? 0, 'the one-worker sweep asked the second worker nothing').toBe(asked)

  console.info(`sweep, two workers: ${JSON.stringify(two.map((p) => [p.alpha, p.loss, p.accuracy]))}; one worker: ${JSON.stringify(one.map((p) => [p.alpha, p.loss, p.accuracy]))}`)
  expect(two).toHaveLength(11)
  expect(new Set(two.map((p) => p.loss)).size, 'the blend moves the figures').toBeGreaterThan(1)
  expect(two).toEqual(one)
  await expect(studio.alerts).toHaveCount(0)
})
