// The checked instruction or preference file survives a worker that ends: the page starts a
// fresh worker with the same model and dataset (state/actions.ts restartEngine) and sends it
// the checked file again, so "Train" trains on it instead of asking for a training file.
import { readFileSync } from 'node:fs'
import { expect, test } from './fixtures'

const lines = (f: string, from: number, to: number) => readFileSync(new URL(`../public/samples/lm/${f}`, import.meta.url), 'utf8').trim().split('\n').slice(from, to).join('\n') + '\n'

test('after the training worker dies, the fresh worker gets the checked preference file again and a DPO run trains on it', async ({ studio, page }) => {
  await studio.open('m=lora&ep=1&bs=8&lr=0.005&sl=64&wu=0&do=0')
  const panel = page.locator('#objectives')
  await panel.getByRole('radio', { name: /Preference tuning/ }).check()
  const upload = (label: RegExp, name: string, text: string) => panel.getByLabel(label).setInputFiles({ name, mimeType: 'application/jsonl', buffer: Buffer.from(text) })
  await upload(/^Training file/, 'pairs.jsonl', lines('spam-ham-preferences.jsonl', 0, 16))
  await upload(/^Held-out file/, 'held-out-pairs.jsonl', lines('spam-ham-preferences-validation.jsonl', 0, 8))
  await expect(page.getByTestId('lm-data')).toContainText('pairs.jsonl: 16 pairs; held out: held-out-pairs.jsonl, 8')

  // The worker ends from inside (as a crash would), firing no event on the page.
  await expect.poll(() => page.workers().filter((w) => w.url().includes('engine.worker')).length, { timeout: 30_000 }).toBeGreaterThan(0)
  const dying = page.workers().filter((w) => w.url().includes('engine.worker')).at(-1)!
  await dying.evaluate(() => (self as unknown as { close(): void }).close()).catch(() => {})
  await expect(studio.alerts.filter({ hasText: 'training worker stopped unexpectedly' })).toBeVisible({ timeout: 30_000 })
  await expect(studio.trainButton).toBeEnabled({ timeout: 90_000 })
  // the fresh worker read the same files again (its summary, not the one before, is shown)
  await expect(page.getByTestId('lm-data')).toContainText('pairs.jsonl: 16 pairs; held out: held-out-pairs.jsonl, 8')

  await page.getByTestId('lm-train').click()
  await studio.waitFinished(120_000)
  await expect(studio.alerts.filter({ hasText: 'Choose a training file' })).toHaveCount(0)
  await expect(panel.getByText('Choose a training file')).toHaveCount(0)
  await expect(page.getByTestId('dpo-summary')).toContainText(/Preference accuracy [\d.]+% before tuning → [\d.]+% after epoch 1/)
})
