// A Hugging Face sequence classifier (GPT2ForSequenceClassification) loaded through the page's
// file input keeps its trained head (issue 16 point 6): the page says so, the playground
// classifies a typed text with it before any training, a labelled validation file with the
// same class names measures it, and "Merged model" writes the same head back. The checkpoint is
// put together here from the committed fixtures (src/engine/hf/fixtures: the GPT-2 body and a
// head), and every expected number comes from the committed reference logits that
// scripts/hf-reference/make_fixtures.py computed for that head (fixtures/reference.json), not
// from the studio.
import AxeBuilder from '@axe-core/playwright'
import { unzipSync } from 'fflate'
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { expect, test } from './fixtures'
import { safetensors, type TensorSpec } from './hfHub'

const FIX = fileURLToPath(new URL('../src/engine/hf/fixtures', import.meta.url))

/** F32 safetensors → [name, shape, data] (the fixtures' GPT-2 files are F32). */
function readF32(file: string): TensorSpec[] {
  const buf = readFileSync(file)
  const n = Number(buf.readBigUInt64LE(0))
  const header = JSON.parse(buf.subarray(8, 8 + n).toString('utf8')) as Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>
  return Object.entries(header)
    .filter(([k]) => k !== '__metadata__')
    .map(([k, v]) => {
      if (v.dtype !== 'F32') throw new Error(`${file}: ${k} is ${v.dtype}`)
      const bytes = buf.subarray(8 + n + v.data_offsets[0], 8 + n + v.data_offsets[1])
      return [k, v.shape, new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength))]
    })
}

const NAMES = ['spam', 'eggs', 'ham'] // id2label 0, 1, 2
const REF = (JSON.parse(readFileSync(path.join(FIX, 'reference.json'), 'utf8')) as { gpt2: { seqcls: { logits: number[] } } }).gpt2.seqcls.logits
// make_fixtures.py's seqcls inputs: row 0 is 8 real tokens, row 1 the first 5 of its ids
const ROWS = [
  [5, 17, 3, 42, 8, 1, 29, 11],
  [60, 2, 2, 33, 14],
]
// the word-level tokenizer below: id 0 is [UNK], id i is w{i-1}
const textOf = (row: number) => ROWS[row]!.map((id) => `w${id - 1}`).join(' ')
const softmax = (z: number[]) => {
  const m = Math.max(...z)
  const e = z.map((x) => Math.exp(x - m))
  const s = e.reduce((a, b) => a + b, 0)
  return e.map((x) => x / s)
}
const logitsOf = (row: number) => REF.slice(row * 3, row * 3 + 3)
const argmax = (z: number[]) => z.indexOf(Math.max(...z))

/** The checkpoint's files; `id2label` as its config.json names the classes (the fixture's own
 *  names unless given: Hugging Face writes LABEL_0 … when a script set none). */
function checkpointFiles(id2label: readonly string[] = NAMES) {
  const config = JSON.parse(readFileSync(path.join(FIX, 'gpt2', 'config.json'), 'utf8')) as Record<string, unknown>
  const body = readF32(path.join(FIX, 'gpt2', 'model.safetensors')).map(([k, s, d]) => [`transformer.${k}`, s, d] as TensorSpec)
  const head = readF32(path.join(FIX, 'heads', 'gpt2.safetensors'))
  const vocab = config.vocab_size as number
  const tokenizer = { version: '1.0', added_tokens: [], normalizer: null, pre_tokenizer: { type: 'WhitespaceSplit' }, post_processor: null, decoder: null, model: { type: 'WordPiece', unk_token: '[UNK]', continuing_subword_prefix: '##', max_input_chars_per_word: 100, vocab: Object.fromEntries(['[UNK]', ...Array.from({ length: vocab - 1 }, (_, i) => `w${i}`)].map((t, i) => [t, i])) } }
  const seqCls = { ...config, architectures: ['GPT2ForSequenceClassification'], id2label: Object.fromEntries(id2label.map((n, i) => [i, n])), label2id: Object.fromEntries(id2label.map((n, i) => [n, i])), problem_type: 'single_label_classification', pad_token_id: 0 }
  const file = (name: string, b: string | Buffer) => ({ name, mimeType: 'application/octet-stream', buffer: Buffer.isBuffer(b) ? b : Buffer.from(b) })
  return { head, files: [file('config.json', JSON.stringify(seqCls)), file('model.safetensors', safetensors([...body, ...head])), file('tokenizer.json', JSON.stringify(tokenizer))] }
}

