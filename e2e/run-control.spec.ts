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
