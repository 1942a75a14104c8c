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