test('a GPT2ForSequenceClassification checkpoint loads with its head: announced, classifies, measured on a matching dataset, exported back', async ({ studio, page }) => {
  const { head, files } = checkpointFiles()
  await studio.open()
  // every training row is labelled with a class the reference's logits do NOT pick (0 % on any
  // split), and together they name all three classes; the validation file holds the two texts,
  // row 0 labelled with the class its logits pick and row 1 with another (50 %)
  const wrong = (r: number) => NAMES.filter((_, i) => i !== argmax(logitsOf(r)))
  expect(argmax(logitsOf(0))).not.toBe(argmax(logitsOf(1)))
  const train = ['text,label', ...[0, 1].flatMap((r) => wrong(r).map((c) => `${textOf(r)},${c}`)), ...[0, 1].flatMap((r) => wrong(r).map((c) => `${textOf(r)},${c}`))].join('\n')
  const val = ['text,label', `${textOf(0)},${NAMES[argmax(logitsOf(0))]}`, `${textOf(1)},${wrong(1)[0]}`].join('\n')

  await test.step('loaded through the file input, the page says it carries a trained head; the sample’s other classes are named, a matching dataset measures it (0 %), and its validation file (50 %: one of two)', async () => {
    const section = page.locator('details.model-load')
    if ((await section.getAttribute('open')) === null) await section.locator('summary').first().click()
    await page.getByLabel('Hugging Face model files').setInputFiles(files)
    await expect(page.getByTestId('model-title')).toContainText('chosen files — pretrained', { timeout: 60_000 })
    await expect(page.getByTestId('hf-seq-cls-head')).toHaveText('Sequence classifier (GPT2ForSequenceClassification): 3 classes (spam, eggs, ham) — the head is loaded and can be evaluated before training: the playground answers with it, a dataset with these class names measures it, and a run starts from it.')
    // the page opens with the spam/ham sample: not measured, and said so naming both lists
    await expect(page.getByTestId('imported-model')).toContainText("This checkpoint's head (GPT2ForSequenceClassification) classifies spam, eggs, ham; the dataset's classes are ham, spam.")
    await expect(page.getByTestId('imported-accuracy')).toHaveCount(0)
    await studio.uploadDataset('mail.csv', train)
    await studio.waitForDataset('mail.csv')
    await expect(page.getByTestId('imported-accuracy')).toHaveText('Validation accuracy 0.0%.', { timeout: 30_000 })
    await page.getByLabel('Validation file (optional, same columns)').setInputFiles({ name: 'mail-val.csv', mimeType: 'text/csv', buffer: Buffer.from(val) })
    await expect(page.getByTestId('imported-accuracy')).toHaveText('Validation accuracy 50.0%.', { timeout: 30_000 })
    // the note and its button: reachable by keyboard, and the model step axe-clean
    await page.getByRole('button', { name: 'Use a new head' }).focus()
    await expect(page.getByRole('button', { name: 'Use a new head' })).toBeFocused()
    const { violations } = await new AxeBuilder({ page }).include('#model').withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']).analyze()
    expect(violations.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`)).toEqual([])
    await expect(page.getByTestId('imported-model')).toContainText("GPT2ForSequenceClassification's own head, before any training, on the validation split of mail.csv (2 texts, classes matched by name)")
  })

  await test.step('the playground classifies a typed text with the checkpoint’s own head: the reference’s probabilities', async () => {
    await page.getByLabel('Text to classify').fill(textOf(1))
    await page.getByRole('button', { name: 'Classify' }).click()
    const after = page.getByTestId('prediction-after')
    await expect.poll(async () => after.getByRole('listitem').count(), { timeout: 30_000 }).toBe(3)
    const shown: Record<string, number> = {}
    for (const r of await after.getByRole('listitem').all()) shown[(await r.locator('.bar-label').innerText()).trim()] = Number((await r.locator('.prob').innerText()).replace('%', ''))
    const want = softmax(logitsOf(1))
    test.info().annotations.push({ type: 'probabilities', description: `${JSON.stringify(shown)} vs reference ${want.map((p) => (100 * p).toFixed(2)).join(', ')}` })
    expect(Object.keys(shown).sort()).toEqual([...NAMES].sort())
    for (const [i, name] of NAMES.entries()) expect(Math.abs(shown[name]! - 100 * want[i]!), name).toBeLessThanOrEqual(0.05 + 1e-9)
  })

  await test.step('"Merged model" writes the same head back, its rows in the dataset’s class order with id2label to match', async () => {
    await page.getByLabel('Merged model (Hugging Face)').check()
    const download = page.waitForEvent('download')
    await page.getByRole('button', { name: 'Download model (.zip)' }).click()
    const zip = unzipSync(new Uint8Array(readFileSync((await (await download).path())!)))
    const cfg = JSON.parse(Buffer.from(zip['config.json']!).toString('utf8')) as { architectures: string[]; id2label: Record<string, string> }
    expect(cfg.architectures).toEqual(['GPT2ForSequenceClassification'])
    const order = Object.keys(cfg.id2label).sort().map((k) => cfg.id2label[k]!)
    expect([...order].sort()).toEqual([...NAMES].sort())
    const buf = Buffer.from(zip['model.safetensors']!)
    const n = Number(buf.readBigUInt64LE(0))
    const e = (JSON.parse(buf.subarray(8, 8 + n).toString('utf8')) as Record<string, { shape: number[]; data_offsets: [number, number] }>)['score.weight']!
    expect(e.shape).toEqual([3, 32])
    const score = new Float32Array(buf.buffer.slice(buf.byteOffset + 8 + n + e.data_offsets[0], buf.byteOffset + 8 + n + e.data_offsets[1]))
    const original = head.find(([k]) => k === 'score.weight')![2]
    // each exported row is the original row of the same class name
    for (const [i, name] of order.entries()) {
      const j = NAMES.indexOf(name)
      let diff = 0
      for (let k = 0; k < 32; k++) diff = Math.max(diff, Math.abs(score[i * 32 + k]! - original[j * 32 + k]!))
      expect(diff, name).toBeLessThan(1e-6)
    }
  })

  await test.step('a dataset with other classes: refused in words naming both lists; "Use a new head" sets the head aside and the run may start', async () => {
    await studio.uploadDataset('reviews.csv', ['text,label', ...Array.from({ length: 40 }, (_, i) => `${textOf(i % 2)},${i % 2 ? 'good' : 'bad'}`)].join('\n'))
    await studio.waitForDataset('reviews.csv')
    // settings the tiny model allows (2 blocks, 32 positions), so the head is the only problem
    await page.getByLabel('Method', { exact: true }).selectOption({ label: 'Full fine-tune' })
    await page.getByLabel('Sequence length', { exact: true }).fill('16')
    const problems = page.getByRole('list', { name: 'Settings to fix before training' })
    await expect(problems.getByRole('listitem')).toHaveCount(1)
    await expect(problems).toContainText(/This checkpoint's head \(GPT2ForSequenceClassification\) classifies spam, eggs, ham; the dataset's classes are (bad, good|good, bad)\. To train a new head for this dataset instead, press "Use a new head"/)
    await expect(studio.trainButton).toBeDisabled()
    await page.getByRole('button', { name: 'Use a new head' }).click()
    await expect(page.getByTestId('hf-seq-cls-head')).toBeHidden()
    await expect(problems).toBeHidden()
    await expect(studio.trainButton).toBeEnabled()
    await expect(page.getByText(/Its GPT2ForSequenceClassification head was set aside: a run trains a new one for the dataset's classes\./)).toBeVisible()
  })

  await test.step('a worker that dies after "Use a new head": the fresh one loads the checkpoint again and sets its head aside again (no refusal, the run may start)', async () => {
    const dying = page.workers().filter((w) => w.url().includes('engine.worker')).at(-1)!
    await dying.evaluate(() => (self as unknown as { close(): void }).close()).catch(() => {})
    await expect(studio.alerts.filter({ hasText: 'training worker stopped unexpectedly' })).toBeVisible({ timeout: 30_000 })
    // the fresh worker carries out one command at a time: its playground answer comes after the
    // re-load and the head's choice (measured: without the choice sent again, the page then shows
    // the checkpoint's head and refuses the dataset's classes)
    await page.getByLabel('Text to classify').fill(textOf(0))
    await page.getByRole('button', { name: 'Classify' }).click()
    await expect(page.getByText('Class probabilities need a classifier')).toBeVisible({ timeout: 90_000 })
    await expect(page.getByTestId('hf-seq-cls-head')).toBeHidden()
    await expect(page.getByRole('list', { name: 'Settings to fix before training' })).toBeHidden()
    await expect(page.getByText(/Its GPT2ForSequenceClassification head was set aside: a run trains a new one for the dataset's classes\./)).toBeVisible()
    await expect(studio.trainButton).toBeEnabled()
  })
})

test('a checkpoint whose classes are only LABEL_0, LABEL_1, LABEL_2: the page proposes names, uses none until asked, and keeps the trained head under the names the person states', async ({ studio, page }) => {
  const { head, files } = checkpointFiles(['LABEL_0', 'LABEL_1', 'LABEL_2'])
  // what the person knows from the model's card: output 0 is owl, 1 cat, 2 dog (not the sorted order)
  const MEANS = ['owl', 'cat', 'dog']
  const sorted = [...MEANS].sort() // cat, dog, owl: differs from MEANS at every output
  const a = [argmax(logitsOf(0)), argmax(logitsOf(1))]
  expect(a[0]).not.toBe(a[1])
  const train = ['text,label', ...[0, 1, 0, 1].flatMap((r) => MEANS.map((c) => `${textOf(r)},${c}`))].join('\n')
  // each validation text labelled with the class its reference logits pick, under the true names
  const val = ['text,label', `${textOf(0)},${MEANS[a[0]!]}`, `${textOf(1)},${MEANS[a[1]!]}`].join('\n')
  await studio.open()
  const section = page.locator('details.model-load')
  if ((await section.getAttribute('open')) === null) await section.locator('summary').first().click()
  await page.getByLabel('Hugging Face model files').setInputFiles(files)
  await expect(page.getByTestId('model-title')).toContainText('chosen files — pretrained', { timeout: 60_000 })
  await studio.uploadDataset('animals.csv', train)
  await studio.waitForDataset('animals.csv')
  await page.getByLabel('Validation file (optional, same columns)').setInputFiles({ name: 'animals-val.csv', mimeType: 'text/csv', buffer: Buffer.from(val) })
  await expect(page.getByTestId('split-summary')).toContainText('(validation from animals-val.csv)')
  const naming = page.getByTestId('hf-seq-cls-naming')
  const select = (i: number) => page.getByLabel(`LABEL_${i} is`, { exact: true })

  await test.step('the placeholder names are said, the run refused naming them and the way out; a proposal in sorted order is shown but not used', async () => {
    await expect(page.getByTestId('hf-seq-cls-head')).toContainText('3 classes (LABEL_0, LABEL_1, LABEL_2)')
    await expect(page.getByTestId('hf-seq-cls-head')).toContainText("These are placeholder names (the checkpoint's config.json has no id2label of its own)")
    await page.getByLabel('Method', { exact: true }).selectOption({ label: 'Full fine-tune' })
    await page.getByLabel('Sequence length', { exact: true }).fill('16')
    await page.getByLabel('Batch size', { exact: true }).fill('4')
    const problems = page.getByRole('list', { name: 'Settings to fix before training' })
    await expect(problems.getByRole('listitem')).toHaveCount(1)
    await expect(problems).toContainText(`This checkpoint's head (GPT2ForSequenceClassification) classifies LABEL_0, LABEL_1, LABEL_2; the dataset's classes are`)
    await expect(problems).toContainText('LABEL_0, LABEL_1, LABEL_2 are placeholder names (the checkpoint\'s config.json has no id2label of its own): to keep its trained head, say which of the dataset\'s classes each one is under the model\'s description (step 2), then press "Keep the trained head with these names".')
    await expect(studio.trainButton).toBeDisabled()
    for (const [i, c] of sorted.entries()) await expect(select(i)).toHaveValue(c)
    await expect(page.getByTestId('imported-accuracy')).toHaveCount(0) // nothing measured: no names in use
    await expect(page.getByTestId('hf-seq-cls-names-in-use')).toHaveCount(0)
    // the same class twice is refused at once
    await select(0).selectOption('dog')
    await expect(naming.getByRole('alert')).toHaveText('dog is chosen for two outputs: each class of the dataset names one output.')
    await expect(page.getByRole('button', { name: 'Keep the trained head with these names' })).toBeDisabled()
    await select(0).selectOption('cat')
    // keyboard-reachable, and the model step axe-clean with the form
    await page.getByRole('button', { name: 'Keep the trained head with these names' }).focus()
    await expect(page.getByRole('button', { name: 'Keep the trained head with these names' })).toBeFocused()
    const { violations } = await new AxeBuilder({ page }).include('#model').withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']).analyze()
    expect(violations.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`)).toEqual([])
  })

  await test.step('the sorted proposal, pressed: the head measured under it scores 0 % (every name is the wrong way round); the true names: 100 %, and the run may start', async () => {
    await page.getByRole('button', { name: 'Keep the trained head with these names' }).click()
    await expect(page.getByTestId('imported-accuracy')).toHaveText('Validation accuracy 0.0%.', { timeout: 30_000 })
    await expect(page.getByTestId('hf-seq-cls-names-in-use')).toHaveText('In use: LABEL_0 = cat, LABEL_1 = dog, LABEL_2 = owl.')
    for (const [i, c] of MEANS.entries()) await select(i).selectOption(c)
    await page.getByRole('button', { name: 'Keep the trained head with these names' }).click()
    await expect(page.getByTestId('hf-seq-cls-names-in-use')).toHaveText('In use: LABEL_0 = owl, LABEL_1 = cat, LABEL_2 = dog.')
    await expect(page.getByTestId('imported-accuracy')).toHaveText('Validation accuracy 100.0%.', { timeout: 30_000 })
    await expect(page.getByTestId('hf-seq-cls-head')).toContainText("3 classes (owl = LABEL_0, cat = LABEL_1, dog = LABEL_2; named by you: its config.json calls them only LABEL_0, LABEL_1, LABEL_2)")
    await expect(page.getByRole('list', { name: 'Settings to fix before training' })).toBeHidden()
    await expect(studio.trainButton).toBeEnabled()
  })

  await test.step('a worker that dies: the fresh one loads the checkpoint again and gets the names again (its playground answers with them)', async () => {
    const dying = page.workers().filter((w) => w.url().includes('engine.worker')).at(-1)!
    await dying.evaluate(() => (self as unknown as { close(): void }).close()).catch(() => {})
    await expect(studio.alerts.filter({ hasText: 'training worker stopped unexpectedly' })).toBeVisible({ timeout: 30_000 })
    await expect(studio.trainButton).toBeEnabled({ timeout: 90_000 })
    // the page's own words may still be the old worker's: the answer comes from the fresh one
    // (measured: without the names sent again, it answers LABEL_0, LABEL_1, LABEL_2)
    await page.getByLabel('Text to classify').fill(textOf(0))
    await page.getByRole('button', { name: 'Classify' }).click()
    const after = page.getByTestId('prediction-after')
    await expect.poll(async () => (await after.locator('.bar-label').allInnerTexts()).map((t) => t.trim()).sort(), { timeout: 90_000 }).toEqual([...MEANS].sort())
    await expect(page.getByTestId('hf-seq-cls-names-in-use')).toHaveText('In use: LABEL_0 = owl, LABEL_1 = cat, LABEL_2 = dog.')
  })

  await test.step('the playground answers under the names with the reference probabilities; "Merged model" writes them as id2label, each row the original output of that name', async () => {
    await page.getByLabel('Text to classify').fill(textOf(1))
    await page.getByRole('button', { name: 'Classify' }).click()
    const after = page.getByTestId('prediction-after')
    await expect.poll(async () => after.getByRole('listitem').count(), { timeout: 30_000 }).toBe(3)
    const shown: Record<string, number> = {}
    for (const r of await after.getByRole('listitem').all()) shown[(await r.locator('.bar-label').innerText()).trim()] = Number((await r.locator('.prob').innerText()).replace('%', ''))
    const want = softmax(logitsOf(1))
    expect(Object.keys(shown).sort()).toEqual([...MEANS].sort())
    for (const [i, name] of MEANS.entries()) expect(Math.abs(shown[name]! - 100 * want[i]!), name).toBeLessThanOrEqual(0.05 + 1e-9)

    await page.getByLabel('Merged model (Hugging Face)').check()
    const download = page.waitForEvent('download')
    await page.getByRole('button', { name: 'Download model (.zip)' }).click()
    const zip = unzipSync(new Uint8Array(readFileSync((await (await download).path())!)))
    const cfg = JSON.parse(Buffer.from(zip['config.json']!).toString('utf8')) as { id2label: Record<string, string> }
    const order = Object.keys(cfg.id2label).sort().map((k) => cfg.id2label[k]!)
    expect([...order].sort()).toEqual([...MEANS].sort())
    const buf = Buffer.from(zip['model.safetensors']!)
    const n = Number(buf.readBigUInt64LE(0))
    const e = (JSON.parse(buf.subarray(8, 8 + n).toString('utf8')) as Record<string, { shape: number[]; data_offsets: [number, number] }>)['score.weight']!
    const score = new Float32Array(buf.buffer.slice(buf.byteOffset + 8 + n + e.data_offsets[0], buf.byteOffset + 8 + n + e.data_offsets[1]))
    const original = head.find(([k]) => k === 'score.weight')![2]
    for (const [i, name] of order.entries()) {
      const j = MEANS.indexOf(name)
      let diff = 0
      for (let k = 0; k < 32; k++) diff = Math.max(diff, Math.abs(score[i * 32 + k]! - original[j * 32 + k]!))
      expect(diff, name).toBeLessThan(1e-6)
    }
  })

  await test.step('a run starts from the head under the names: its line to beat is the checkpoint head at 100 % on the validation rows', async () => {
    await page.getByLabel('Epochs', { exact: true }).fill('1')
    await page.getByLabel('Learning rate', { exact: true }).fill('0.00001')
    await expect(studio.trainButton).toBeEnabled()
    await studio.trainButton.click()
    await studio.waitFinished(120_000)
    await expect(page.getByTestId('compare').locator('caption')).toContainText("Validation split: the line to beat, checkpoint head (the checkpoint's own GPT2ForSequenceClassification head, before fine-tuning (")
    await expect(page.getByTestId('compare').locator('caption')).toContainText('checkpoint head 100.0%; chance level 33%')
  })
})

