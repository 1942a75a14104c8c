// Two tabs of the studio share one IndexedDB: the Runs list of one follows the runs the other
// trains (state/runsAcrossTabs.ts). Before, tab A listed tab B's run as it was when A last asked
// its worker (at A's own runs' start and end, or a reload): "running" after B's run had finished,
// and a run B deleted stayed. And a run whose tab closed mid-run said "running" for ever.
// Two pages in one browser context (one origin, one real IndexedDB), the built-in LM, short runs.
import type { Page } from '@playwright/test'
import { expect, test } from './fixtures'
import { StudioPage } from './pages/studio'

const quick = 'ep=3&sl=32&bs=16&wu=0'

/** Presses Pause the moment epoch `n`'s validation point is drawn. */
const pauseAfterEpoch = (page: Page, n: number) =>
  page.evaluate((n) => {
    new MutationObserver((_, obs) => {
      if (document.querySelector('[data-testid="val-chart"]')?.getAttribute('data-points') !== String(n)) return
      obs.disconnect()
      ;[...document.querySelectorAll('button')].find((b) => b.textContent?.trim() === 'Pause')!.click()
    }).observe(document.body, { subtree: true, childList: true, attributes: true, attributeFilter: ['data-points'] })
  }, n)

async function twoTabs(studio: StudioPage, page: Page): Promise<StudioPage> {
  await studio.open(quick)
  const b = new StudioPage(await page.context().newPage())
  await b.open(quick)
  return b
}

test('a run trained in another tab is listed as it starts, progresses, finishes, is renamed and deleted, with no reload', async ({ studio, page }) => {
  const b = await twoTabs(studio, page)
  const listA = page.getByTestId('run-item')
  await expect(listA).toHaveCount(0)

  await test.step('started and progressed: listed in tab A as running, with its epochs so far', async () => {
    await pauseAfterEpoch(b.page, 1)
    await b.trainButton.click()
    await expect(b.status).toContainText('Paused', { timeout: 120_000 })
    await expect(listA).toHaveCount(1)
    await expect(listA).toContainText('running · 1 epoch')
    // its tab writes the record as it goes: Delete and Rename wait here until it has ended there
    await expect(listA.getByRole('button', { name: /^Delete run / })).toHaveAttribute('aria-disabled', 'true')
    await expect(listA.getByRole('button', { name: /^Delete run / })).toHaveAccessibleDescription('This run is training in another tab: delete or rename it once it has stopped or finished there.')
    await expect(listA.getByRole('button', { name: /^Rename run / })).toBeDisabled()
  })

  await test.step('finished in tab B: tab A says finished, with all its epochs', async () => {
    await b.page.getByRole('button', { name: 'Resume' }).click()
    await b.waitFinished(120_000)
    await expect(listA).toContainText('finished · 3 epochs')
    await expect(listA.getByRole('button', { name: /^Delete run / })).not.toHaveAttribute('aria-disabled', 'true')
  })

  await test.step('renamed and deleted in tab B: tab A follows', async () => {
    const itemB = b.page.getByTestId('run-item')
    await itemB.getByRole('button', { name: /^Rename run / }).click()
    await b.page.getByLabel(/^New name for run /).fill('from tab B')
    await b.page.getByRole('button', { name: 'Save run name' }).click()
    await expect(listA.getByText('from tab B', { exact: true })).toBeVisible()
    await itemB.getByRole('button', { name: 'Delete run from tab B' }).click()
    await b.page.getByRole('button', { name: 'Delete for good' }).click()
    await expect(b.page.getByTestId('run-item')).toHaveCount(0)
    await expect(listA).toHaveCount(0)
  })
})

test('a run whose tab closed mid-run is listed as interrupted, not running for ever, and offered to continue only then', async ({ studio, page }) => {
  const b = await twoTabs(studio, page)
  const listA = page.getByTestId('run-item')
  await pauseAfterEpoch(b.page, 1)
  await b.trainButton.click()
  await expect(b.status).toContainText('Paused', { timeout: 120_000 })
  await expect(b.page.getByTestId('checkpoint-row')).toHaveCount(1) // epoch 1's, which "Resume" would continue
  await expect(listA).toContainText('running · 1 epoch')

  // a tab opened while the run trains in tab B: the run is not "one the last visit did not see end"
  const c = new StudioPage(await page.context().newPage())
  await c.open(quick)
  await expect(c.page.getByTestId('run-item')).toContainText('running · 1 epoch')
  await expect(c.page.getByTestId('run-item').getByRole('button', { name: /^Delete run / })).toHaveAttribute('aria-disabled', 'true')
  await expect(c.page.getByTestId('resume-prompt')).toHaveCount(0)

  await b.page.close()
  for (const tab of [page, c.page]) {
    await expect(tab.getByTestId('run-item')).toContainText('interrupted · 1 epoch')
    await expect(tab.getByTestId('run-item').getByRole('button', { name: /^Delete run / })).not.toHaveAttribute('aria-disabled', 'true')
    await expect(tab.getByTestId('resume-prompt')).toContainText('Resume from epoch 1?')
  }

  // a tab opened after the run's tab went does not call it running either
  const d = new StudioPage(await page.context().newPage())
  await d.open(quick)
  await expect(d.page.getByTestId('run-item')).toContainText('interrupted · 1 epoch')
  await expect(d.page.getByTestId('resume-prompt')).toContainText('Resume from epoch 1?')
})
