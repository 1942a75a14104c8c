// The objectives panel as a person types into it and changes their mind (h2's walk-through):
// numbers typed key by key, the sequence length changed after the file was checked, and
// "Label the texts zero-shot" pressed before any file is chosen. Built-in LM, no training.
import { readFileSync } from 'node:fs'
import type { Page } from '@playwright/test'
import { expect, test } from './fixtures'

const lm = (f: string) => readFileSync(new URL(`../public/samples/lm/${f}`, import.meta.url), 'utf8')
const lines = (f: string, from: number, to: number) => lm(f).trim().split('\n').slice(from, to).join('\n') + '\n'
const panel = (page: Page) => page.locator('#objectives')

/** Replaces a field's text by typing, one key at a time, as a person does. */
async function typeInto(page: Page, label: string, text: string) {
  const field = panel(page).getByLabel(label, { exact: true })
  await field.click()
  await page.keyboard.press('Control+A')
  await page.keyboard.press('Backspace')
  await page.keyboard.type(text, { delay: 30 })
}

test('DPO beta and the SFT term weight take the numbers typed key by key, and the TRL recipe carries them', async ({ studio, page }) => {
  await studio.open('m=lora&bs=8&sl=64&wu=0')
  await panel(page).getByRole('radio', { name: /Preference tuning/ }).check()
  await panel(page).getByLabel(/^Training file/).setInputFiles({ name: 'pairs.jsonl', mimeType: 'application/jsonl', buffer: Buffer.from(lines('spam-ham-preferences.jsonl', 0, 16)) })
  await expect(page.getByTestId('lm-data')).toContainText('pairs.jsonl: 16 pairs')
  // "0" on the way to 0.05 used to snap back to the default 0.1, so the field ended at 0.105
  await typeInto(page, 'DPO beta', '0.05')
  await typeInto(page, 'SFT term weight', '0.25')
  await panel(page).getByLabel('DPO beta', { exact: true }).blur()
  await expect(panel(page).getByLabel('DPO beta', { exact: true })).toHaveValue('0.05')
  await expect(panel(page).getByLabel('SFT term weight', { exact: true })).toHaveValue('0.25')
  const files: Record<string, string> = {}
  page.on('download', async (d) => (files[d.suggestedFilename()] = readFileSync((await d.path())!, 'utf8')))
  await panel(page).getByRole('button', { name: 'Download the TRL recipe' }).click()
  await expect.poll(() => Object.keys(files).sort().join(','), { timeout: 15_000 }).toBe('launch.sh,train.jsonl,train.py')
  expect(files['train.py']).toContain('beta=0.05,')
  expect(files['train.py']).toContain('rpo_alpha=0.25,')
  // out of range, typed: clamped when the field is left; emptied: the last number comes back
  await typeInto(page, 'DPO beta', '7')
  await panel(page).getByLabel('DPO beta', { exact: true }).blur()
  await expect(panel(page).getByLabel('DPO beta', { exact: true })).toHaveValue('2')
  await typeInto(page, 'SFT term weight', '')
  await panel(page).getByLabel('SFT term weight', { exact: true }).blur()
  await expect(panel(page).getByLabel('SFT term weight', { exact: true })).toHaveValue('0.25')
})

test('the checked instruction file is read again when the sequence length changes: the summary and the rows counted as cut follow it', async ({ studio, page }) => {
  await studio.open('m=lora&bs=8&sl=64&wu=0')
  await panel(page).getByRole('radio', { name: /Instruction tuning/ }).check()
  // one row of the sample made long: its prompt repeated 4 times is over 64 tokens but under 128 (the built-in LM’s context)
  const rows = lines('afinn-instructions.jsonl', 0, 8).trim().split('\n').map((l) => JSON.parse(l) as { prompt: string; completion: string })
  rows[2] = { ...rows[2]!, prompt: `${rows[2]!.prompt} `.repeat(4) }
  await panel(page).getByLabel(/^Training file/).setInputFiles({ name: 'long.jsonl', mimeType: 'application/jsonl', buffer: Buffer.from(rows.map((r) => JSON.stringify(r)).join('\n')) })
  const data = page.getByTestId('lm-data')
  await expect(data).toContainText('long.jsonl: 8 rows; sequence length 64 tokens')
  await expect(data).toContainText('1 row longer than the sequence length: the start of the prompt is cut, never the answer (rows 3).')
  await page.getByLabel('Sequence length', { exact: true }).fill('128')
  await expect(data).toContainText('long.jsonl: 8 rows; sequence length 128 tokens')
  await expect(data).not.toContainText('longer than the sequence length')
})

test('"Label the texts zero-shot" before any file is chosen says what to choose, instead of doing nothing', async ({ studio, page }) => {
  await studio.open()
  await panel(page).getByRole('radio', { name: /Learning without labels/ }).check()
  await panel(page).getByRole('button', { name: 'Label the texts zero-shot' }).click()
  await expect(page.getByTestId('lm-error')).toHaveText('No texts to label yet: choose a CSV of unlabelled texts under "Unlabelled texts (CSV)" above (or use the sample), then label them.')
  await expect(panel(page).getByLabel('Unlabelled texts (CSV)')).toBeFocused()
})
