import { mkdtemp, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { chromium, type Page, type Worker } from '@playwright/test'
import { expect, smallSpamHam, test } from './fixtures'
import { StudioPage } from './pages/studio'

// Slow enough to act between epochs: 64 training rows, 8 per step, 8 steps an epoch.
const slow = 'ep=4&sl=32&bs=8&wu=0'

async function startRun(studio: StudioPage, name: string, rows = 80) {
  await studio.uploadDataset(name, smallSpamHam(rows))
  await studio.waitForDataset(name)
  await studio.trainButton.click()
}

const stepsOf = async (studio: StudioPage) => (await studio.series()).steps.map((s) => s.step)

test('a reload mid-run offers to resume, and resuming continues the same chart', async ({ studio, page }) => {
  await studio.open(slow)
  await startRun(studio, 'reload.csv')
  await expect(page.getByTestId('checkpoint-row').first()).toBeVisible({ timeout: 120_000 })
  await page.reload()

  const prompt = page.getByTestId('resume-prompt')
  await expect(prompt).toContainText(/Resume from epoch (\d)\?/, { timeout: 60_000 })
  const epoch = Number((await prompt.innerText()).match(/Resume from epoch (\d)\?/)![1])
  const row = page.locator(`[data-testid=checkpoint-row][data-epoch="${epoch}"]`)
  const ckStep = Number(await row.locator('td').nth(3).innerText())
  expect(ckStep).toBe(8 * epoch)

  await expect(prompt.getByRole('button', { name: 'Resume', exact: true })).toBeEnabled({ timeout: 60_000 })
  await prompt.getByRole('button', { name: 'Resume', exact: true }).click()
  await expect(prompt).toHaveCount(0)
  await studio.waitFinished()
  await expect(studio.status).toContainText('4 epochs')
  const steps = await stepsOf(studio)
  // The stored curve up to the checkpoint, then new steps after it: increasing, never restarting at 1.
  expect(steps.some((s) => s <= ckStep)).toBe(true)
  expect(steps.some((s) => s > ckStep)).toBe(true)
  expect(steps.every((s, i) => i === 0 || s > steps[i - 1]!)).toBe(true)
  expect(steps.at(-1)).toBe(32)
  expect((await studio.series()).epochs).toHaveLength(4)
  await expect(page.getByTestId('run-item')).toHaveCount(1) // the same run, continued
  await expect(page.getByTestId('run-item')).toContainText('finished')

  // No checkpoint is corrupt: each one kept (the one the reload interrupted after, and those
  // written after resuming) restores, and gives back the validation accuracy it was saved with.
  const rows = page.getByTestId('checkpoint-row')
  const count = await rows.count()
  expect(count).toBeGreaterThanOrEqual(2)
  for (let i = 0; i < count; i++) {
    const row = rows.nth(i)
    const name = await row.getByTestId('checkpoint-name').innerText()
    const saved = /accuracy (\d+\.\d)%/.exec(await row.locator('td').nth(4).innerText())?.[1]
    expect(saved, `${name} lists its accuracy`).toBeTruthy()
    await page.getByRole('button', { name: `Restore ${name}` }).click()
    await expect(page.getByRole('status').filter({ hasText: `Restored "${name}"` })).toBeVisible({ timeout: 60_000 })
    await expect(page.getByTestId('tuned-accuracy')).toHaveText(`${saved}%`)
  }
})

test('a full disk pauses the run with a clear alert, nothing half-written is listed, and freeing space continues it', async ({ studio, page }) => {
  await studio.open('ep=2&sl=32&bs=8&wu=0')
  // Test hook: the worker's storage estimate now reports no free space (see checkpointProtocol.ts).
  await page.evaluate(() => (window as unknown as { __storageFault: (f: string) => void }).__storageFault('quota'))
  await startRun(studio, 'quota.csv', 60)

  const alert = page.getByTestId('storage-full')
  await expect(alert).toBeVisible({ timeout: 120_000 })
  await expect(alert).toHaveAttribute('role', 'alert')
  await expect(alert).toContainText('storage for this site is full')
  await expect(alert).toContainText('Training is paused and nothing is lost')
  await expect(studio.status).toHaveText('Paused.')
  const held = await studio.lossPoints()
  await page.waitForTimeout(1500)
  expect(await studio.lossPoints()).toBe(held)
  await expect(page.getByTestId('checkpoint-row')).toHaveCount(0) // the refused checkpoint is not listed

  await page.evaluate(() => (window as unknown as { __storageFault: (f: string) => void }).__storageFault('none'))
  await alert.getByRole('button', { name: 'Delete older checkpoints and continue' }).click()
  await studio.waitFinished()
  await expect(studio.status).toContainText('Training complete')
  await expect.poll(async () => (await page.getByTestId('checkpoint-row').evaluateAll((r) => r.map((x) => x.getAttribute('data-epoch')))).sort()).toEqual(['1', '2'])
})

test('a real quota: IndexedDB refuses the checkpoint, the run pauses with the alert, the dataset stays, and more room continues it', async () => {
  // A real quota through DevTools (what "Simulate custom storage quota" in Chrome's
  // Application panel uses). It binds IndexedDB writes only in a persistent profile (not in
  // Playwright's default incognito contexts) and only if set before the origin first opens
  // its storage, so it is set on a blank page of the same origin before the studio loads.
  // navigator.storage.estimate() still reports the disk's quota, so this goes past the
  // studio's estimate check to a real QuotaExceededError from IndexedDB, as a full disk does.
  const use = test.info().project.use
  const dir = await mkdtemp(path.join(os.tmpdir(), 'studio-quota-'))
  const context = await chromium.launchPersistentContext(dir, { ...use.launchOptions, baseURL: use.baseURL })
  try {
    const page = context.pages()[0] ?? (await context.newPage())
    await page.route('**/__blank', (r) => r.fulfill({ status: 200, contentType: 'text/html', body: '<!doctype html><title>blank</title>' }))
    await page.goto('/__blank')
    const origin = new URL(page.url()).origin
    const cdp = await context.newCDPSession(page)
    // 1 MB: room for the dataset and the settings, not for a checkpoint (about 2.4 MB here).
    await cdp.send('Storage.overrideQuotaForOrigin', { origin, quotaSize: 1024 * 1024 })
    const studio = new StudioPage(page)
    await studio.open('ep=2&sl=32&bs=8&wu=0')
    await studio.uploadDataset('quota-real.csv', smallSpamHam(60))
    await studio.waitForDataset('quota-real.csv')
    await studio.trainButton.click()

    const alert = page.getByTestId('storage-full')
    await expect(alert).toBeVisible({ timeout: 120_000 })
    await expect(alert).toContainText('storage for this site is full')
    await expect(alert).toContainText('Training is paused and nothing is lost')
    await expect(studio.status).toHaveText('Paused.')
    const held = await studio.lossPoints()
    expect(held).toBeGreaterThan(0)
    await page.waitForTimeout(1500)
    expect(await studio.lossPoints()).toBe(held)
    await expect(page.getByTestId('checkpoint-row')).toHaveCount(0)
    await expect(page.getByTestId('dataset-summary')).toContainText('quota-real.csv')

    await cdp.send('Storage.overrideQuotaForOrigin', { origin, quotaSize: 1024 ** 3 }) // the person made room
    await alert.getByRole('button', { name: 'Delete older checkpoints and continue' }).click()
    await studio.waitFinished()
    await expect(studio.status).toContainText('Training complete')
    await expect.poll(async () => (await page.getByTestId('checkpoint-row').evaluateAll((r) => r.map((x) => x.getAttribute('data-epoch')))).sort()).toEqual(['1', '2'])
    // The stored dataset survived: it is still offered after a reload.
    await page.reload()
    await expect(page.getByTestId('stored-datasets')).toContainText('quota-real.csv', { timeout: 60_000 })
  } finally {
    await context.close()
    await rm(dir, { recursive: true, force: true })
  }
})

/** The training worker as Playwright sees it (the page may also run other workers). */
async function trainingWorker(page: Page): Promise<Worker> {
  await expect.poll(() => page.workers().filter((w) => w.url().includes('engine.worker')).length, { timeout: 30_000 }).toBeGreaterThan(0)
  return page.workers().filter((w) => w.url().includes('engine.worker')).at(-1)!
}

test('the worker really ending mid-run: a message in words, a new worker, the last checkpoint offered, and resuming it finishes the run', async ({ studio, page }) => {
  const started: Worker[] = []
  page.on('worker', (w) => started.push(w))
  await studio.open(slow)
  await startRun(studio, 'crash.csv')
  await expect(page.getByTestId('checkpoint-row').first()).toBeVisible({ timeout: 120_000 })
  const dying = await trainingWorker(page)
  const before = started.length
  // End it from inside, through the DevTools protocol (Runtime.evaluate in the worker's target):
  // the worker closes itself mid-run, as a crash would end it, and fires no event on the page.
  await dying.evaluate(() => (self as unknown as { close(): void }).close()).catch(() => {})

  await expect(studio.alerts.filter({ hasText: 'training worker stopped unexpectedly' })).toBeVisible({ timeout: 30_000 })
  await expect(studio.alerts.filter({ hasText: 'resume from the last one' })).toBeVisible()
  await expect(studio.alerts.filter({ hasText: /Error|undefined|at \w+ \(/ })).toHaveCount(0) // words, not a stack
  await expect.poll(() => started.length).toBeGreaterThan(before) // a new worker
  await expect(studio.trainButton).toBeEnabled({ timeout: 90_000 })
  const prompt = page.getByTestId('resume-prompt')
  await expect(prompt).toContainText(/Resume from epoch \d\?/, { timeout: 30_000 })
  const rows = page.getByTestId('checkpoint-row')
  await expect(rows.first()).toBeVisible()
  const epoch = Number((await prompt.innerText()).match(/Resume from epoch (\d)\?/)![1])
  expect(epoch).toBeGreaterThanOrEqual(1)
  expect(epoch).toBeLessThan(4)

  // The new worker trains: resuming the offered checkpoint runs the rest of the epochs.
  await prompt.getByRole('button', { name: 'Resume', exact: true }).click()
  await studio.waitFinished()
  await expect(studio.status).toContainText('4 epochs')
  expect((await studio.series()).steps.at(-1)?.step).toBe(32)
  await expect(page.getByTestId('run-item')).toHaveCount(1) // the same run, continued
  await expect(page.getByTestId('run-item')).toContainText('finished')
})

test('an uncaught error inside the worker: it is replaced, the page says so in words, and Train works', async ({ studio, page }) => {
  await studio.open('ep=1&sl=32&bs=16&wu=0')
  const worker = await trainingWorker(page)
  // A real uncaught error in the worker (the Worker's error event), not a message the page sends.
  await worker.evaluate(() => void setTimeout(() => { throw new Error('boom from a worker callback') }))
  await expect(studio.alerts.filter({ hasText: 'training worker stopped unexpectedly after an error' })).toBeVisible({ timeout: 30_000 })
  await expect(studio.alerts.filter({ hasText: 'boom' })).toHaveCount(0) // the raw message stays out
  await expect(studio.trainButton).toBeEnabled({ timeout: 90_000 })
  await studio.uploadDataset('after-error.csv', smallSpamHam(40))
  await studio.waitForDataset('after-error.csv')
  await studio.trainButton.click()
  await studio.waitFinished()
  await expect(studio.status).toContainText('Training complete — 1 epoch,')
})
