/**
 * Self-training rounds kept in the browser's real IndexedDB (engine/storage/selfTraining.ts):
 * the page is reloaded the moment round 1 of 2 is shown (round 2 was training: its worker goes
 * with the page), the saved job is listed, restored with round 1's figures, and continued with
 * round 2 on the labels round 1 gave, with round 1's loss and validation charts. A second test
 * stops round 2 of 2: round 1 stays kept, the page says so, the storage step counts the job and
 * deletes it, and a worker that dies meanwhile gets the job restored again. A third has the
 * worker die after labelling (the fresh one labels the texts again, the same labels) and pauses
 * as round 1 ends: round 2 waits for Resume and the panel says so. A fourth stops the job while so
 * paused: round 2 never starts (the run bar never says Training…). Small data and few steps: 64
 * unlabelled passages, 40 labelled ones, "Head only".
 */
import { readFileSync } from 'node:fs'
import AxeBuilder from '@axe-core/playwright'
import { expect, test } from './fixtures'
import type { Page } from '@playwright/test'

type Series = { steps: { step: number; loss: number; lr: number }[]; epochs: { epoch: number; valLoss: number; valAcc?: number }[] }
const series = (page: Page) => page.evaluate(() => (window as unknown as { __studio: () => Series }).__studio())

/** The panel labelled with `n` passages and the validation file, rounds set to 2. */
async function labelPassages(page: Page, n = 64) {
  const panel = page.locator('#objectives')
  await panel.getByRole('radio', { name: /Learning without labels/ }).check()
  await panel.getByLabel('Unlabelled texts (CSV)').setInputFiles({ name: 'passages.csv', mimeType: 'text/csv', buffer: Buffer.from(rows('sea-or-government-unlabelled.csv', n)) })
  await panel.getByLabel(/Labelled validation file/).setInputFiles({ name: 'labelled.csv', mimeType: 'text/csv', buffer: Buffer.from(rows('sea-or-government-validation.csv', 40)) })
  await panel.getByRole('textbox', { name: 'Class names' }).fill('sea, government')
  await panel.getByRole('button', { name: 'Label the texts zero-shot' }).click()
  await expect(page.getByTestId('pseudo')).toContainText(`passages.csv: ${n} texts labelled zero-shot as sea / government`, { timeout: 60_000 })
  await panel.getByLabel(/Confidence threshold/).fill('0.5')
  await expect(page.getByTestId('pseudo-kept')).toContainText(`Kept ${n} of ${n}`)
  await panel.getByLabel('Self-training rounds').fill('2')
}

/** Presses Pause the moment round 1's last (4th) validation point is drawn (4-epoch rounds). */
const pauseAfterRound1 = (page: Page) =>
  page.evaluate(() => {
    new MutationObserver((_, obs) => {
      if (document.querySelector('[data-testid="val-chart"]')?.getAttribute('data-points') !== '4') return
      obs.disconnect()
      ;[...document.querySelectorAll('button')].find((b) => b.textContent?.trim() === 'Pause')!.click()
    }).observe(document.body, { subtree: true, childList: true, attributes: true, attributeFilter: ['data-points'] })
  })

const rows = (f: string, n: number) => readFileSync(new URL(`../public/samples/lm/${f}`, import.meta.url), 'utf8').trim().split('\n').slice(0, n + 1).join('\n') + '\n'

