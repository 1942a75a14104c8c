import { expect, smallSpamHam, test } from './fixtures'

// A finished run's last checkpoint cannot be continued. The reason was only a tooltip on a
// disabled button (no keyboard focus, no touch, not read out): it is written in the row instead,
// and an earlier checkpoint of the run still offers Continue training.
test('a finished run: its last checkpoint says in words why it cannot be continued', async ({ studio, page }) => {
  await studio.open('v=2&ep=2&sl=32&bs=16&wu=0')
  await studio.uploadDataset('rows.csv', smallSpamHam(80))
  await studio.waitForDataset('rows.csv')
  await studio.trainButton.click()
  await studio.waitFinished()

  const saved = page.getByRole('table', { name: /Saved checkpoints/ })
  const last = saved.getByRole('row', { name: /^Epoch 2/ })
  await expect(last).toContainText('This run trained all its epochs')
  await expect(last.getByText('This run trained all its epochs')).toBeVisible()
  await expect(last.getByRole('button', { name: /Continue training/ })).toHaveCount(0)
  await expect(saved.getByRole('row', { name: /^Epoch 1/ }).getByRole('button', { name: 'Continue training from Epoch 1' })).toBeEnabled()
})
