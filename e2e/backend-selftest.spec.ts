import type { Page, Worker } from '@playwright/test'
import { expect, smallSpamHam, test } from './fixtures'

// The backend self-test against a real fault. Nothing in the app stands for the fault: the
// browser's own WebGL is broken inside the training worker, the way a bad driver breaks it
// (all-zero results read back, tfjs#7733), by rewriting the WebGL2 read-back calls the
// backend uses. The studio has to notice from the numbers alone.

/** The training worker, which runs the self-test (the wasm pthreads are blob: workers, and the
 *  second engine worker of data-parallel runs, gradientWorker, runs TensorFlow.js too: skip
 *  them). */
async function engineWorker(page: Page): Promise<Worker> {
  let found: Worker | undefined
  await expect
    .poll(async () => {
      for (const w of page.workers().filter((x) => !x.url().startsWith('blob:') && /engine\.worker/.test(x.url()))) {
        const has = await w.evaluate(() => '_tfengine' in globalThis).catch(() => false)
        if (has) found = w
      }
      return found !== undefined
    }, { timeout: 60_000 })
    .toBe(true)
  return found!
}

/** Every byte the GPU hands back reads 0, whatever was computed. */
const zeroWebglReads = () => {
  const proto = WebGL2RenderingContext.prototype
  const readPixels = proto.readPixels
  const getBufferSubData = proto.getBufferSubData
  const zero = (a: unknown) => {
    if (ArrayBuffer.isView(a)) new Uint8Array(a.buffer, a.byteOffset, a.byteLength).fill(0)
  }
  proto.readPixels = function (this: WebGL2RenderingContext, ...args: unknown[]) {
    ;(readPixels as (...a: unknown[]) => void).apply(this, args)
    args.forEach(zero)
  } as typeof proto.readPixels
  proto.getBufferSubData = function (this: WebGL2RenderingContext, ...args: unknown[]) {
    ;(getBufferSubData as (...a: unknown[]) => void).apply(this, args)
    args.forEach(zero)
  } as typeof proto.getBufferSubData
  return true
}

test('a backend that computes garbage fails the self-test: the studio says so, falls back to the next backend, and trains', async ({ studio, page }) => {
  await studio.open('ep=1&sl=32&bs=8&wu=0')
  const backendSetting = page.getByLabel('Backend', { exact: true })

  await test.step('first, with the browser intact, WebGL passes the self-test and is used', async () => {
    await backendSetting.selectOption('webgl')
    await expect(studio.badge).toHaveAttribute('data-backend', 'webgl', { timeout: 60_000 })
    await expect(studio.badge).toContainText('chosen in settings')
    await backendSetting.selectOption('auto')
    await expect(studio.badge).toContainText('measured fastest', { timeout: 60_000 })
  })

  await test.step('break WebGL inside the training worker, then choose it again', async () => {
    const worker = await engineWorker(page)
    expect(await worker.evaluate(zeroWebglReads)).toBe(true)
    await backendSetting.selectOption('webgl')
  })

  await test.step('the self-test notices, the badge and a message say so in words, and WebAssembly takes over', async () => {
    await expect(studio.badge).toContainText('WebGL computed wrong numbers in the start-up check', { timeout: 60_000 })
    expect(await studio.backend()).toBe('wasm')
    // Every value read back is 0, so the error is the whole of the largest value.
    await expect(studio.badge).toContainText('off by 100.0% of the largest value; a graphics-driver fault), so training uses WebAssembly instead')
    await expect(page.getByRole('status').filter({ hasText: 'WebGL computed wrong numbers' })).toContainText('so training uses WebAssembly instead')
    await expect(studio.alerts).toHaveCount(0)
  })

  await test.step('training works on the backend it fell back to', async () => {
    await studio.uploadDataset('small-spam-ham.csv', smallSpamHam(48))
    await studio.waitForDataset('small-spam-ham.csv')
    await studio.trainButton.click()
    await studio.waitFinished(120_000)
    await expect(studio.status).toContainText('Training complete — 1 epoch')
    const { steps } = await studio.series()
    expect(steps.length).toBeGreaterThan(1)
    expect(steps.every((s) => Number.isFinite(s.loss) && s.loss > 0)).toBe(true)
    expect(await studio.backend()).toBe('wasm')
  })
})
