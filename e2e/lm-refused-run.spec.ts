// A preference-tuning run the worker refuses ("Head only" has no head for DPO to train:
// engine/session/session.ts refuses it before it sets the weights back to the base) leaves the
// objectives panel as it was: the DPO run before is still the session's model, so its result,
// its charts, the chat with it and its training report stay. The page emptied the charts and the
// chat as Train was clicked, and the report named step 1's dataset (spam-ham.csv) after the
// refusal. Built-in LM, one short epoch.
import { readFileSync } from 'node:fs'
import type { Page } from '@playwright/test'
import { expect, test } from './fixtures'

const lines = (f: string, n: number) => readFileSync(new URL(`../public/samples/lm/${f}`, import.meta.url), 'utf8').trim().split('\n').slice(0, n).join('\n') + '\n'
const panel = (page: Page) => page.locator('#objectives')

async function reportTitle(page: Page): Promise<string> {
  const [d] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Download report (JSON)' }).click()])
  return (JSON.parse(readFileSync((await d.path())!, 'utf8')) as { title: string }).title
}

test('preference tuning refused by the worker ("Head only") leaves the DPO run before shown: its result, charts, chat and report', async ({ studio, page }) => {
  await studio.open('m=lora&ep=1&bs=8&sl=64&wu=0')
  await panel(page).getByRole('radio', { name: /Preference tuning/ }).check()
  await panel(page).getByLabel(/^Training file/).setInputFiles({ name: 'pairs.jsonl', mimeType: 'application/jsonl', buffer: Buffer.from(lines('spam-ham-preferences.jsonl', 16)) })
  await expect(page.getByTestId('lm-data')).toContainText('pairs.jsonl: 16 pairs')
  await page.getByTestId('lm-train').click()
  await studio.waitFinished(120_000)
  const result = page.getByTestId('lm-result')
  await expect(result).toContainText('preference accuracy')
  await expect(page.getByTestId('dpo-charts')).toContainText('Training batches')
  const shown = { result: await result.innerText(), summary: await page.getByTestId('dpo-summary').innerText() }
  await panel(page).getByLabel('Prompt', { exact: true }).fill('E-mail: Free money\nSpam or ham?\nAnswer:')
  await panel(page).getByRole('button', { name: 'Send' }).click()
  await expect(page.getByTestId('chat-tuned')).toContainText(/After tuning:\s*\S/, { timeout: 30_000 })
  await expect(page.getByTestId('chat-tuned')).not.toContainText('…')
  const tuned = await page.getByTestId('chat-tuned').innerText()
  expect(await reportTitle(page)).toBe('Fine-tuning report: Tiny LM on pairs.jsonl')

  await page.getByLabel('Method', { exact: true }).selectOption({ label: 'Head only (linear probe)' })
  await page.getByTestId('lm-train').click()
  await expect(studio.alerts.filter({ hasText: '"Head only" trains a new classifier head, and instruction and preference tuning have none' })).toBeVisible({ timeout: 60_000 })
  await expect(page.getByTestId('lm-train')).toBeEnabled()
  await expect(result).toHaveText(shown.result)
  await expect(page.getByTestId('dpo-summary')).toHaveText(shown.summary)
  await expect(page.getByTestId('dpo-charts')).toContainText('Training batches')
  await expect(page.getByTestId('chat-tuned')).toHaveText(tuned)
  expect(await reportTitle(page)).toBe('Fine-tuning report: Tiny LM on pairs.jsonl')
})
