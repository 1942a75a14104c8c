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
