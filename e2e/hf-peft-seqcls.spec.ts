// A LoRA + classification run on a Hugging Face GPT-2 in the page, downloaded as a PEFT SEQ_CLS
// adapter (issue 16 point 6): the zip's files are read here by hand (config keys, tensor names
// and shapes, the labels file and the README's Python), the page's own prediction for a typed
// text is compared with the independent reference applying the adapter as PEFT does
// (scripts/hf-reference/apply_seqcls_adapter.py, where /usr/bin/python3 imports torch: CI
// installs it), and the adapter loaded back gives the page the same prediction from its head.
import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { unzipSync } from 'fflate'
import { encode } from 'gpt-3-encoder'
import { expect, test } from './fixtures'
import { loadFromHub, serveHub, tinyGpt2Files } from './hfHub'

const REPO = 'studio-e2e/tiny-gpt2-seqcls'
const D = 16
const FILES = tinyGpt2Files({ d: D, layers: 2, positions: 64, seed: 4711 })
const PYTHON = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3'
const HAS_TORCH = spawnSync(PYTHON, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0
if (process.env.CI && !HAS_TORCH) throw new Error(`CI needs the PyTorch reference: ${PYTHON} cannot import torch (.ci/run installs python3-torch)`)

/** Reviews whose label is carried by one word ("great" or "awful") among neutral ones. */
function reviews(n: number): string {
  const neutral = ['the', 'film', 'book', 'was', 'really', 'quite', 'plot', 'acting', 'story', 'and', 'ending', 'music', 'it', 'felt', 'so']
  let s = 7
  const rnd = (k: number) => (s = (s * 1103515245 + 12345) % 2147483648) % k
  const rows = ['text,label']
  for (let i = 0; i < n; i++) {
    const good = i % 2 === 0
    const words = Array.from({ length: 3 + rnd(4) }, () => neutral[rnd(neutral.length)]!)
    words.splice(rnd(words.length + 1), 0, good ? 'great' : 'awful')
    rows.push(`"${words.join(' ')}",${good ? 'positive' : 'negative'}`)
  }
  return rows.join('\n') + '\n'
}

/** A safetensors header: names → dtype and shape. */
function header(b: Uint8Array): Record<string, { dtype: string; shape: number[] }> {
  const buf = Buffer.from(b)
  const n = Number(buf.readBigUInt64LE(0))
  const h = JSON.parse(buf.subarray(8, 8 + n).toString('utf8')) as Record<string, { dtype: string; shape: number[] }>
  delete h.__metadata__
  return h
}

test('a LoRA + classification run on a Hugging Face GPT-2 downloads as a PEFT SEQ_CLS adapter: PEFT’s files, the reference gives the page’s prediction, and it loads back with its head', async ({ studio, page }) => {
  serveHub(page, new Map([[REPO, FILES]]))
  await studio.open()
  await studio.uploadDataset('reviews.csv', reviews(48))
  await studio.waitForDataset('reviews.csv')
  await loadFromHub(page, REPO)

  await test.step('LoRA with a classification head on the last token', async () => {
    await page.getByLabel('Method', { exact: true }).selectOption({ label: 'LoRA' })
    await page.getByLabel('Learning rate', { exact: true }).fill('0.01')
    await page.getByLabel('Sequence length', { exact: true }).fill('16')
    await page.getByLabel('Batch size', { exact: true }).fill('8')
    await page.getByLabel('Epochs', { exact: true }).fill('2')
    await page.getByLabel('Warm-up steps', { exact: true }).fill('0')
    await studio.trainButton.click()
    await studio.waitFinished(120_000)
  })

  const TEXT = 'the acting was great'
  const shown = async (): Promise<Record<string, number>> => {
    const out: Record<string, number> = {}
    for (const r of await page.getByTestId('prediction-after').getByRole('listitem').all()) out[(await r.locator('.bar-label').innerText()).trim()] = Number((await r.locator('.prob').innerText()).replace('%', '')) / 100
    return out
  }
  // each answer is waited for by its change: another text first, then TEXT
  const classify = async (text = TEXT): Promise<Record<string, number>> => {
    if (text === TEXT) await classify('the ending felt awful')
    const previous = await page.getByTestId('prediction-after').innerText().catch(() => '')
    await page.getByLabel('Text to classify').fill(text)
    await page.getByRole('button', { name: 'Classify' }).click()
    await expect.poll(async () => (await page.getByTestId('prediction-after').getByRole('listitem').count()) === 2 && (await page.getByTestId('prediction-after').innerText()) !== previous, { timeout: 60_000 }).toBe(true)
    return shown()
  }
  const tuned = await classify()
  expect(Object.keys(tuned).sort()).toEqual(['negative', 'positive'])

  let zip: Buffer = Buffer.alloc(0)
  await test.step('the PEFT LoRA adapter holds the LoRA factors and the score head, with the labels and the Python to load it', async () => {
    await expect(page.getByText(/After a classification or regression run it also holds the head/)).toBeVisible()
    await page.getByLabel('PEFT LoRA adapter (Hugging Face)').check()
    const download = page.waitForEvent('download')
    await page.getByRole('button', { name: 'Download model (.zip)' }).click()
    const file = await download
    expect(file.suggestedFilename()).toBe('studio-e2e-tiny-gpt2-seqcls-peft-lora.zip')
    zip = readFileSync((await file.path())!)
    const files = unzipSync(new Uint8Array(zip))
    expect(Object.keys(files).sort()).toEqual(['README.md', 'adapter_config.json', 'adapter_model.safetensors', 'seq_cls_labels.json'])
    const config = JSON.parse(Buffer.from(files['adapter_config.json']!).toString('utf8')) as Record<string, unknown>
    expect(config).toMatchObject({ peft_type: 'LORA', task_type: 'SEQ_CLS', modules_to_save: ['score'], fan_in_fan_out: true, base_model_name_or_path: REPO })
    const h = header(files['adapter_model.safetensors']!)
    // GPT2ForSequenceClassification's score: [num_labels, n_embd], no bias, saved whole under PEFT's prefix
    expect(h['base_model.model.score.weight']).toEqual({ dtype: 'F32', shape: [2, D], data_offsets: expect.any(Array) })
    expect(Object.keys(h).filter((k) => !k.includes('.lora_'))).toEqual(['base_model.model.score.weight'])
    expect(h['base_model.model.transformer.h.1.attn.c_attn.lora_A.weight']!.shape).toEqual([config.r, D])
    expect(h['base_model.model.transformer.h.1.attn.c_attn.lora_B.weight']!.shape).toEqual([3 * D, config.r])
    const labels = JSON.parse(Buffer.from(files['seq_cls_labels.json']!).toString('utf8')) as { num_labels: number; id2label: Record<string, string> }
    expect(labels.num_labels).toBe(2)
    expect(Object.values(labels.id2label).sort()).toEqual(['negative', 'positive'])
    const readme = Buffer.from(files['README.md']!).toString('utf8')
    expect(readme).toContain(`AutoModelForSequenceClassification.from_pretrained("${REPO}", num_labels=2, id2label={0: "${labels.id2label[0]}", 1: "${labels.id2label[1]}"}`)
    expect(readme).toContain('PeftModel.from_pretrained(base, "path/to/this/folder")')

    if (HAS_TORCH) {
      // the reference applies the downloaded adapter to the repo's own files, as PEFT would, and
      // reads the typed text's GPT-2 tokens (GPT2ForSequenceClassification: its last token)
      const tmp = mkdtempSync(path.join(tmpdir(), 'e2e-seqcls-'))
      const base = path.join(tmp, 'base')
      const adapter = path.join(tmp, 'adapter')
      for (const d of [base, adapter]) spawnSync('mkdir', ['-p', d])
      for (const f of ['config.json', 'model.safetensors']) writeFileSync(path.join(base, f), FILES.get(f)!)
      for (const [n, b] of Object.entries(files)) writeFileSync(path.join(adapter, n), b)
      const ids = encode(TEXT)
      writeFileSync(path.join(tmp, 'in.json'), JSON.stringify({ input_ids: [ids], attention_mask: [ids.map(() => 1)], pad_token_id: 50256 }))
      const run = spawnSync(PYTHON, ['scripts/hf-reference/apply_seqcls_adapter.py', base, adapter, path.join(tmp, 'in.json'), path.join(tmp, 'out.json')], { encoding: 'utf8' })
      expect(run.stderr).toBe('')
      const { logits } = JSON.parse(readFileSync(path.join(tmp, 'out.json'), 'utf8')) as { logits: number[] }
      const m = Math.max(...logits)
      const e = logits.map((x) => Math.exp(x - m))
      const p = e.map((x) => x / e.reduce((a, b) => a + b, 0))
      test.info().annotations.push({ type: 'reference', description: `page ${JSON.stringify(tuned)}, reference ${p.map((x) => x.toFixed(4)).join(', ')}` })
      // the page shows one decimal of a percent
      for (const [i, name] of Object.entries(labels.id2label)) expect(Math.abs(tuned[name]! - p[Number(i)]!)).toBeLessThanOrEqual(0.0006)
    }
  })

  await test.step('the adapter loads back onto the model with its head: the same prediction', async () => {
    await page.getByLabel('Hugging Face model files').setInputFiles({ name: 'adapter.zip', mimeType: 'application/zip', buffer: zip })
    await expect(page.getByRole('status').filter({ hasText: /Loaded studio-e2e\/tiny-gpt2-seqcls \+ PEFT adapter \(r = \d+, \d+ layers, a head for negative, positive\)/ })).toBeVisible()
    expect(await classify()).toEqual(tuned)
  })
})