test('a run that fails as it starts, after setting the model back to its base weights, leaves no restored checkpoint “in use”', async ({ studio, page }) => {
  const { files } = checkpointFiles()
  // settings the tiny model allows (2 blocks, 32 positions)
  await studio.open('m=full&sl=16&ep=1&bs=4&wu=0')
  const section = page.locator('details.model-load')
  if ((await section.getAttribute('open')) === null) await section.locator('summary').first().click()
  await page.getByLabel('Hugging Face model files').setInputFiles(files)
  await expect(page.getByTestId('model-title')).toContainText('chosen files — pretrained', { timeout: 60_000 })
  await studio.uploadDataset('mail.csv', ['text,label', ...Array.from({ length: 24 }, (_, i) => `${textOf(i % 2)},${NAMES[i % 3]}`)].join('\n'))
  await studio.waitForDataset('mail.csv')
  await studio.trainButton.click()
  await studio.waitFinished()
  const row = page.getByTestId('checkpoint-row').filter({ has: page.getByText('Epoch 1', { exact: true }) })
  await page.getByRole('button', { name: 'Restore Epoch 1' }).click()
  await expect(row).toContainText('in use')

  // Two label columns: the run sets the weights back to the base, then finds the checkpoint's one-label head cannot start it.
  await studio.uploadDataset('mail-topics.csv', ['text,label,topic', ...Array.from({ length: 24 }, (_, i) => `${textOf(i % 2)},${NAMES[i % 3]},${i % 4 ? 'work' : 'home'}`)].join('\n'))
  await studio.waitForDataset('mail-topics.csv')
  await studio.trainButton.click()
  await expect(studio.alerts.filter({ hasText: 'predicts one label, and the dataset has several label columns' })).toBeVisible({ timeout: 60_000 })
  await expect(row).not.toContainText('in use')
})