test('self-training survives a reload between rounds: round 1 of 2 kept, restored with its figures, and round 2 continued on its labels', async ({ studio, page }) => {
  await studio.open('m=head&ep=10&bs=16&lr=0.01&sl=32&wu=0&sd=42')
  const panel = page.locator('#objectives')
  const choosePseudo = () => panel.getByRole('radio', { name: /Learning without labels/ }).check()
  await labelPassages(page)
  const zeroShot = await page.getByTestId('zero-shot-accuracy').innerText()

  // The page reloads as soon as round 1's row is drawn: what it showed is kept in session storage.
  await page.evaluate(() => {
    new MutationObserver((_, obs) => {
      const acc = document.querySelector('[data-testid="round-1-accuracy"]')
      if (!acc) return
      obs.disconnect()
      const { steps, epochs } = (window as unknown as { __studio: () => Series }).__studio() // round 1's charts as drawn
      sessionStorage.setItem('round1', JSON.stringify({ row: acc.closest('tr')!.textContent, rows: document.querySelectorAll('[data-testid="pseudo-rounds"] tbody tr').length, steps, epochs }))
      location.reload()
    }).observe(document.body, { subtree: true, childList: true })
  })
  const reloaded = page.waitForEvent('load', { timeout: 60_000 })
  await page.getByTestId('pseudo-train').click()
  await reloaded
  const before = JSON.parse((await page.evaluate(() => sessionStorage.getItem('round1')))!) as { row: string; rows: number } & Series
  expect(before.rows).toBe(2) // zero-shot and round 1: round 2 had not finished
  expect(before.row).toMatch(/^round 1\d+ \(sea \d+, government \d+\)[\d.]+%$/)

  await expect(page.getByTestId('model-title')).toBeVisible({ timeout: 60_000 })
  await choosePseudo()
  await expect(page.getByTestId('pseudo-saved')).toContainText('passages.csv (sea / government): 1 of 2 rounds finished', { timeout: 30_000 })
  await panel.getByRole('button', { name: 'Restore the self-training rounds on passages.csv' }).click()
  await expect(page.getByTestId('pseudo-restored')).toHaveText("Restored 1 of 2 self-training rounds on passages.csv: the model is round 1's, and the charts show the rounds' losses. Round 2 trains on its labels when you continue.")
  // round 1's charts as they were drawn before the reload (losses kept as Float32); the page may
  // also have drawn round 2's first points (its steps counted from 1 again), which are not kept
  const after = await series(page)
  expect(after.steps.length).toBeGreaterThan(0) // one point a reporting window: how many depends on the speed
  expect(after.steps).toEqual(before.steps.slice(0, after.steps.length).map((p) => ({ step: p.step, loss: Math.fround(p.loss), lr: Math.fround(p.lr) })))
  expect(before.steps.slice(after.steps.length).every((p) => p.step < after.steps.at(-1)!.step)).toBe(true)
  expect(after.epochs).toEqual(before.epochs)
  await expect(page.getByTestId('loss-chart')).toHaveAttribute('data-points', String(after.steps.length))
  await expect(page.getByTestId('val-chart')).toHaveAttribute('data-points', String(before.epochs.length))
  await expect(page.getByTestId('val-chart')).toContainText('line to beat')
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

test('a stopped round is not kept and the page says so; the storage step counts the kept job and deletes it; a worker that dies gets the job back', async ({ studio, page }) => {
  await studio.open('m=head&ep=10&bs=16&lr=0.01&sl=32&wu=0&sd=42')
  await labelPassages(page)
  // Stop the moment round 1's row is drawn (a head-only round on 64 rows is over in well under
  // a second, so the test's own polling would be too late): round 2 is training then
  await page.evaluate(() => {
    new MutationObserver((_, obs) => {
      if (!document.querySelector('[data-testid="round-1-accuracy"]')) return
      obs.disconnect()
      ;[...document.querySelectorAll('button')].find((b) => b.textContent?.trim() === 'Stop')!.click()
    }).observe(document.body, { subtree: true, childList: true })
  })
  await page.getByTestId('pseudo-train').click()
  await expect(studio.status).toContainText('Training stopped', { timeout: 60_000 })
  const status = page.getByTestId('pseudo').getByRole('status')
  await expect(status).toContainText(`Round 2 was stopped before its end, so it is not kept in this browser. Round 1 stays saved (Saved self-training); "Continue with round 2" trains it again on round 1's labels.`)
  const s = await series(page)
  test.info().annotations.push({ type: 'round 2 at the stop', description: `${s.steps.filter((p, i) => i > 0 && p.step < s.steps[i - 1]!.step).length ? 'trained' : 'had not trained'}; steps ${s.steps.map((p) => p.step).join(',')}` })
  // a round 2 row, if it had started training, says it was not kept
  expect(await page.getByTestId('round-2-not-kept').count()).toBe(await page.getByTestId('round-2-accuracy').count())
  await expect(page.getByTestId('pseudo-saved')).toContainText('passages.csv (sea / government): 1 of 2 rounds finished')
  await expect(page.getByTestId('pseudo-continue')).toHaveText('Continue with round 2')

  // The storage step (7) lists the kept job with what it takes
  const stored = page.getByTestId('stored-self-training')
  await expect(stored.getByTestId('stored-self-training-total')).toHaveText(/^1 job takes [\d.]+ (kB|MB):/)
  await expect(stored.getByRole('listitem')).toContainText(/^passages\.csv \(sea \/ government\): 1 of 2 rounds, .+, [\d.]+ (kB|MB)/)

  // The worker dies: the fresh one lists the kept job and restores it again (round 1's model), so
  // "Continue with round 2" trains round 2 there
  const dying = page.workers().filter((w) => w.url().includes('engine.worker')).at(-1)!
  await dying.evaluate(() => (self as unknown as { close(): void }).close()).catch(() => {})
  await expect(studio.alerts.filter({ hasText: 'training worker stopped unexpectedly' })).toBeVisible({ timeout: 30_000 })
  await expect(page.getByTestId('pseudo-restored')).toHaveText("Restored 1 of 2 self-training rounds on passages.csv: the model is round 1's, and the charts show the rounds' losses. Round 2 trains on its labels when you continue.", { timeout: 90_000 })
  await page.getByTestId('pseudo-continue').click()
  await studio.waitFinished(60_000)
  await expect(page.getByTestId('round-2-accuracy')).toHaveText(/^[\d.]+%$/)
  await expect(page.getByTestId('round-2-not-kept')).toHaveCount(0)
  await expect(page.getByTestId('pseudo-saved')).toContainText('passages.csv (sea / government): 2 of 2 rounds finished')
  await expect(stored.getByRole('listitem')).toContainText('passages.csv (sea / government): 2 of 2 rounds')

  // Deleted from the storage step, by keyboard, after a question in place (focus on Keep; Escape
  // keeps it): gone from both lists; the storage step is axe-clean, asking and not
  const del = stored.getByRole('button', { name: 'Delete the self-training on passages.csv from this browser' })
  const axeClean = async () => {
    const { violations } = await new AxeBuilder({ page }).include('#checkpoints').withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']).analyze()
    expect(violations.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`)).toEqual([])
  }
  await axeClean()
  const question = stored.getByRole('group', { name: /^Delete the self-training on passages\.csv \(2 of 2 rounds, [\d.]+ (kB|MB)\)\? Its rounds' figures, charts, models and labels cannot be brought back\.$/ })
  await del.focus()
  await page.keyboard.press('Enter')
  await expect(question.getByRole('button', { name: 'Keep' })).toBeFocused()
  await page.keyboard.press('Escape')
  await expect(del).toBeFocused()
  await expect(stored.getByRole('listitem')).toContainText('passages.csv (sea / government): 2 of 2 rounds')
  await page.keyboard.press('Enter')
  await expect(question.getByRole('button', { name: 'Keep' })).toBeFocused()
  await axeClean()
  await page.keyboard.press('Shift+Tab')
  await expect(question.getByRole('button', { name: 'Delete for good' })).toBeFocused()
  await page.keyboard.press('Enter')
  await expect(stored).toContainText('No self-training rounds are kept.')
  await expect(page.getByTestId('pseudo-saved')).toHaveCount(0)
  // the item and its button are gone: focus lands on the list's heading, not on the page's body
  await expect(stored.getByRole('heading', { name: 'Self-training kept in this browser' })).toBeFocused()
  await axeClean()
})

test('a worker that dies after labelling labels the texts again; Pause as a round ends holds the next round until Resume, and the panel says which round waits', async ({ studio, page }) => {
  await studio.open('m=head&ep=4&bs=16&lr=0.01&sl=32&wu=0&sd=42')
  await labelPassages(page)
  // The worker dies before any round: the labels shown are made again by the fresh one (no kept
  // job holds them), the same ones, so training on them works there
  const shown = await page.getByTestId('pseudo').locator('p').first().innerText()
  const kept = await page.getByTestId('pseudo-kept').innerText()
  const dying = page.workers().filter((w) => w.url().includes('engine.worker')).at(-1)!
  await dying.evaluate(() => (self as unknown as { close(): void }).close()).catch(() => {})
  await expect(studio.alerts.filter({ hasText: 'training worker stopped unexpectedly' })).toBeVisible({ timeout: 30_000 })
  await expect(page.getByTestId('pseudo-note')).toHaveText('The training worker was restarted, so it labelled the texts again (the same file and class names, the base model): you can train on them as before.', { timeout: 90_000 })
  await expect(page.getByTestId('pseudo').locator('p').first()).toHaveText(shown)
  await expect(page.getByTestId('pseudo-kept')).toHaveText(kept)
  // round 1's loop has no step left to pause at then: the worker is measuring it, re-labelling the texts and keeping it
  await pauseAfterRound1(page)
  await page.getByTestId('pseudo-train').click()
  const paused = page.getByTestId('pseudo-paused')
  await expect(paused).toHaveText("Paused between rounds: round 1 is finished and round 2's labels are ready; round 2 starts when you press Resume (Stop ends the self-training here).", { timeout: 60_000 })
  await expect(page.getByTestId('run-bar').getByRole('button', { name: 'Resume' })).toHaveAttribute('title', 'Start round 2 of the self-training')
  await expect(studio.status).toHaveText('Paused.')
  await expect(page.getByTestId('round-1-accuracy')).toHaveText(/^[\d.]+%$/)
  const steps = (await series(page)).steps.length
  await page.waitForTimeout(1000) // round 2 would have trained by now (about a second for all four epochs)
  expect((await series(page)).steps.length).toBe(steps)
  await expect(page.getByTestId('round-2-accuracy')).toHaveCount(0)
  await page.getByRole('button', { name: 'Resume' }).click()
  await expect(paused).toHaveCount(0)
  await studio.waitFinished(60_000)
  await expect(page.getByTestId('round-2-accuracy')).toHaveText(/^[\d.]+%$/)
  await expect(page.getByTestId('pseudo-saved')).toContainText('passages.csv (sea / government): 2 of 2 rounds finished')
})

test('Stop while paused between rounds ends the self-training there: round 2 never starts, the run bar never says Training…, round 1 stays kept and can be continued', async ({ studio, page }) => {
  await studio.open('m=head&ep=4&bs=16&lr=0.01&sl=32&wu=0&sd=42')
  await labelPassages(page)
  await pauseAfterRound1(page) // round 2 waits
  await page.getByTestId('pseudo-train').click()
  await expect(page.getByTestId('pseudo-paused')).toContainText('round 2 starts when you press Resume', { timeout: 60_000 })
  await expect(studio.status).toHaveText('Paused.')
  const steps = (await series(page)).steps.length
  // Every text the run bar's status shows from here on
  await page.evaluate(() => {
    const el = document.querySelector('[data-testid="run-status"]')!
    const seen: string[] = []
    ;(window as unknown as { __statuses: string[] }).__statuses = seen
    new MutationObserver(() => seen.push(el.textContent ?? '')).observe(el, { subtree: true, childList: true, characterData: true })
  })
  await page.getByTestId('run-bar').getByRole('button', { name: 'Stop' }).click()
  await expect(studio.status).toHaveText(`Training stopped before self-training round 2 of 2, which did not start; the model is round 1's. Round 1 stays saved (Saved self-training); "Continue with round 2" trains it on round 1's labels.`, { timeout: 30_000 })
  const statuses = await page.evaluate(() => (window as unknown as { __statuses: string[] }).__statuses)
  expect(statuses.filter((t) => t.includes('Training…')), `the run bar after Stop: ${statuses.join(' | ')}`).toEqual([])
  expect((await series(page)).steps.length, 'no step of round 2').toBe(steps)
  await expect(page.getByTestId('pseudo-paused')).toHaveCount(0)
  await expect(page.getByTestId('round-1-accuracy')).toHaveText(/^[\d.]+%$/)
  await expect(page.getByTestId('round-2-accuracy')).toHaveCount(0)
  await expect(page.getByTestId('round-2-not-kept')).toHaveCount(0)
  await expect(page.getByTestId('pseudo-saved')).toContainText('passages.csv (sea / government): 1 of 2 rounds finished')
  await expect(page.getByTestId('pseudo-continue')).toHaveText('Continue with round 2')
})
