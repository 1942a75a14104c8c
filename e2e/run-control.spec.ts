import { expect, smallSpamHam, test } from './fixtures'

const slowRun = 'ep=30&sl=32&bs=4&wu=0'

test('Pause holds training, Resume continues it, Stop ends it', async ({ studio, page }) => {
  await studio.open(slowRun)
  await studio.uploadDataset('control.csv', smallSpamHam(80))
  await studio.waitForDataset('control.csv')
  await studio.trainButton.click()
  await expect.poll(() => studio.lossPoints(), { timeout: 60_000 }).toBeGreaterThan(2)

  await page.getByRole('button', { name: 'Pause' }).click()
  await expect(studio.status).toHaveText('Paused.')
  const held = await studio.lossPoints()
  await page.waitForTimeout(2000)
  expect(await studio.lossPoints()).toBe(held)

  await page.getByRole('button', { name: 'Resume' }).click()
  await expect.poll(() => studio.lossPoints(), { timeout: 30_000 }).toBeGreaterThan(held)

  await page.getByRole('button', { name: 'Stop' }).click()
  await expect(studio.status).toContainText('Training stopped', { timeout: 30_000 })
  const stopped = await studio.lossPoints()
  await page.waitForTimeout(1500)
  expect(await studio.lossPoints()).toBe(stopped)
  await expect(studio.trainButton).toBeEnabled()
})

test('closing the tab mid-run leaves nothing that breaks the next visit', async ({ studio, page, context }) => {
  await studio.open(slowRun)
  await studio.uploadDataset('close.csv', smallSpamHam(40))
  await studio.waitForDataset('close.csv')
  await studio.trainButton.click()
  await expect.poll(() => studio.lossPoints(), { timeout: 60_000 }).toBeGreaterThan(0)
  await page.close()

  const next = await context.newPage()
  const { StudioPage } = await import('./pages/studio')
  const again = new StudioPage(next)
  await again.open('ep=1&sl=32&bs=16&wu=0')
  await again.uploadDataset('again.csv', smallSpamHam(40))
  await again.waitForDataset('again.csv')
  await again.trainButton.click()
  await again.waitFinished()
  await expect(again.status).toContainText('Training complete')
})

test('a run stopped inside its second epoch: the Runs list says where it stopped and counts the one epoch trained in full, as the run bar does', async ({ studio, page }) => {
  await studio.open('ep=3&sl=32&bs=2&wu=0&m=lora') // LoRA, no feature cache: epochs of some seconds
  await studio.uploadDataset('cut.csv', smallSpamHam(300)) // about 120 steps an epoch: Pause lands inside the second
  await studio.waitForDataset('cut.csv')
  await studio.trainButton.click()
  const progress = page.getByTestId('progress')
  await expect(progress).toContainText('epoch 2 / 3', { timeout: 120_000 })
  await page.getByRole('button', { name: 'Pause' }).click()
  await expect(studio.status).toHaveText('Paused.')
  // held between two steps of epoch 2, with some of its steps trained and some not
  const [, step, total] = (await progress.innerText()).match(/Step (\d+) \/ (\d+) · epoch 2 \/ 3/)!.map(Number)
  expect(step).toBeGreaterThan(total! / 3)
  expect(step).toBeLessThan((2 * total!) / 3)
  await page.getByRole('button', { name: 'Stop' }).click()
  await expect(studio.status).toContainText('Training stopped — in epoch 2 of 3 (1 epoch trained in full)', { timeout: 30_000 })
  const run = page.getByTestId('run-item').filter({ hasText: 'cut.csv' })
  await expect(run).toContainText('· stopped in epoch 2 · 1 epoch trained in full ·')
  await expect(run).not.toContainText('2 epochs')
})
