import { readFileSync } from 'node:fs'
import { unzipSync } from 'fflate'
import { expect, test } from './fixtures'

// Image runs are checkpointed, restored and exported like text runs: the built-in emoji CNN
// on the OpenMoji sample, three quick head-only epochs, then restore, export and import back.
const QUICK = 'ep=3&kl=5&lr=0.01&m=head'

/** One picture from the sample itself, for the playground. */
function samplePicture(): { name: string; mimeType: string; buffer: Buffer } {
  const files = unzipSync(readFileSync(new URL('../public/samples/emoji-openmoji.zip', import.meta.url)))
  const path = Object.keys(files).find((p) => p.endsWith('.png'))!
  return { name: path.slice(path.lastIndexOf('/') + 1), mimeType: 'image/png', buffer: Buffer.from(files[path]!) }
}

test('an image run is checkpointed each epoch, restores, exports and imports back with the same results', async ({ studio, page }) => {
  test.setTimeout(600_000)
  await studio.open(QUICK)
  const rows = page.getByTestId('checkpoint-row')
  const after = page.getByTestId('prediction-after').getByRole('list', { name: 'After fine-tuning: class probabilities' })
  const picture = samplePicture()
  const tryPicture = async () => {
    await page.getByLabel('Image to classify').setInputFiles(picture)
    await after.waitFor({ state: 'hidden', timeout: 5_000 }).catch(() => undefined) // the new request clears the last answer
    await expect(after).toBeVisible({ timeout: 60_000 })
    return (await after.innerText()).trim()
  }

  await test.step('load the OpenMoji sample and the built-in emoji CNN', async () => {
    await page.getByLabel('Sample dataset').selectOption('emoji-openmoji.zip')
    await studio.waitForDataset('emoji-openmoji.zip')
    await page.getByRole('button', { name: /^Emoji CNN/ }).click()
    await expect(page.getByTestId('model-title')).toContainText('Emoji CNN', { timeout: 120_000 })
    await expect(page.getByLabel('Method', { exact: true })).toHaveValue('head')
  })

  await test.step('train: one checkpoint per epoch, and the run is recorded', async () => {
    await expect(studio.trainButton).toBeEnabled({ timeout: 30_000 })
    await studio.trainButton.click()
    await expect(rows.first()).toBeVisible({ timeout: 240_000 })
    await studio.waitFinished(480_000)
    await expect.poll(async () => (await rows.evaluateAll((r) => r.map((x) => Number(x.getAttribute('data-epoch'))))).sort()).toEqual([1, 2, 3])
    await expect(page.getByTestId('run-item')).toContainText('finished')
    await expect(page.getByTestId('run-item')).toContainText('emoji-openmoji.zip')
  })

  await test.step('the printable report describes the image run', async () => {
    const popup = page.waitForEvent('popup')
    await page.getByRole('button', { name: 'Open printable report' }).click()
    const report = await popup
    await expect(report.locator('h1')).toContainText('emoji-openmoji.zip')
    await expect(report.locator('body')).toContainText('images kept')
    await report.close()
  })

  const latest = await tryPicture()

  const restored = await test.step('restore epoch 1: Evaluate shows its accuracy and the playground uses its head', async () => {
    const row = rows.filter({ has: page.getByText('Epoch 1', { exact: true }) })
    const acc = (await row.locator('td').nth(4).innerText()).match(/accuracy ([\d.]+%)/)![1]!
    await page.getByRole('button', { name: 'Restore Epoch 1' }).click()
    await expect(page.getByRole('status').filter({ hasText: 'Restored "Epoch 1"' })).toBeVisible({ timeout: 60_000 })
    await expect(page.getByTestId('tuned-accuracy')).toHaveText(acc)
    await expect(row).toContainText('in use')
    const probs = await tryPicture()
    expect(probs).not.toEqual(latest) // epoch 1's head answers, not epoch 3's
    return { acc, probs }
  })

  const file = await test.step('export the merged model as one zip', async () => {
    const download = page.waitForEvent('download')
    await page.getByLabel('Merged model').check()
    await page.getByRole('button', { name: 'Download model (.zip)' }).click()
    const d = await download
    expect(d.suggestedFilename()).toMatch(/^[a-z0-9-]+-emoji-openmoji-merged\.zip$/)
    const buffer = readFileSync((await d.path())!)
    const names = Object.keys(unzipSync(buffer)).sort()
    expect(names).toEqual(['README.md', 'card.json', 'model.json', 'tuning.bin', 'tuning.json', 'weights.bin'])
    const model = JSON.parse(Buffer.from(unzipSync(buffer)['model.json']!).toString()) as { format: string }
    expect(model.format).toBe('studio-tinycnn')
    return { name: d.suggestedFilename(), buffer }
  })

  await test.step('import the zip: same validation accuracy, same class probabilities', async () => {
    await page.getByLabel('Load a fine-tuned model (.zip)').setInputFiles({ name: file.name, mimeType: 'application/zip', buffer: file.buffer })
    await expect(page.getByTestId('imported-model')).toContainText(file.name, { timeout: 60_000 })
    await expect(page.getByTestId('imported-accuracy')).toHaveText(`Validation accuracy ${restored.acc}.`)
    await expect(page.getByTestId('model-title')).toContainText('fine-tuned on emoji-openmoji.zip')
    expect(await tryPicture()).toEqual(restored.probs)
  })

  await test.step('continuing the run needs its base model: refused on the imported one, resumed on the emoji CNN', async () => {
    await page.getByRole('button', { name: 'Continue training from Epoch 2' }).click()
    await expect(studio.alerts.filter({ hasText: /trained from image model emoji-cnn, but image model file: .* is loaded\. Load that model first/ })).toBeVisible({ timeout: 60_000 })
    await page.getByRole('button', { name: /^Emoji CNN/ }).click()
    await expect(page.getByTestId('model-title')).not.toContainText('fine-tuned', { timeout: 120_000 })
    await page.getByRole('button', { name: 'Continue training from Epoch 2' }).click()
    await expect.poll(async () => (await studio.series()).epochs.length, { timeout: 240_000 }).toBe(3) // epochs 1–2 from the record, 3 trained again
    await studio.waitFinished(240_000)
    await expect(page.getByTestId('run-item')).toHaveCount(1) // the same run, continued
    await expect(page.getByTestId('run-item')).toContainText('finished')
  })
})
