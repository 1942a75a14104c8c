import { expect, smallSpamHam, test } from './fixtures'

// After a run, a person restores an earlier checkpoint: the run bar still says what to do
// next (it went blank: the run's result is cleared, its status was left 'done'), and the step
// column marks Evaluate and Try it done, since both now show and use the restored weights.
test('restoring a checkpoint after a run: the run bar says what to do, the steps show Evaluate done', async ({ studio, page }) => {
  await studio.open('v=2&ep=2&sl=32&bs=16&wu=0')
  await studio.uploadDataset('restore-view.csv', smallSpamHam(80))
  await studio.waitForDataset('restore-view.csv')
  await studio.trainButton.click()
  await studio.waitFinished()

  const saved = page.getByRole('table', { name: /Saved checkpoints/ })
  await saved.getByRole('row', { name: /^Epoch 1/ }).getByRole('button', { name: 'Restore' }).click()
  await expect(page.getByText(/^Restored "Epoch 1" \(epoch 1\)/)).toBeVisible()
  await expect(page.getByTestId('compare')).toBeVisible()

  await expect(studio.status).toHaveText('Ready: click Train.')
  await expect(page.getByTestId('step-evaluate')).toHaveAttribute('data-state', 'done')
  await expect(page.getByTestId('step-playground')).toHaveAttribute('data-state', 'done')
  await expect(studio.alerts).toHaveCount(0)
})

// The playground's answers are the weights' that gave them: once a checkpoint is restored or
// another model loaded, the old answers go (asking again answers with the weights now held).
test('the playground’s answers go once a checkpoint is restored or another model is loaded', async ({ studio, page, baseURL }) => {
  await studio.open('ep=2&sl=32&bs=16&wu=0')
  await studio.uploadDataset('answers.csv', smallSpamHam(80))
  await studio.waitForDataset('answers.csv')
  await studio.trainButton.click()
  await studio.waitFinished()

  const after = page.getByTestId('prediction-after')
  const classify = async () => {
    await page.getByLabel('Text to classify').fill('win a free prize now')
    await page.getByRole('button', { name: 'Classify' }).click()
    await expect(after.getByRole('listitem')).toHaveCount(2, { timeout: 60_000 })
  }
  await classify()
  const saved = page.getByRole('table', { name: /Saved checkpoints/ })
  await saved.getByRole('row', { name: /^Epoch 1/ }).getByRole('button', { name: 'Restore' }).click()
  await expect(page.getByText(/^Restored "Epoch 1" \(epoch 1\)/)).toBeVisible()
  await expect.soft(after.getByRole('listitem')).toHaveCount(0)

  await classify() // the restored weights answer
  // the built-in model's files again, by URL: its base weights
  const section = page.locator('details.model-load')
  if ((await section.getAttribute('open')) === null) await section.locator('summary').first().click()
  await page.getByLabel('Model URL (model.json)').fill(`${baseURL}/models/tiny-lm/model.json`)
  await page.getByRole('button', { name: 'Load model from URL' }).click()
  await expect.soft(after.getByRole('listitem')).toHaveCount(0, { timeout: 60_000 })
})
