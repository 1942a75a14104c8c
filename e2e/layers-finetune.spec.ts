import * as tf from '@tensorflow/tfjs'
import { zipSync } from 'fflate'
import { PNG } from 'pngjs'
import { modelFiles, tinyImageModel, type ModelFiles } from '../src/engine/models/testModels'
import { expect, test } from './fixtures'

// A TensorFlow.js layers model made here (conv → depthwise → pointwise → global pooling →
// dense softmax, 16×16 RGB), chosen as model.json + shards, fine-tuned on a zip of two colour
// classes made here, then tried in the playground before and after.
let files: ModelFiles

/** A w×h PNG on a light background with a block of `rgb` at (x0, y0). */
function png(w: number, h: number, rgb: [number, number, number], x0: number, y0: number, side: number): Buffer {
  const img = new PNG({ width: w, height: h })
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const inside = x >= x0 && x < x0 + side && y >= y0 && y < y0 + side
      img.data.set([...(inside ? rgb : [235, 235, 225]), 255], (y * w + x) * 4)
    }
  }
  return PNG.sync.write(img)
}

function colourZip(perClass: number): Buffer {
  const entries: Record<string, Uint8Array> = {}
  for (let k = 0; k < perClass; k++) {
    const x0 = (k * 5) % 12
    const y0 = (k * 7) % 12
    entries[`colours/red/${k}.png`] = png(24, 24, [200 + (k % 5) * 10, 25, 30], x0, y0, 10)
    entries[`colours/blue/${k}.png`] = png(24, 24, [25, 40, 200 + (k % 5) * 10], y0, x0, 10)
  }
  return Buffer.from(zipSync(entries))
}

test.beforeAll(async () => {
  await tf.setBackend('cpu')
  files = await modelFiles(tinyImageModel(3), 2)
})

