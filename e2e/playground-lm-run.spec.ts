/**
 * After an instruction (SFT) or preference (DPO) run, step 6 tries the tuned language model by
 * generating text, and says why, instead of offering Classify for step 1's classification set
 * (the run left no class head). On the way: an instruction file that mixes chat rows and
 * prompt/completion rows is refused by name, and a perplexity in the thousands is written with
 * thousands separators. Real files through the page, the built-in LM trained by the worker.
 */
import { readFileSync } from 'node:fs'
import { expect, test } from './fixtures'
import type { Page } from '@playwright/test'

const lm = (f: string) => readFileSync(new URL(`../public/samples/lm/${f}`, import.meta.url), 'utf8')
const lines = (f: string, from: number, to: number) => lm(f).trim().split('\n').slice(from, to).join('\n') + '\n'
const panel = (page: Page) => page.locator('#objectives')
const step6 = (page: Page) => page.locator('#playground')

async function upload(page: Page, label: RegExp, name: string, text: string) {
  await panel(page).getByLabel(label).setInputFiles({ name, mimeType: 'application/jsonl', buffer: Buffer.from(text) })
}

test('after an SFT or a DPO run step 6 generates text with the tuned model and says why; a mixed instruction file is refused by row; perplexities in the thousands have separators', async ({ studio, page }) => {
  await studio.open('m=lora&ep=1&bs=8&lr=0.01&sl=48&wu=0&do=0')
  await test.step('before: step 1 is a classification set, so step 6 classifies', async () => {
    await expect(step6(page).getByRole('button', { name: 'Classify' })).toBeVisible()
  })
  await panel(page).getByRole('radio', { name: /Instruction tuning/ }).check()
  await test.step('a file with chat rows and prompt/completion rows is refused, naming the first row of the other kind', async () => {
    const chat = lines('afinn-chat.jsonl', 0, 2)
    const pairs = lines('afinn-instructions.jsonl', 0, 2)
    await upload(page, /^Training file/, 'mixed.jsonl', chat + pairs)
    await expect(page.getByTestId('lm-error')).toContainText('mixed.jsonl mixes two kinds of row: row 1 is a chat conversation ({"messages": […]}), but row 3 is a prompt/completion row ({"prompt": …, "completion": …}) (and 1 more like it)')
    await expect(page.getByTestId('lm-error')).toContainText('rewrite those rows the way row 1 is written, or put them in a file of their own')
  })
  await test.step('an SFT run whose answers the base model finds very unlikely: perplexities in the thousands, written with separators', async () => {
    // Answers in Cherokee syllables: bytes the built-in LM (pretrained on English) all but never predicts.
    const rows = Array.from({ length: 24 }, (_, i) => JSON.stringify({ prompt: `Word ${i}:`, completion: ` ${String.fromCodePoint(0x13a0 + i, 0x13c0 + i, 0x13b0 + i)}` })).join('\n') + '\n'
    await upload(page, /^Training file/, 'syllables.jsonl', rows)
    await expect(page.getByTestId('lm-data')).toContainText('syllables.jsonl: 24 rows')
    await page.getByTestId('lm-train').click()
    await studio.waitFinished(120_000)
    const message = (await page.getByTestId('lm-result').innerText()).trim()
    test.info().annotations.push({ type: 'sft', description: message })
    expect(message).toMatch(/line to beat: model before tuning [\d.]+, \d{1,3}(,\d{3})+\.\d\d\)/)
    expect(message).not.toMatch(/\d{4}\.\d/)
    // The evaluation table's line to beat, likewise.
    await expect(page.getByRole('row', { name: /^Perplexity/ }).getByRole('cell').first()).toHaveText(/^\d{1,3}(,\d{3})+\.\d{3}$/)
  })
  await test.step('step 6 after SFT: no Classify; it says why and generates with the model before and after tuning', async () => {
    await expect(step6(page).getByRole('button', { name: 'Classify' })).toHaveCount(0)
    await expect(step6(page).getByTestId('playground-lm-run')).toContainText('The last run was instruction tuning (SFT): it tuned the language model, which writes text and has no class head')
    await step6(page).getByLabel('Prompt', { exact: true }).fill('Word 3:')
    await step6(page).getByLabel(/Tokens to generate/).fill('4')
    await step6(page).getByRole('button', { name: 'Generate' }).click()
    await expect(step6(page).getByTestId('generation-after')).not.toHaveText(/^After fine-tuning\s*Word 3:\s*$/, { timeout: 30_000 })
    await expect(step6(page)).not.toContainText('No language-model run yet')
  })
  await test.step('after a DPO run: the same, naming preference tuning', async () => {
    await panel(page).getByRole('radio', { name: /Preference tuning/ }).check()
    await upload(page, /^Training file/, 'pairs.jsonl', lines('spam-ham-preferences.jsonl', 0, 16))
    await expect(page.getByTestId('lm-data')).toContainText('pairs.jsonl: 16 pairs')
    await page.getByTestId('lm-train').click()
    // The SFT run's "Training complete" is still on the page: wait for this run's own summary.
    await expect(page.getByTestId('dpo-summary')).toContainText(/after epoch 1/, { timeout: 120_000 })
    await studio.waitFinished(120_000)
    await expect(step6(page).getByRole('button', { name: 'Classify' })).toHaveCount(0)
    await expect(step6(page).getByTestId('playground-lm-run')).toContainText('The last run was preference tuning (DPO)')
    await expect(step6(page).getByRole('button', { name: 'Generate' })).toBeEnabled()
  })
})
