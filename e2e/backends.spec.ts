import { expect, smallSpamHam, test } from './fixtures'

// Train once on WebGPU (SwiftShader here) and once on WebGL, chosen in settings through the
// link, on a small uploaded file so the slow software adapters finish in reasonable time.
for (const backend of ['webgpu', 'webgl'] as const) {
  test(`trains on ${backend} when chosen in settings`, async ({ studio, page }) => {
    await studio.open(`b=${backend}&ep=2&sl=32&bs=8&wu=0&lr=0.003`)
    await expect.poll(() => studio.backend(), { timeout: 60_000 }).toBe(backend)
    await expect(studio.badge).toContainText('chosen in settings')
    await studio.uploadDataset('small-spam-ham.csv', smallSpamHam(64))
    await studio.waitForDataset('small-spam-ham.csv')
    await studio.trainButton.click()
    await studio.waitFinished()
    await expect(studio.status).toContainText('Training complete — 2 epochs')
    const { steps } = await studio.series()
    expect(steps.length).toBeGreaterThan(1)
    expect(steps.every((s) => Number.isFinite(s.loss))).toBe(true)
    await expect(page.getByRole('alert')).toHaveCount(0)
  })
}

test('the backend choice is remembered across visits', async ({ studio, page }) => {
  await studio.open()
  await page.getByLabel('Backend', { exact: true }).selectOption('webgl')
  await expect.poll(() => studio.backend(), { timeout: 60_000 }).toBe('webgl')
  await page.goto('/')
  await expect.poll(() => studio.backend(), { timeout: 90_000 }).toBe('webgl')
  await expect(page.getByLabel('Backend', { exact: true })).toHaveValue('webgl')
})

// The emoji CNN sums 9 depthwise taps per block: one AddN that wide is more storage buffers
// than a WebGPU shader may bind by default, and every image run there diverged at step 1
// (src/engine/ops/addMany.ts). Head only, so the slow software adapter runs the body once.
test('the emoji CNN trains on WebGPU too, and beats its baseline', async ({ studio, page, baseURL }) => {
  test.setTimeout(480_000)
  await studio.open('b=webgpu&m=head&ep=10&lr=0.01')
  await expect.poll(() => studio.backend(), { timeout: 60_000 }).toBe('webgpu')
  await studio.loadEmojiSampleAndCnn(baseURL!)
  await expect(studio.trainButton).toBeEnabled({ timeout: 30_000 })
  await studio.trainButton.click()
  await studio.waitFinished(420_000)
  const text = (await studio.status.textContent()) ?? ''
  test.info().annotations.push({ type: 'webgpu image run', description: text })
  const m = /Training complete — 10 epochs, best validation accuracy ([\d.]+)% \(line to beat: .+? ([\d.]+)%\)/.exec(text)
  expect(m, text).not.toBeNull()
  expect(Number(m![1])).toBeGreaterThan(Number(m![2]))
  expect((await studio.series()).steps.every((s) => Number.isFinite(s.loss))).toBe(true)
})
