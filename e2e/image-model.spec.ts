import { expect } from '@playwright/test'
import { test } from './fixtures'

// The built-in image body end to end: the studio loads the emoji CNN (a studio-tinycnn
// model.json, dispatched on its format), trains a head on the OpenMoji sample (a drawing
// style the model was not pretrained on) and ends above the untrained-head baseline.
test('the emoji CNN fine-tunes a head on the OpenMoji sample and beats its baseline', async ({ studio, page, baseURL }) => {
  test.setTimeout(600_000)
  await studio.open()
  await test.step('load the OpenMoji sample and the built-in image model', async () => {
    await studio.loadEmojiSampleAndCnn(baseURL!)
  })
  await test.step('train the head on frozen features', async () => {
    await page.getByLabel('Method', { exact: true }).selectOption({ label: 'Head only (linear probe)' })
    await page.getByLabel('Epochs', { exact: true }).fill('10')
    await page.getByLabel('Learning rate', { exact: true }).fill('0.01')
    await expect(studio.trainButton).toBeEnabled({ timeout: 30_000 })
    await studio.trainButton.click()
    await studio.waitFinished(480_000)
  })
  const text = (await studio.status.textContent()) ?? ''
  test.info().annotations.push({ type: 'result', description: text })
  const m = /best validation accuracy ([\d.]+)% \(line to beat: .+? ([\d.]+)%\)/.exec(text)
  expect(m, text).not.toBeNull()
  expect(Number(m![1])).toBeGreaterThan(Number(m![2]) + 10)
})
