import { expect, smallSpamHam, test } from './fixtures'

// In its 'threads' CPU mode (src/worker/backendEnvironment.ts, CpuMode: the page asks for it
// through localStorage "studio.cpu"; the default on 2+ cores is two engine workers of one thread,
// e2e/data-parallel.spec.ts) the built app's training worker runs tfjs' WebAssembly backend on
// several threads: its pthreads start from the bundled app (wasmThreads.plugin.ts) and XNNPACK
// gets the threads wasmThreadsFor chooses: 2 on a 2-core machine, one fewer than the cores above
// that. The count is read from the running backend itself, not from what the page says.
test('WebAssembly trains in the worker on at least two threads, and the badge says how many', async ({ studio, page }) => {
  await page.addInitScript(() => localStorage.setItem('studio.cpu', 'threads'))
  const cores = await page.evaluate(() => navigator.hardwareConcurrency)
  expect(cores, 'this check needs a machine with at least 2 cores').toBeGreaterThanOrEqual(2)
  await studio.open('b=wasm&ep=1&sl=32&bs=8&wu=0')
  await expect.poll(() => studio.backend(), { timeout: 60_000 }).toBe('wasm')
  expect(await page.evaluate(() => crossOriginIsolated)).toBe(true)

  // tfjs keeps its engine on the worker's global `_tfengine`; the wasm backend's own C++ call
  // get_threads_count() answers how many threads XNNPACK's pool really has. The pthreads are
  // blob: workers of their own, and one waiting on a lock never answers an evaluate: skip them.
  const pthreads = page.workers().filter((w) => w.url().startsWith('blob:'))
  expect(pthreads.length, 'the pthread workers tfjs starts').toBeGreaterThanOrEqual(1)
  const inWorker = await Promise.all(
    page.workers().filter((w) => !w.url().startsWith('blob:')).map((w) =>
      w
        .evaluate(() => {
          const e = (globalThis as unknown as { _tfengine?: { backendName: string; backendInstance: { wasm?: { tfjs: { getThreadsCount(): number } } } } })._tfengine
          const wasm = e?.backendInstance?.wasm
          return e && wasm ? { backend: e.backendName, threads: wasm.tfjs.getThreadsCount(), isolated: crossOriginIsolated } : null
        })
        .catch(() => null),
    ),
  )
  const engines = inWorker.filter((x) => x !== null)
  expect(engines, 'exactly one worker runs tfjs').toHaveLength(1)
  const engine = engines[0]!
  expect(engine.backend).toBe('wasm')
  expect(engine.isolated).toBe(true)
  expect(engine.threads).toBeGreaterThanOrEqual(2)
  expect(engine.threads).toBeLessThanOrEqual(cores)
  await expect(studio.badge).toContainText(`on ${engine.threads} threads`)

  // And it trains there: a short run on a small real dataset ends with finite losses.
  await studio.uploadDataset('small-spam-ham.csv', smallSpamHam(48))
  await studio.waitForDataset('small-spam-ham.csv')
  await studio.trainButton.click()
  await studio.waitFinished(120_000)
  const { steps } = await studio.series()
  expect(steps.length).toBeGreaterThan(1)
  expect(steps.every((s) => Number.isFinite(s.loss))).toBe(true)
  await expect(studio.alerts).toHaveCount(0)
})
