import { readFileSync } from 'node:fs'
import { strFromU8, unzipSync } from 'fflate'
import { expect, test } from './fixtures'
import type { Page } from '@playwright/test'

/** Base and fine-tuned values of one row of the Evaluate panel's comparison table. */
async function compareRow(page: Page, name: RegExp): Promise<{ base: number; tuned: number }> {
  const cells = page.getByTestId('compare').getByRole('row', { name }).getByRole('cell')
  const num = async (i: number) => Number(((await cells.nth(i).textContent()) ?? '').replace('%', ''))
  return { base: await num(0), tuned: await num(1) }
}

async function chooseSample(page: Page, title: RegExp) {
  const select = page.getByLabel('Sample dataset')
  const option = select.locator('option', { hasText: title })
  await select.selectOption(await option.getAttribute('value'))
}

test('tabular regression on the Boston sample: an MLP for its columns beats predicting the mean, and the playground predicts a price', async ({ studio, page }) => {
  await studio.open('ep=12&lr=0.003&bs=32')
  await chooseSample(page, /Boston house prices/)
  await studio.waitForDataset('boston-housing.csv')
  await expect(page.getByTestId('dataset-summary')).toContainText('tabular regression')
  await expect(page.getByLabel('Numeric target')).toHaveValue('medv')
  await expect(page.getByTestId('target-histogram')).toContainText('medv')
  await expect(page.getByTestId('model-title')).toContainText('Tabular MLP for 12 numeric columns')
  await studio.trainButton.click()
  await studio.waitFinished(180_000)
  await expect(studio.status).toContainText('Training complete')
  let trainedAnswer = '' // the trained MLP's price for the first tract, as the page shows it
  let zip = Buffer.alloc(0) // the exported model
  await expect(page.getByTestId('val-chart')).toContainText('RMSE')
  const rmse = await compareRow(page, /^RMSE/)
  const mae = await compareRow(page, /^MAE/)
  expect(rmse.base).toBeGreaterThan(6) // the spread of medv, in $1000s
  expect(rmse.tuned).toBeLessThan(0.7 * rmse.base)
  expect(mae.tuned).toBeLessThan(mae.base)
  await test.step('try a row in the playground', async () => {
    const rm = page.getByRole('form', { name: 'Feature values' }).getByLabel('rm')
    await expect(rm).toHaveValue('6.5750') // the first row, to change by hand
    await page.getByRole('button', { name: 'Predict' }).click()
    for (const which of ['before', 'after']) await expect(page.getByTestId(`prediction-${which}`).getByTestId('predicted-value')).toContainText(/medv: -?\d/)
    trainedAnswer = (await page.getByTestId('prediction-after').getByTestId('predicted-value').locator('strong').textContent()) ?? ''
    expect(Math.abs(Number(trainedAnswer) - 24)).toBeLessThan(8) // the first tract's medv is 24.0
    await rm.fill('not a number')
    await page.getByRole('button', { name: 'Predict' }).click()
    await expect(page.getByRole('status').filter({ hasText: 'Feature "rm" is not a number' })).toBeVisible()
  })
  await test.step('the RMSE sweep over α and the export as a plain TensorFlow.js layers model', async () => {
    await page.getByRole('button', { name: 'Sweep α from 0 to 1' }).click()
    await expect(page.getByTestId('sweep-chart')).toHaveAttribute('data-points', '11', { timeout: 60_000 })
    await expect(page.getByTestId('sweep-chart')).toContainText('RMSE')
    const download = page.waitForEvent('download')
    await page.getByLabel('Merged model').check()
    await page.getByRole('button', { name: 'Download model (.zip)' }).click()
    const d = await download
    expect(d.suggestedFilename()).toBe('boston-housing-mlp-tfjs.zip')
    const files = unzipSync(new Uint8Array(readFileSync((await d.path())!)))
    expect(Object.keys(files).sort()).toEqual(['README.md', 'card.json', 'model.json', 'weights.bin'])
    const json = JSON.parse(strFromU8(files['model.json']!))
    expect(json.format).toBe('layers-model')
    expect(json.userDefinedMetadata.target).toBe('medv')
    zip = readFileSync((await d.path())!)
  })
  await test.step('the export loads back beside a text dataset and answers a typed row as the trained model did', async () => {
    await chooseSample(page, /Spam or ham \(600/)
    await studio.waitForDataset('spam-ham.csv')
    await page.getByLabel('Load a fine-tuned model (.zip)').setInputFiles({ name: 'boston-housing-mlp-tfjs.zip', mimeType: 'application/zip', buffer: zip })
    await expect(page.getByTestId('model-title')).toContainText('Tabular MLP for 12 numeric columns trained on boston-housing.csv', { timeout: 60_000 })
    const form = page.getByRole('form', { name: 'Feature values' })
    await expect(form.getByLabel('rm')).toHaveValue(/^6\.\d+$/) // starts from the training mean (≈ 6.3 rooms)
    const [header, first] = readFileSync('public/samples/boston-housing.csv', 'utf8').split('\n') as [string, string]
    const cols = header.split(',').slice(0, -1) // medv is the target
    for (const [i, c] of cols.entries()) await form.getByLabel(c, { exact: true }).fill(first.split(',')[i]!)
    await page.getByRole('button', { name: 'Predict' }).click()
    const loaded = page.getByTestId('prediction-before')
    await expect(loaded).toContainText('The loaded model')
    await expect(loaded.getByTestId('predicted-value')).toContainText(`medv: ${trainedAnswer}`)
    await expect(page.getByTestId('prediction-after')).toHaveCount(0)
    // It cannot fine-tune on the text dataset beside it, and the page says why, once.
    await expect(studio.alerts).toHaveCount(1)
    await expect(studio.alerts.first()).toContainText('reads rows of 12 raw numbers')
    await studio.alerts.first().getByRole('button', { name: 'Dismiss message' }).click()
  })
  await test.step('the run and its checkpoints are kept', async () => {
    await expect(page.getByTestId('checkpoint-row').first()).toBeVisible()
    expect(await page.getByTestId('checkpoint-row').count()).toBeGreaterThan(0)
  })
  await expect(studio.alerts).toHaveCount(0)
})

test('tabular classification from an uploaded file, with the roles chosen on the page', async ({ studio, page }) => {
  // Boston tracts labelled above or below the median price: numeric features → a class.
  const lines = readFileSync('public/samples/boston-housing.csv', 'utf8').trim().split('\n')
  const medv = lines.slice(1).map((l) => Number(l.split(',').at(-1)))
  const median = [...medv].sort((a, b) => a - b)[medv.length >> 1]!
  const csv = [lines[0]!.replace(/,medv$/, ',price'), ...lines.slice(1).map((l, i) => l.replace(/,[^,]*$/, medv[i]! > median ? ',high' : ',low'))].join('\n')
  await studio.open('ep=10&lr=0.003&bs=32')
  await studio.uploadDataset('boston-high-low.csv', csv)
  await studio.waitForDataset('boston-high-low.csv')
  // Guessed: "price" is the label, the 12 numeric columns are features. Keep 6 of them.
  await expect(page.getByTestId('dataset-summary')).toContainText('tabular classification')
  await expect(page.getByTestId('model-title')).toContainText('Tabular MLP for 12 numeric columns')
  await expect(page.getByRole('group', { name: 'Label column(s)' }).getByLabel('price')).toBeChecked()
  const features = page.getByRole('group', { name: 'Feature columns' })
  for (const c of ['zn', 'indus', 'chas', 'age', 'rad', 'tax']) await features.getByLabel(c).uncheck()
  await page.getByRole('button', { name: 'Use these columns' }).click()
  await expect(page.getByTestId('model-title')).toContainText('Tabular MLP for 6 numeric columns')
  await expect(page.getByTestId('class-balance')).toContainText('high')
  await studio.trainButton.click()
  await studio.waitFinished(180_000)
  const acc = await compareRow(page, /^Accuracy/)
  expect(acc.tuned).toBeGreaterThan(75)
  expect(acc.tuned).toBeGreaterThan(acc.base + 10)
  await expect(studio.alerts).toHaveCount(0)
})

test('text regression on word sentiment: a regression head on the pretrained LM beats predicting the mean', async ({ studio, page }) => {
  await studio.open('ep=6&lr=0.003&sl=8')
  await chooseSample(page, /Word sentiment scores/)
  await studio.waitForDataset('afinn-valence.csv')
  await expect(page.getByTestId('dataset-summary')).toContainText('text regression')
  await expect(page.getByTestId('model-title')).toContainText('Tiny')
  await studio.trainButton.click()
  await studio.waitFinished(300_000)
  const rmse = await compareRow(page, /^RMSE/)
  expect(rmse.tuned).toBeLessThan(rmse.base)
  await page.getByLabel('Text to score').fill('wonderful')
  await page.getByRole('button', { name: 'Predict' }).click()
  await expect(page.getByTestId('prediction-after').getByTestId('predicted-value')).toContainText(/score: -?\d/)
  await expect(studio.alerts).toHaveCount(0)
})
