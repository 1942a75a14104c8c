// Zero-shot labels are the model's that made them (h2's walk-through): with the built-in LM's
// labels shown, loading another model left them, their accuracy and "Train on the confident
// rows" in place, so the new model would have trained on the old one's labels. Now the new
// model labels the same texts again, and an encoder, which cannot, leaves nothing to train on.
import { readFileSync } from 'node:fs'
import type { Page } from '@playwright/test'
import { expect, test } from './fixtures'
import { bertTokenizerJson, BERT_VOCAB, tinyBert } from './hfBert'
import { loadFromHub, serveHub, tinyGpt2Files } from './hfHub'

const lines = (f: string, n: number) => readFileSync(new URL(`../public/samples/lm/${f}`, import.meta.url), 'utf8').trim().split('\n').slice(0, n + 1).join('\n') + '\n'
const panel = (page: Page) => page.locator('#objectives')
const REPO = 'studio-e2e/tiny-gpt2-relabel'

test('another model loaded while zero-shot labels are shown: a decoder labels the texts again, an encoder leaves nothing to train on', async ({ studio, page }) => {
  serveHub(page, new Map([[REPO, tinyGpt2Files({ d: 16, layers: 1, positions: 64 })]]))
  await studio.open()
  await panel(page).getByRole('radio', { name: /Learning without labels/ }).check()
  await panel(page).getByLabel('Unlabelled texts (CSV)').setInputFiles({ name: 'passages.csv', mimeType: 'text/csv', buffer: Buffer.from(lines('sea-or-government-unlabelled.csv', 20)) })
  await panel(page).getByRole('textbox', { name: 'Class names' }).fill('sea, government')
  await panel(page).getByRole('button', { name: 'Label the texts zero-shot' }).click()
  await expect(page.getByTestId('pseudo')).toContainText('passages.csv: 20 texts labelled zero-shot as sea / government', { timeout: 60_000 })
  await expect(page.getByTestId('pseudo-note')).toHaveCount(0)

  await loadFromHub(page, REPO)
  await expect(page.getByTestId('pseudo-note')).toHaveText(`Another model (${REPO}) was loaded, so it labelled the texts again (the same file and class names): these are its zero-shot labels.`, { timeout: 60_000 })
  await expect(page.getByTestId('pseudo')).toContainText('passages.csv: 20 texts labelled zero-shot as sea / government')

  const config = { model_type: 'bert', architectures: ['BertModel'], vocab_size: BERT_VOCAB.length, hidden_size: 16, num_hidden_layers: 2, num_attention_heads: 2, intermediate_size: 32, hidden_act: 'gelu', max_position_embeddings: 64, type_vocab_size: 2, layer_norm_eps: 1e-12, pad_token_id: 0 }
  const file = (name: string, body: string | Buffer) => ({ name, mimeType: 'application/octet-stream', buffer: Buffer.isBuffer(body) ? body : Buffer.from(body) })
  await page.getByLabel('Hugging Face model files').setInputFiles([file('config.json', JSON.stringify(config)), file('model.safetensors', tinyBert(16)), file('tokenizer.json', JSON.stringify(bertTokenizerJson()))])
  await expect(page.getByTestId('model-title')).toContainText('chosen files — pretrained', { timeout: 60_000 })
  await expect(page.getByTestId('lm-error')).toBeVisible({ timeout: 30_000 })
  await expect(page.getByTestId('pseudo-train')).toHaveCount(0)
  test.info().annotations.push({ type: 'encoder', description: await page.getByTestId('lm-error').innerText() })
})
