// The training report of an objectives-panel run (h2's walk-through): it named step 1's dataset
// ("Fine-tuning report: Tiny LM on spam-ham.csv", 600 rows, classes ham and spam) for a run that
// trained on the panel's JSON Lines file. Built-in LM, one short epoch each.
import { readFileSync } from 'node:fs'
import type { Page } from '@playwright/test'
import { expect, test } from './fixtures'

const lines = (f: string, n: number) => readFileSync(new URL(`../public/samples/lm/${f}`, import.meta.url), 'utf8').trim().split('\n').slice(0, n).join('\n') + '\n'
const panel = (page: Page) => page.locator('#objectives')

async function reportJson(page: Page): Promise<{ title: string; dataset: { name: string; task: string; rows: number; source: string; classes: unknown[] }; objective?: { kind: string; options: Record<string, unknown> } }> {
  const [d] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Download report (JSON)' }).click()])
  return JSON.parse(readFileSync((await d.path())!, 'utf8'))
}

test('the report of an instruction-tuning run and of a DPO run names the file each trained on, its objective and β', async ({ studio, page }) => {
  await studio.open('m=lora&ep=1&bs=8&sl=48&wu=0')
  await expect(page.getByTestId('dataset-summary')).toContainText('spam-ham.csv')
  await panel(page).getByRole('radio', { name: /Instruction tuning/ }).check()
  await panel(page).getByLabel(/^Training file/).setInputFiles({ name: 'words.jsonl', mimeType: 'application/jsonl', buffer: Buffer.from(lines('afinn-instructions.jsonl', 24)) })
  await panel(page).getByLabel(/^Held-out file/).setInputFiles({ name: 'held.jsonl', mimeType: 'application/jsonl', buffer: Buffer.from(lines('afinn-instructions-validation.jsonl', 8)) })
  await expect(page.getByTestId('lm-data')).toContainText('words.jsonl: 24 rows')
  await page.getByTestId('lm-train').click()
  await studio.waitFinished(120_000)
  const sft = await reportJson(page)
  expect(sft.title).toBe('Fine-tuning report: Tiny LM on words.jsonl')
  expect(sft.dataset).toEqual({ name: 'words.jsonl', source: 'file; held out: held.jsonl', task: 'instruction tuning (SFT)', rows: 24, rejected: 0, classes: [] })
  expect(sft.objective).toEqual({ kind: 'instruction tuning (SFT)', options: { pack: false } })

  await panel(page).getByRole('radio', { name: /Preference tuning/ }).check()
  // the instruction files chosen before are not DPO's: its fields start empty (the SFT held-out
  // file stayed chosen and was read as held-out pairs: "held.jsonl has no usable pair")
  await expect(panel(page).getByLabel(/^Held-out file/)).toHaveValue('')
  await panel(page).getByLabel(/^Training file/).setInputFiles({ name: 'pairs.jsonl', mimeType: 'application/jsonl', buffer: Buffer.from(lines('spam-ham-preferences.jsonl', 16)) })
  await expect(page.getByTestId('lm-data')).toContainText('pairs.jsonl: 16 pairs')
  await panel(page).getByLabel('DPO beta', { exact: true }).fill('0.3')
  await page.getByTestId('lm-train').click()
  await studio.waitFinished(120_000)
  await expect(page.getByTestId('lm-result')).toContainText('preference accuracy')
  const dpo = await reportJson(page)
  expect(dpo.title).toBe('Fine-tuning report: Tiny LM on pairs.jsonl')
  expect(dpo.dataset).toMatchObject({ name: 'pairs.jsonl', task: 'preference tuning (DPO)', rows: 16, classes: [] })
  expect(dpo.objective).toEqual({ kind: 'preference tuning (DPO)', options: { beta: 0.3, sftWeight: 0 } })

  // a run of step 1's dataset after them: the report is that dataset's again
  await studio.trainButton.click()
  await studio.waitEnded(120_000)
  // …and the panel no longer shows that run's result as the DPO run's
  await expect(page.getByTestId('lm-result')).toHaveCount(0)
  const plain = await reportJson(page)
  expect(plain.title).toBe('Fine-tuning report: Tiny LM on spam-ham.csv')
  expect(plain.objective).toBeUndefined()
})
