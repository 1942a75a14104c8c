// Learning without labels with a Hugging Face causal LM in the page (issue 17: every objective
// works with the built-in LM and with the Hugging Face GPT-2 / Llama models): a tiny GPT-2 with
// GPT-2's real tokenizer, loaded by repo id, labels shipped passages zero-shot with its own
// tokens and self-trains a LoRA round, scored on the labelled passages. A 16-wide random model
// knows nothing of the classes: this shows the path, not that it learns (lm-objectives.spec.ts
// shows that with the built-in LM).
import { readFileSync } from 'node:fs'
import { expect, test } from './fixtures'
import { loadFromHub, serveHub, tinyGpt2Files } from './hfHub'

const REPO = 'studio-e2e/tiny-gpt2-pseudo'
const lines = (f: string, n: number) => readFileSync(new URL(`../public/samples/lm/${f}`, import.meta.url), 'utf8').trim().split('\n').slice(0, n + 1).join('\n') + '\n'

test('learning without labels with a Hugging Face GPT-2: zero-shot labels with its tokens, a LoRA self-training round, scored on the labelled file', async ({ studio, page }) => {
  serveHub(page, new Map([[REPO, tinyGpt2Files({ d: 16, layers: 2, positions: 64 })]]))
  await studio.open()
  await loadFromHub(page, REPO)
  await page.getByLabel('Method', { exact: true }).selectOption({ label: 'LoRA' })
  await page.getByLabel('Epochs', { exact: true }).fill('1')
  await page.getByLabel('Batch size', { exact: true }).fill('8')
  await page.getByLabel('Warm-up steps', { exact: true }).fill('0')

  const panel = page.locator('#objectives')
  await panel.getByRole('radio', { name: /Learning without labels/ }).check()
  await panel.getByLabel('Unlabelled texts (CSV)').setInputFiles({ name: 'passages.csv', mimeType: 'text/csv', buffer: Buffer.from(lines('sea-or-government-unlabelled.csv', 40)) })
  await panel.getByLabel(/Labelled validation file/).setInputFiles({ name: 'labelled.csv', mimeType: 'text/csv', buffer: Buffer.from(lines('sea-or-government-validation.csv', 20)) })
  await panel.getByRole('textbox', { name: 'Class names' }).fill('sea, government')
  await panel.getByRole('button', { name: 'Label the texts zero-shot' }).click()
  await expect(page.getByTestId('pseudo')).toContainText('passages.csv: 40 texts labelled zero-shot as sea / government', { timeout: 60_000 })
  await expect(page.getByTestId('confidence-histogram')).toBeVisible()
  // a share of the 20 labelled passages
  const zeroShot = Number((await page.getByTestId('zero-shot-accuracy').innerText()).replace('%', ''))
  expect(Number.isInteger(Math.round((zeroShot / 5) * 1e6) / 1e6)).toBe(true)
  await panel.getByLabel(/Confidence threshold/).fill('0.5')
  await expect(page.getByTestId('pseudo-kept')).toContainText('Kept 40 of 40')
  await panel.getByLabel('Self-training rounds').fill('1')
  await page.getByTestId('pseudo-train').click()
  await studio.waitFinished(120_000)
  const round = Number((await page.getByTestId('round-1-accuracy').innerText()).replace('%', ''))
  test.info().annotations.push({ type: 'pseudo', description: `zero-shot ${zeroShot} %, round 1 ${round} %` })
  expect(Number.isInteger(Math.round((round / 5) * 1e6) / 1e6)).toBe(true)
  await expect(page.getByTestId('pseudo-rounds')).toContainText('base model, zero-shot')
  await expect(page.getByTestId('lm-error')).toHaveCount(0)
})