test('a loaded layers model fine-tunes a new head on an image set and the playground shows before and after', async ({ studio, page }) => {
  test.setTimeout(300_000)
  await studio.open()
  await test.step('load an image zip, then the layers model by its files', async () => {
    await studio.uploadDataset('colours.zip', colourZip(20), 'application/zip')
    await studio.waitForDataset('colours.zip')
    await page.getByText('Load a model', { exact: true }).click()
    await page.getByLabel(/Model files \(model\.json/).setInputFiles([...files].map(([name, bytes]) => ({ name, mimeType: 'application/octet-stream', buffer: Buffer.from(bytes) })))
    await expect(page.getByTestId('model-title')).toContainText('tiny_cnn', { timeout: 60_000 })
    await expect(page.getByTestId('model-input')).toContainText('[B, 16, 16, 3]')
  })
  await test.step('the plan counts the new head alone for head-only, and refuses LoRA', async () => {
    await page.getByLabel('Method', { exact: true }).selectOption({ label: 'LoRA' })
    await expect(page.getByText(/LoRA cannot be added to a loaded TensorFlow\.js layers model/).first()).toBeVisible()
    await expect(studio.trainButton).toBeDisabled()
    await page.getByLabel('Method', { exact: true }).selectOption({ label: 'Head only (linear probe)' })
    await page.getByLabel('Epochs', { exact: true }).fill('10')
    await page.getByLabel('Learning rate', { exact: true }).fill('0.05')
    await page.getByLabel('Batch size', { exact: true }).fill('8')
    await expect(studio.trainButton).toBeEnabled({ timeout: 30_000 })
    await expect(page.getByTestId('param-counts')).toContainText('Trainable with these settings: 26 of') // 12 features × 2 classes + 2 biases
  })
  await test.step('train: the run ends above the untrained-head baseline', async () => {
    await studio.trainButton.click()
    await studio.waitFinished(240_000)
    const text = (await studio.status.textContent()) ?? ''
    test.info().annotations.push({ type: 'result', description: text })
    const m = /best validation accuracy ([\d.]+)% \(line to beat: .+? ([\d.]+)%\)/.exec(text)
    expect(m, text).not.toBeNull()
    expect(Number(m![1])).toBeGreaterThan(Number(m![2]))
    expect(Number(m![1])).toBeGreaterThanOrEqual(75)
  })
  await test.step('the playground: before (pretrained body, untrained head) and after, with the dataset classes', async () => {
    await page.getByLabel('Image to classify').setInputFiles({ name: 'red.png', mimeType: 'image/png', buffer: png(30, 30, [230, 20, 30], 8, 8, 14) })
    const before = page.getByTestId('prediction-before')
    const after = page.getByTestId('prediction-after')
    await expect(before.getByRole('listitem')).toHaveCount(2, { timeout: 30_000 })
    await expect(after.getByRole('listitem')).toHaveCount(2)
    await expect(after).toContainText('red')
    await expect(after).toContainText('blue')
    const first = await after.getByRole('listitem').first().textContent()
    expect(first).toMatch(/red/) // the most probable class comes first
  })
  await test.step('freeze the first two blocks: the last conv block trains too (on whichever backend was chosen)', async () => {
    await page.getByLabel('Method', { exact: true }).selectOption({ label: 'Freeze early blocks' })
    await page.getByLabel('Frozen blocks', { exact: true }).fill('2')
    await expect(page.getByTestId('param-counts')).toContainText('Trainable with these settings: 134 of') // pw2 (8×12 + 12) and the head
    await page.getByText(/^Layers \(/).click()
    await expect(page.getByRole('row', { name: /pw2 Conv2D .* trainable/ })).toBeVisible()
    await expect(page.getByRole('row', { name: /conv1 Conv2D .* frozen/ })).toBeVisible()
    await studio.trainButton.click()
    await expect(studio.status).toContainText(/Training complete|Stopped early|Training stopped|diverged/, { timeout: 240_000 })
    const text = (await studio.status.textContent()) ?? ''
    test.info().annotations.push({ type: 'result', description: `${await studio.backend()}: ${text}` })
    const m = /best validation accuracy ([\d.]+)% \(line to beat: .+? ([\d.]+)%\)/.exec(text)
    expect(m, text).not.toBeNull()
    expect(Number(m![1])).toBeGreaterThan(Number(m![2]))
    await expect(studio.alerts).toHaveCount(0)
  })
  await test.step('export the tuned model as a layers model, load it back, and it answers as the tuned one', async () => {
    const picture = { name: 'red.png', mimeType: 'image/png', buffer: png(30, 30, [230, 20, 30], 8, 8, 14) }
    await page.getByLabel('Image to classify').setInputFiles(picture)
    const after = page.getByTestId('prediction-after')
    await expect(after.getByRole('listitem')).toHaveCount(2, { timeout: 30_000 })
    const tunedTop = (await after.getByRole('listitem').first().locator('.prob').textContent()) ?? ''
    const tunedTopItem = (await after.getByRole('listitem').first().textContent()) ?? ''
    const download = page.waitForEvent('download')
    await page.getByLabel('Merged model').check()
    await page.getByRole('button', { name: 'Download model (.zip)' }).click()
    const d = await download
    expect(d.suggestedFilename()).toMatch(/-finetuned-tfjs\.zip$/)
    const { readFileSync } = await import('node:fs')
    await page.getByLabel('Load a fine-tuned model (.zip)').setInputFiles({ name: d.suggestedFilename(), mimeType: 'application/zip', buffer: readFileSync((await d.path())!) })
    await expect(page.getByTestId('model-title')).toContainText('fine-tuned on colours.zip', { timeout: 60_000 })
    await page.getByLabel('Image to classify').setInputFiles(picture)
    const before = page.getByTestId('prediction-before')
    await expect(before.getByRole('listitem')).toHaveCount(2, { timeout: 30_000 })
    // The loaded model's own two outputs carry the tuned probabilities, under the class names saved in the file.
    expect(await before.getByRole('listitem').first().locator('.prob').textContent()).toBe(tunedTop)
    expect(await before.getByRole('listitem').first().textContent()).toBe(tunedTopItem)
    await expect(before).not.toContainText('class 0')
    await expect(studio.alerts).toHaveCount(0)
  })
})
