#!/usr/bin/env node
// Issue 15, point 10: a MobileNetV2-class layers model (224×224, uint8-quantised weights,
// 2.6 M parameters; scripts/make-mobilenet-fixture.mjs) and ≥ 1,000 images through the built
// app on the WebAssembly backend: the zip and the model files chosen in the page's inputs,
// then head-only training (2 epochs: the first fills the pooled-feature cache, the second
// reads it) and last-blocks training (28 of 32 blocks frozen: block_16 and Conv_1 train,
// 1 epoch). Wall time, images per second, and memory sampled about once a second: renderer
// RSS (page + worker, /proc), the worker's tf.memory(), and the wasm heap's size.
//   node bench/mobilenet.mjs [--images 1000] [--batch 16] [--only head|last]
// Writes bench/results/mobilenet-<timestamp>.json and .md.
import { mkdir, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { chromium } from 'playwright-core'
import { build, preview } from 'vite'
import { makeFixture } from '../scripts/make-mobilenet-fixture.mjs'
import { sampled, snapshot } from './appMemory.mjs'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const { values: opts } = parseArgs({ options: { images: { type: 'string' }, batch: { type: 'string' }, chromium: { type: 'string' }, only: { type: 'string' } } })
const count = Number(opts.images ?? 1000)
const batch = Number(opts.batch ?? 16)
const started = Date.now()
const log = (...a) => console.log(`[${((Date.now() - started) / 1000).toFixed(0).padStart(4)} s]`, ...a)
const RUNS = [
  { label: 'head only, 2 epochs', method: 'Head only (linear probe)', epochs: 2 },
  { label: 'last blocks (28 of 32 frozen: block_16, Conv_1), 1 epoch', method: 'Freeze early blocks', frozen: 28, epochs: 1 },
].filter((r) => !opts.only || r.label.startsWith(opts.only))
const mb = (b) => (b == null ? '–' : (b / 2 ** 20).toFixed(0))

/** The wasm heap (WebAssembly.Memory) of the app's worker, in bytes: it only grows. */
async function wasmHeapBytes(page) {
  for (const w of page.workers().filter((x) => !x.url().startsWith('blob:'))) {
    const n = await w.evaluate(() => globalThis._tfengine?.registry?.wasm?.wasm?.HEAPU8?.length ?? null).catch(() => null)
    if (n) return n
  }
  return null
}

const fixtureDir = path.join(os.tmpdir(), `studio-mobilenet-bench-${count}`)
log(`fixture: MobileNetV2 1.0 224 (uint8) and ${count} images in ${fixtureDir}`)
const fixture = await makeFixture(fixtureDir, { images: count, classes: 4, side: 96 })

process.env.NODE_ENV = 'production'
const outDir = path.join(root, 'node_modules/.bench-mobilenet-app')
await build({ root, configFile: path.join(root, 'vite.config.ts'), mode: 'production', logLevel: 'warn', build: { outDir, emptyOutDir: true } })
const server = await preview({ root, configFile: path.join(root, 'vite.config.ts'), logLevel: 'warn', build: { outDir }, preview: { host: '127.0.0.1', port: 0, strictPort: false } })
const url = server.resolvedUrls?.local[0]
const browser = await chromium.launch({
  executablePath: opts.chromium ?? process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--enable-blink-features=ForceEagerMeasureMemory'],
})
const out = { date: new Date().toISOString(), machine: `${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB`, model: { name: 'mobilenetv2_1.00_224 (scripts/make-mobilenet-fixture.mjs)', params: fixture.params, weights: 'uint8-quantised' }, images: count, batch, runs: [] }
try {
  const page = await (await browser.newContext()).newPage()
  await page.goto(`${url}?b=wasm`)
  await page.getByTestId('model-title').waitFor({ timeout: 120_000 })
  await page.waitForFunction(() => document.querySelector('[data-testid="backend-badge"]')?.getAttribute('data-backend') === 'wasm', null, { timeout: 120_000 })
  out.backend = 'wasm'
  log(`uploading ${count} images`)
  let t = Date.now()
  await page.getByLabel(/Your own file/).setInputFiles(fixture.zip)
  await page.getByTestId('dataset-summary').filter({ hasText: 'images.zip' }).waitFor({ timeout: 600_000 })
  out.uploadSeconds = (Date.now() - t) / 1000
  await page.getByText('Load a model', { exact: true }).click()
  await page.getByLabel(/Model files \(model\.json/).setInputFiles(fixture.model)
  await page.getByTestId('model-title').filter({ hasText: 'mobilenetv2_1.00_224' }).waitFor({ timeout: 120_000 })
  out.afterLoad = await snapshot(page)
  const train = page.getByRole('button', { name: 'Train', exact: true })
  for (const run of RUNS) {
    await page.getByLabel('Method', { exact: true }).selectOption({ label: run.method })
    if (run.frozen) {
      const frozen = page.getByLabel('Frozen blocks', { exact: true })
      if (!(await frozen.isVisible())) await page.getByText(/^Advanced settings/).first().click() // folded on a first visit
      await frozen.fill(String(run.frozen))
    }
    await page.getByLabel('Epochs', { exact: true }).fill(String(run.epochs))
    await page.getByLabel('Batch size', { exact: true }).fill(String(batch))
    await page.getByLabel('Batch size', { exact: true }).blur()
    await page.waitForFunction(() => { const b = [...document.querySelectorAll('button')].find((x) => x.textContent === 'Train'); return b && !b.disabled }, null, { timeout: 60_000 })
    log(`training: ${run.label}`)
    let heap = 0
    const heapLoop = setInterval(async () => (heap = Math.max(heap, (await wasmHeapBytes(page)) ?? 0)), 2000)
    t = Date.now()
    const r = await sampled(page, async () => {
      await train.click()
      await page.getByTestId('run-status').filter({ hasText: /Training complete|Stopped early|Training stopped|diverged/ }).waitFor({ timeout: 1_800_000 }).catch(() => null)
      return { seconds: (Date.now() - t) / 1000, status: (await page.getByTestId('run-status').textContent())?.trim(), alerts: await page.getByRole('alert').allTextContents() }
    })
    clearInterval(heapLoop)
    heap = Math.max(heap, (await wasmHeapBytes(page)) ?? 0)
    const split = /(\d[\d,]*) train/.exec((await page.getByTestId('dataset-summary').textContent()) ?? '')
    const trainImages = split ? Number(split[1].replace(/,/g, '')) : Math.round(count * 0.8)
    const entry = { ...run, ...r, trainImages, imagesPerSecond: (trainImages * run.epochs) / r.result.seconds, peakWasmHeapBytes: heap, after: await snapshot(page) }
    out.runs.push(entry)
    await save()
    log(`  ${r.result.status} — ${r.result.seconds.toFixed(0)} s, ${entry.imagesPerSecond.toFixed(1)} images/s, peak RSS ${mb(r.peakRendererRssBytes)} MB, peak tf ${mb(r.peakTfBytes)} MB, wasm heap ${mb(heap)} MB${r.result.alerts.length ? `, alerts: ${r.result.alerts.join(' | ')}` : ''}`)
  }
} finally {
  await browser.close()
  await new Promise((r) => server.httpServer.close(r))
}

await save()
process.exit(0)

/** Writes the JSON and markdown (after each run, so a cut-off bench keeps what it measured). */
async function save() {
const md = [
  `# MobileNetV2 at 224 px on wasm (${out.date})`,
  '',
  `${out.machine}; ${out.model.name}, ${out.model.params.toLocaleString('en')} parameters, ${out.model.weights}; ${count} images (96×96 PNGs, 4 classes, resized to 224 in the worker), batch ${batch}, the built app in headless Chromium, backend ${out.backend}. Upload and storing: ${out.uploadSeconds?.toFixed(0)} s.`,
  '',
  '| run | result | wall s | train images/s | peak renderer RSS MB | peak tf.memory MB | peak tensors | wasm heap MB |',
  '|---|---|---|---|---|---|---|---|',
  ...out.runs.map((r) => `| ${r.label} | ${r.result.status ?? ''} | ${r.result.seconds.toFixed(0)} | ${r.imagesPerSecond.toFixed(1)} | ${mb(r.peakRendererRssBytes)} | ${mb(r.peakTfBytes)} | ${r.peakTfTensors} | ${mb(r.peakWasmHeapBytes)} |`),
  '',
].join('\n')
const stamp = out.date.replace(/[:.]/g, '-')
await mkdir(path.join(root, 'bench/results'), { recursive: true })
await writeFile(path.join(root, `bench/results/mobilenet-${stamp}.json`), JSON.stringify(out, null, 2))
await writeFile(path.join(root, `bench/results/mobilenet-${stamp}.md`), md)
console.log(md)
}
