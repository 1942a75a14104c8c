import { readFileSync } from 'node:fs'
import type { Page } from '@playwright/test'
import { strToU8, zipSync } from 'fflate'
import { mulberry32 } from '../src/engine/data/rng'
import { expect, smallSpamHam, test } from './fixtures'
import type { StudioPage } from './pages/studio'

// Hostile input through the page: no uncaught error, no worker crash, and the page stays
// usable after each case (Train enabled, the shipped sample still offered).

function watch(page: Page) {
  const errors: string[] = []
  let workers = 0
  page.on('pageerror', (e) => errors.push(e.message))
  page.on('worker', () => workers++)
  return { errors, workers: () => workers }
}

async function stillUsable(studio: StudioPage, page: Page, what: string) {
  await expect(studio.trainButton, `${what}: Train enabled`).toBeEnabled({ timeout: 60_000 })
  await expect(page.getByLabel('Sample dataset').locator('option', { hasText: 'Spam or ham (600 e-mails)' }), `${what}: sample listed`).toHaveCount(1)
  await expect(page.getByText(/training worker (failed|stopped unexpectedly)/i), `${what}: worker alive`).toHaveCount(0)
}

const bytes = (rand: () => number, n: number) => Buffer.from(Array.from({ length: n }, () => Math.floor(rand() * 256)))

test('random bytes, truncated files and a 5 MB cell are refused or read, never crash', async ({ studio, page }) => {
  const seen = watch(page)
  await studio.open()
  const workersAtStart = seen.workers()
  const rand = mulberry32(20261123)
  const valid = smallSpamHam(40)
  const validJsonl = valid
    .trim()
    .split('\n')
    .slice(1, 30)
    .map((_, i) => JSON.stringify({ text: `example ${i} about ${i % 2 ? 'whales' : 'money'}`, label: i % 2 ? 'ham' : 'spam' }))
    .join('\n')
  const cases: { name: string; body: Buffer }[] = [
    { name: 'noise.csv', body: bytes(rand, 4096) },
    { name: 'noise.txt', body: bytes(rand, 20_000) },
    { name: 'noise.jsonl', body: bytes(rand, 2048) },
    { name: 'noise.json', body: bytes(rand, 512) },
    { name: 'empty.csv', body: Buffer.alloc(0) },
    { name: 'nul.csv', body: Buffer.alloc(1000, 0) },
    { name: 'cut-mid-quote.csv', body: Buffer.from(valid.slice(0, Math.floor(valid.length * 0.6)).replace(/"[^"]*$/, '"half a quoted fiel')) },
    { name: 'cut-utf8.csv', body: Buffer.concat([Buffer.from('text,label\n"caf'), Buffer.from([0xc3])]) },
    { name: 'cut.jsonl', body: Buffer.from(validJsonl.slice(0, Math.floor(validJsonl.length * 0.7))) },
    { name: 'cut.json', body: Buffer.from('[{"text": "a whale", "label": "ham"}, {"text": "buy now", "lab') },
    { name: 'huge-cell.csv', body: Buffer.from(`text,label\n"${'whale '.repeat(Math.ceil((5 * 1024 * 1024) / 6))}",ham\n${valid.split('\n').slice(1).join('\n')}`) },
    { name: 'many-columns.csv', body: Buffer.from(Array.from({ length: 3 }, () => Array.from({ length: 5000 }, (_, i) => `c${i}`).join(',')).join('\n')) },
  ]
  for (const c of cases) {
    await test.step(c.name, async () => {
      await studio.uploadDataset(c.name, c.body)
      // Either it is read (the summary names it) or refused with an alert; both are fine.
      await expect(page.getByTestId('dataset-summary').filter({ hasText: c.name }).or(studio.alerts.filter({ hasText: c.name })).first()).toBeVisible({ timeout: 60_000 })
      await stillUsable(studio, page, c.name)
    })
  }
  expect(seen.errors).toEqual([])
  expect(seen.workers()).toBe(workersAtStart) // no worker was restarted after a crash
})