test('a run that fails as it starts, after setting the weights back to the base, takes the loaded head’s record and the Export it opened with it', async ({ studio, page }) => {
  const { files } = checkpointFiles()
  await studio.open('m=full&sl=16&ep=1&bs=4&wu=0')
  const section = page.locator('details.model-load')
  if ((await section.getAttribute('open')) === null) await section.locator('summary').first().click()
  await page.getByLabel('Hugging Face model files').setInputFiles(files)
  await expect(page.getByTestId('model-title')).toContainText('chosen files — pretrained', { timeout: 60_000 })
  // a dataset with the head's class names measures it: the record and Export open for its weights
  await studio.uploadDataset('mail.csv', ['text,label', ...Array.from({ length: 24 }, (_, i) => `${textOf(i % 2)},${NAMES[i % 3]}`)].join('\n'))
  await studio.waitForDataset('mail.csv')
  const record = page.getByTestId('imported-model')
  const exportButton = page.getByRole('button', { name: 'Download model (.zip)' })
  await expect(page.getByTestId('imported-accuracy')).toBeVisible({ timeout: 30_000 })
  await expect(exportButton).toBeEnabled()

  // Two label columns: the run sets the weights back to the base (the loaded head's tuning goes), then cannot start.
  await studio.uploadDataset('mail-topics.csv', ['text,label,topic', ...Array.from({ length: 24 }, (_, i) => `${textOf(i % 2)},${NAMES[i % 3]},${i % 4 ? 'work' : 'home'}`)].join('\n'))
  await studio.waitForDataset('mail-topics.csv')
  await expect(record).toBeVisible() // not measured on these columns: the record of the head as measured stays
  await studio.trainButton.click()
  await expect(studio.alerts.filter({ hasText: 'predicts one label, and the dataset has several label columns' })).toBeVisible({ timeout: 60_000 })
  await expect.soft(record).toHaveCount(0)
  await expect.soft(exportButton).toBeDisabled()
})
