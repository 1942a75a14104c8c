// Preference tuning (DPO) of a Hugging Face causal LM in the built app: a tiny GPT-2 (GPT-2's
// real tokenizer, e2e/hfHub.ts) loaded by repo id, preference pairs built from the shipped
// samples (e2e/wordPreferencePairs.ts says why so small a model can learn them) checked in the
// LM objectives panel with GPT-2's tokens, LoRA trained through the worker, and the held-out
// preference accuracy charted against the base model's line and ending above it.
import { readFileSync } from 'node:fs'
import { expect, test } from './fixtures'
import { loadFromHub, serveHub, tinyGpt2Files } from './hfHub'
import { jsonl, wordPreferencePairs } from './wordPreferencePairs'

const REPO = 'studio-e2e/tiny-gpt2-dpo'
const TRAIN = 48
const VAL = 32
const sample = (f: string) => readFileSync(new URL(`../public/samples/lm/${f}`, import.meta.url), 'utf8')
const pairs = wordPreferencePairs(sample('afinn-preferences.jsonl'), sample('spam-ham-preferences.jsonl'), TRAIN, VAL)

test('DPO with LoRA on a Hugging Face GPT-2 loaded by repo id: GPT-2’s tokens in the preview, the preference charts, and held-out preference accuracy above the base model’s; a fresh worker after the old one ends holds the model and the pairs again', async ({ studio, page }) => {
  serveHub(page, new Map([[REPO, tinyGpt2Files({ d: 16, layers: 1, positions: 64, seed: 7 })]]))
  await studio.open('m=lora&r=8&la=16&lt=qkv,proj,fc,out&ep=EPOCHS&bs=8&lr=0.01&sl=24&wu=0&do=0&sd=1'.replace('EPOCHS', String(process.env.HF_DPO_EPOCHS ?? 2)))
  await loadFromHub(page, REPO)

  const panel = page.locator('#objectives')
  await panel.getByRole('radio', { name: /Preference tuning/ }).check()
  const upload = (label: RegExp, name: string, text: string) => panel.getByLabel(label).setInputFiles({ name, mimeType: 'application/jsonl', buffer: Buffer.from(text) })
  await upload(/^Training file/, 'word-pairs.jsonl', jsonl(pairs.train))
  await upload(/^Held-out file/, 'word-pairs-validation.jsonl', jsonl(pairs.val))
  await expect(page.getByTestId('lm-data')).toContainText(`word-pairs.jsonl: ${TRAIN} pairs; held out: word-pairs-validation.jsonl, ${VAL}`)
  await expect(page.getByTestId('lm-data')).toContainText(`${REPO}’s tokenizer`)
  // the first pair's answers, each ended by GPT-2's end token, are what is trained
  const first = pairs.train[0]!
  const row = page.getByTestId('mask-preview').locator('.mask-row').first()
  expect((await row.locator('[data-trained="true"]').allTextContents()).join('')).toBe(`${first.chosen}<|endoftext|>${first.rejected}<|endoftext|>`)

  await panel.getByLabel('DPO beta').fill('0.1')
  await page.getByTestId('lm-train').click()
  await studio.waitFinished(150_000)
  const summary = (await page.getByTestId('dpo-summary').innerText()).trim()
  test.info().annotations.push({ type: 'hf dpo', description: summary })
  const m = /Preference accuracy ([\d.]+)% before tuning → ([\d.]+)% after epoch (\d+); reward accuracy ([\d.]+)%, reward margin (-?\d+\.\d+)/.exec(summary)
  expect(m, summary).not.toBeNull()
  const [before, after, , , margin] = m!.slice(1).map(Number) as [number, number, number, number, number]
  expect(after).toBeGreaterThan(before)
  expect(margin).toBeGreaterThan(0)
  const charts = page.getByTestId('dpo-charts')
  await expect(charts).toContainText("base model's preference accuracy")
  await expect(charts).toContainText('Training batches')
  await expect(charts).toContainText('chosen log-probability')

  // The worker ends (as a crash would): the fresh one loads the same GPT-2 again and gets the
  // checked pairs again, so the TRL recipe (which carries them) names the repo and has every pair.
  const dying = page.workers().filter((w) => w.url().includes('engine.worker')).at(-1)!
  await dying.evaluate(() => (self as unknown as { close(): void }).close()).catch(() => {})
  await expect(studio.alerts.filter({ hasText: 'training worker stopped unexpectedly' })).toBeVisible({ timeout: 30_000 })
  await expect(studio.trainButton).toBeEnabled({ timeout: 60_000 })
  await expect(page.getByTestId('model-title')).toContainText(`${REPO} — pretrained`)
  const files: Record<string, string> = {}
  page.on('download', async (d) => (files[d.suggestedFilename()] = readFileSync((await d.path())!, 'utf8')))
  await panel.getByRole('button', { name: 'Download the TRL recipe' }).click()
  await expect.poll(() => Object.keys(files).sort().join(','), { timeout: 30_000 }).toBe('launch.sh,train.jsonl,train.py')
  expect(files['train.py']).toContain('DPOTrainer')
  expect(files['train.py']).toContain(REPO)
  expect(files['train.jsonl']!.trim().split('\n').map((l) => JSON.parse(l) as unknown)).toEqual(pairs.train)
})