test('labels and text with HTML and script are shown as text, never run', async ({ studio, page }) => {
  const seen = watch(page)
  await studio.open()
  const evil = ['<img src=x onerror="window.__pwned=1">', '<script>window.__pwned=1</script>', '"><svg onload=window.__pwned=1>']
  const rows = ['text,label']
  for (let i = 0; i < 60; i++) rows.push(`"${evil[i % 3]!.replace(/"/g, '""')} row ${i} <b>bold</b>","${evil[i % 3]!.replace(/"/g, '""')}"`)
  await studio.uploadDataset('evil.csv', rows.join('\n') + '\n')
  await studio.waitForDataset('evil.csv')
  // Long HTML-looking labels may be guessed as text: say which column is which, as a person would.
  await page.getByLabel('Text column').selectOption('text')
  await page.getByRole('group', { name: 'Label column(s)' }).getByLabel('label', { exact: true }).check()
  await page.getByRole('button', { name: 'Use these columns' }).click()
  await expect(page.getByTestId('class-balance')).toContainText('<img src=x onerror="window.__pwned=1">')
  await expect(page.getByTestId('class-balance')).toContainText('<script>window.__pwned=1</script>')
  await page.getByText('First rows').click()
  await expect(page.locator('.preview')).toContainText('<b>bold</b>')
  expect(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned)).toBeUndefined()
  expect(await page.locator('.flow img[src="x"], .flow svg[onload], .flow b').count()).toBe(0)
  await stillUsable(studio, page, 'evil.csv')
  expect(seen.errors).toEqual([])
})

test('malformed preset links never break the page (30 seeded random queries)', async ({ studio, page }) => {
  const seen = watch(page)
  const rand = mulberry32(7)
  const pick = <T,>(xs: readonly T[]) => xs[Math.floor(rand() * xs.length)]!
  const shorts = ['v', 'm', 'ff', 'ue', 'hf', 'r', 'la', 'ld', 'lt', 'as', 'lr', 'bs', 'ep', 'o', 'mo', 'cn', 'ac', 's', 'wu', 'se', 'sg', 'pp', 'wd', 'do', 'ls', 'vs', 'es', 'mn', 'rb', 'sl', 'sd', 'b', 'zz', '', '__proto__', 'constructor']
  const values = ['', '-1', '0', '1e308', '-1e308', 'NaN', 'Infinity', '1e-400', '0x10', '%', '%ZZ', '%00', 'lora', 'head', '<script>alert(1)</script>', '"\'', '☃', 'a'.repeat(3000), '9'.repeat(40), 'true', '[]', '{}', ',,,', 'qkv,qkv,nope', '..', '1.5.6']
  for (let i = 0; i < 30; i++) {
    const parts = Array.from({ length: 1 + Math.floor(rand() * 8) }, () => {
      const kind = rand()
      if (kind < 0.1) return pick(values) // a bare token
      if (kind < 0.2) return `${pick(shorts)}=${pick(values)}=${pick(values)}`
      return `${pick(shorts)}=${rand() < 0.5 ? encodeURIComponent(pick(values)) : pick(values)}`
    })
    const query = parts.join(rand() < 0.2 ? '&&' : '&')
    await test.step(`link ${i}: ?${query.slice(0, 80)}`, async () => {
      await page.goto(`/?${query}`)
      await expect(studio.badge).toBeVisible({ timeout: 90_000 })
      await expect(page.getByTestId('dataset-summary')).toBeVisible({ timeout: 60_000 })
      await stillUsable(studio, page, `link ${i}`)
    })
  }
  expect(seen.errors).toEqual([])
})

