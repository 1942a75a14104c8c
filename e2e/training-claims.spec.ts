import { expect, smallSpamHam, test } from './fixtures'

// README claims about training, each shown in a real run in the page with small data.

test('early stopping ends the run early, the message counts the epochs really run, and restore-best keeps the best epoch', async ({ studio, page }) => {
  // Full fine-tuning at a high rate on 40 rows: validation loss soon stops improving; patience 1.
  await studio.open('m=full&lr=0.003&ep=12&es=1&sl=32&bs=8&wu=0')
  await studio.uploadDataset('early.csv', smallSpamHam(50))
  await studio.waitForDataset('early.csv')
  await studio.trainButton.click()
  const text = await studio.waitEnded(180_000)
  test.info().annotations.push({ type: 'result', description: text })
  const m = /^Stopped early \(validation stopped improving\) — (\d+) epochs?,/.exec(text)
  expect(m, text).not.toBeNull()
  const ran = Number(m![1])
  const { epochs } = await studio.series()
  // The number in the message is the epochs that ran (one validation point each), not the 12 set.
  expect(epochs).toHaveLength(ran)
  expect(ran).toBeGreaterThanOrEqual(2)
  expect(ran).toBeLessThan(12)
  await expect(page.getByTestId('progress')).toContainText(`epoch ${ran} / 12`)

  // Patience 1: the last epoch did not improve on the best one before it.
  const losses = epochs.map((e) => e.valLoss)
  const best = Math.min(...losses)
  expect(losses.at(-1)!).toBeGreaterThanOrEqual(best)
  // Restore best: the fine-tuned loss in the Evaluate panel is the best epoch's, not the last one's.
  const lossRow = page.getByTestId('compare').getByRole('row', { name: /^Loss/ })
  const tunedLoss = Number(await lossRow.getByRole('cell').nth(1).innerText())
  test.info().annotations.push({ type: 'val losses', description: `${losses.map((l) => l.toFixed(4)).join(', ')}; shown ${tunedLoss}` })
  expect(Math.abs(tunedLoss - best)).toBeLessThanOrEqual(0.0005 + 1e-9)
  if (losses.at(-1)! - best > 0.002) expect(Math.abs(tunedLoss - losses.at(-1)!)).toBeGreaterThan(0.001)
})
