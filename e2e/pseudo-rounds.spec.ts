/**
 * Self-training rounds kept in the browser's real IndexedDB (engine/storage/selfTraining.ts):
 * the page is reloaded the moment round 1 of 2 is shown (round 2 was training: its worker goes
 * with the page), the saved job is listed, restored with round 1's figures, and continued with
 * round 2 on the labels round 1 gave. Small data and few steps: 64 unlabelled passages, 40
 * labelled ones, "Head only".
 */
import { readFileSync } from 'node:fs'
import AxeBuilder from '@axe-core/playwright'
import { expect, test } from './fixtures'

const rows = (f: string, n: number) => readFileSync(new URL(`../public/samples/lm/${f}`, import.meta.url), 'utf8').trim().split('\n').slice(0, n + 1).join('\n') + '\n'

test('self-training survives a reload between rounds: round 1 of 2 kept, restored with its figures, and round 2 continued on its labels', async ({ studio, page }) => {
  await studio.open('m=head&ep=10&bs=16&lr=0.01&sl=32&wu=0&sd=42')
  const panel = page.locator('#objectives')
  const choosePseudo = () => panel.getByRole('radio', { name: /Learning without labels/ }).check()
  await choosePseudo()
  await panel.getByLabel('Unlabelled texts (CSV)').setInputFiles({ name: 'passages.csv', mimeType: 'text/csv', buffer: Buffer.from(rows('sea-or-government-unlabelled.csv', 64)) })
  await panel.getByLabel(/Labelled validation file/).setInputFiles({ name: 'labelled.csv', mimeType: 'text/csv', buffer: Buffer.from(rows('sea-or-government-validation.csv', 40)) })
  await panel.getByRole('textbox', { name: 'Class names' }).fill('sea, government')
  await panel.getByRole('button', { name: 'Label the texts zero-shot' }).click()
  await expect(page.getByTestId('pseudo')).toContainText('passages.csv: 64 texts labelled zero-shot as sea / government', { timeout: 60_000 })
  const zeroShot = await page.getByTestId('zero-shot-accuracy').innerText()
  await panel.getByLabel(/Confidence threshold/).fill('0.5')
  await expect(page.getByTestId('pseudo-kept')).toContainText('Kept 64 of 64')
  await panel.getByLabel('Self-training rounds').fill('2')

  // The page reloads as soon as round 1's row is drawn: what it showed is kept in session storage.
  await page.evaluate(() => {
    new MutationObserver((_, obs) => {
      const acc = document.querySelector('[data-testid="round-1-accuracy"]')
      if (!acc) return
      obs.disconnect()
      sessionStorage.setItem('round1', JSON.stringify({ row: acc.closest('tr')!.textContent, rows: document.querySelectorAll('[data-testid="pseudo-rounds"] tbody tr').length }))
      location.reload()
    }).observe(document.body, { subtree: true, childList: true })
  })
  const reloaded = page.waitForEvent('load', { timeout: 60_000 })
  await page.getByTestId('pseudo-train').click()
  await reloaded
  const before = JSON.parse((await page.evaluate(() => sessionStorage.getItem('round1')))!) as { row: string; rows: number }
  expect(before.rows).toBe(2) // zero-shot and round 1: round 2 had not finished
  expect(before.row).toMatch(/^round 1\d+ \(sea \d+, government \d+\)[\d.]+%$/)

  await expect(page.getByTestId('model-title')).toBeVisible({ timeout: 60_000 })
  await choosePseudo()
  await expect(page.getByTestId('pseudo-saved')).toContainText('passages.csv (sea / government): 1 of 2 rounds finished', { timeout: 30_000 })
  await panel.getByRole('button', { name: 'Restore the self-training rounds on passages.csv' }).click()
  await expect(page.getByTestId('pseudo-restored')).toHaveText("Restored 1 of 2 self-training rounds on passages.csv: the model is round 1's. Round 2 trains on its labels when you continue.")
  await expect(page.getByTestId('zero-shot-accuracy')).toHaveText(zeroShot)
  await expect(page.getByTestId('round-1-accuracy').locator('xpath=..')).toHaveText(before.row)
  await expect(page.getByTestId('round-2-accuracy')).toHaveCount(0)
  await expect(page.getByTestId('confidence-histogram')).toBeVisible()
  const { violations } = await new AxeBuilder({ page }).include('#objectives').withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']).analyze()
  expect(violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`)).toEqual([])

  await page.getByTestId('pseudo-continue').click()
  await studio.waitFinished(60_000)
  await expect(page.getByTestId('round-2-accuracy')).toHaveText(/^[\d.]+%$/)
  await expect(page.getByTestId('round-1-accuracy').locator('xpath=..')).toHaveText(before.row)
  await expect(page.getByTestId('pseudo').getByRole('status')).toContainText('(self-training round 2 of 2)')
  await expect(page.getByTestId('pseudo-saved')).toContainText('passages.csv (sea / government): 2 of 2 rounds finished')
  await expect(page.getByTestId('pseudo-continue')).toHaveCount(0)
})