test('random bytes and truncated files as models are refused by name with what to do, and the loaded model stays', async ({ studio, page }) => {
  const seen = watch(page)
  await studio.open()
  const workersAtStart = seen.workers()
  const title = page.getByTestId('model-title')
  const before = await title.innerText()
  const rand = mulberry32(20261201)
  // The shipped base model as files, to cut and corrupt.
  const json = readFileSync(new URL('../public/models/tiny-lm/model.json', import.meta.url))
  const weights = readFileSync(new URL('../public/models/tiny-lm/weights.bin', import.meta.url))
  const zip = (files: Record<string, Uint8Array>) => Buffer.from(zipSync(files, { level: 0 }))
  const studioZip = zip({ 'model.json': new Uint8Array(json), 'weights.bin': new Uint8Array(weights) })
  const meta = JSON.parse(json.toString()) as Record<string, unknown> & { config: Record<string, number> }
  const again = /export the model again|Choose a \.zip exported by the studio/
  const zips: { name: string; body: Buffer; says: RegExp[] }[] = [
    { name: 'noise.zip', body: bytes(rand, 4096), says: [/is not a zip file/, again] },
    { name: 'cut-archive.zip', body: studioZip.subarray(0, Math.floor(studioZip.length * 0.6)), says: [/truncated/, again] },
    { name: 'noise-inside.zip', body: zip({ 'model.json': new Uint8Array(bytes(rand, 2000)), 'weights.bin': new Uint8Array(bytes(rand, 1000)) }), says: [/model\.json is not valid JSON/, again] },
    { name: 'short-weights.zip', body: zip({ 'model.json': new Uint8Array(json), 'weights.bin': new Uint8Array(weights.subarray(0, weights.length >> 1)) }), says: [/weights\.bin: expected 4287488 bytes of weights, got 2143744/, again] },
    // A config that asks for a model far bigger than its weight file: refused before anything is allocated.
    { name: 'giant-config.zip', body: zip({ 'model.json': strToU8(JSON.stringify({ ...meta, config: { ...meta.config, dModel: 65536, nLayers: 4096 } })), 'weights.bin': new Uint8Array(weights) }), says: [/config needs/, again] },
    { name: 'empty.zip', body: zip({}), says: [/not a studio export: it has neither model\.json nor tuning\.json/] },
  ]
  const files: { name: string; files: { name: string; buffer: Buffer }[]; says: RegExp[] }[] = [
    { name: 'random model.json', files: [{ name: 'model.json', buffer: bytes(rand, 3000) }], says: [/model\.json is not JSON \(it holds binary data\)/, /choose/] },
    { name: 'truncated model.json', files: [{ name: 'model.json', buffer: json.subarray(0, json.length >> 1) }], says: [/model\.json is not JSON \(it starts with "\{"format":"studio-tinygpt"/, /choose/] },
    { name: 'a JSON array', files: [{ name: 'model.json', buffer: Buffer.from('[1, 2, 3]') }], says: [/model\.json is not a TensorFlow\.js model\.json/, /choose/] },
    {
      name: 'a manifest for weights no layer has',
      files: [
        { name: 'model.json', buffer: Buffer.from(JSON.stringify({ format: 'layers-model', modelTopology: { class_name: 'Sequential', config: { layers: [] } }, weightsManifest: [{ paths: ['w.bin'], weights: [{ name: 'k', shape: [4, 4], dtype: 'float32' }] }] })) },
        { name: 'w.bin', buffer: bytes(rand, 7) },
      ],
      says: [/manifest of model\.json has k, which no layer of the topology uses/],
    },
  ]
  const cases = [
    ...zips.map((c) => ({ name: `studio zip ${c.name}`, choose: () => page.getByLabel('Load a fine-tuned model (.zip)').setInputFiles({ name: c.name, mimeType: 'application/zip', buffer: c.body }), says: [new RegExp(c.name.replace('.', '\\.')), ...c.says] })),
    ...files.map((c) => ({ name: `model files: ${c.name}`, choose: () => page.getByLabel(/Model files \(model\.json/).setInputFiles(c.files.map((f) => ({ ...f, mimeType: 'application/octet-stream' }))), says: c.says })),
  ]
  const dismiss = page.getByRole('button', { name: 'Dismiss message' })
  for (const c of cases) {
    await test.step(c.name, async () => {
      while ((await dismiss.count()) > 0) await dismiss.first().click()
      await c.choose()
      const alert = studio.alerts.first()
      await expect(alert).toBeVisible({ timeout: 60_000 })
      for (const re of c.says) await expect(alert).toContainText(re)
      await expect(title).toHaveText(before)
      await stillUsable(studio, page, c.name)
    })
  }
  expect(seen.errors).toEqual([])
  expect(seen.workers()).toBe(workersAtStart)
  // Still the base model it was: a run trains on it.
  await studio.open('ep=1&sl=32&bs=16&wu=0')
  await studio.uploadDataset('after-models.csv', smallSpamHam(40))
  await studio.waitForDataset('after-models.csv')
  await studio.trainButton.click()
  await studio.waitFinished()
})
