import { expect, test } from './fixtures'

// A first-time user picks the image sample while the default text model is loaded: the page
// says before Train why this pair cannot train and what to load, instead of letting Train
// fail with "Load a dataset and a model" (both were loaded).
test('image data with the text model: Train waits and the page names the image model to load', async ({ studio, page }) => {
  await studio.open('ep=1&wu=0')
  await page.getByLabel('Sample dataset').selectOption('emoji-openmoji.zip')
  await studio.waitForDataset('emoji-openmoji.zip')
  const problems = page.getByRole('list', { name: 'Settings to fix before training' })
  await expect(problems).toContainText('Tiny LM reads text, but emoji-openmoji.zip is an image dataset')
  await expect(problems).toContainText('Emoji CNN')
  await expect(studio.trainButton).toBeDisabled()
  // The run bar points at that problem, not at settings (nothing is marked in step 3).
  await expect(studio.status).toHaveText('The loaded model cannot train on this dataset: step 4 says why.')

  await page.getByRole('button', { name: /^Emoji CNN/ }).click()
  await expect(page.getByTestId('model-title')).toContainText('Emoji CNN', { timeout: 120_000 })
  await expect(problems).toHaveCount(0)
  await expect(studio.trainButton).toBeEnabled()
  await expect(studio.status).toHaveText('Ready: click Train.')
  await expect(studio.alerts).toHaveCount(0)
})
