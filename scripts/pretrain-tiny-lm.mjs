#!/usr/bin/env node
// Pretrains the built-in "tiny-lm" TinyGpt and writes public/models/tiny-lm/.
//   npm run pretrain:tiny-lm                  # default 35-minute budget
//   npm run pretrain:tiny-lm -- --minutes 10  # other budget
//   npm run pretrain:tiny-lm -- --quick       # a few steps into a temp dir (CI smoke test)
//   npm run pretrain:tiny-lm -- --samples-only # reload the written model, refresh the card's samples
//   options: --out DIR, --checkpoint-minutes N, --steps N
// The corpus and tokenizer are built in Node; the training loop runs in headless Chromium
// on tfjs' wasm backend (SIMD + threads), the fastest backend on a CPU-only machine.
import { mkdir, mkdtemp, readFile, rename, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { chromium } from 'playwright-core'
import { createServer } from 'vite'
import { cardMarkdown, makeCard } from './pretrain/card.mjs'
import { encodeStream, loadDocuments, splitDocuments, tokenizerSample } from './pretrain/corpus.mjs'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const { values: opts } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    minutes: { type: 'string' },
    steps: { type: 'string' },
    out: { type: 'string' },
    'checkpoint-minutes': { type: 'string' },
    'samples-only': { type: 'boolean', default: false },
  },
})
const quick = opts.quick
const minutes = Number(opts.minutes ?? (quick ? 0.5 : 35))
const outDir = opts.out
  ? path.resolve(opts.out)
  : quick
    ? await mkdtemp(path.join(os.tmpdir(), 'tiny-lm-'))
    : path.join(root, 'public/models/tiny-lm')

const modelConfig = { vocabSize: 2048, seqLen: 128, dModel: 128, nLayers: 4, nHeads: 4, dFF: 512 }
const train = {
  steps: Number(opts.steps ?? (quick ? 4 : 100_000)),
  batchSize: 16,
  seqLen: 128,
  learningRate: 3e-3,
  minLearningRate: 3e-4,
  warmupSteps: quick ? 2 : 60,
  clipNorm: 1,
  weightDecay: 0.01,
  logEvery: quick ? 1 : 10,
  seed: 1,
  timeBudgetMs: minutes * 60_000,
}
const checkpointEveryMs = Number(opts['checkpoint-minutes'] ?? (quick ? 0 : 8)) * 60_000
const started = Date.now()
const log = (...a) => console.log(`[${((Date.now() - started) / 1000).toFixed(0).padStart(5)} s]`, ...a)

const server = await createServer({
  root,
  configFile: path.join(root, 'vite.config.ts'),
  cacheDir: path.join(root, 'node_modules/.vite-pretrain'), // keep clear of other dev servers' cache
  logLevel: 'warn',
  // No watcher or HMR: an edit elsewhere in the tree must not reload the page mid-run.
  server: { host: '127.0.0.1', port: 0, hmr: false, ws: false, watch: null },
  optimizeDeps: { entries: ['scripts/pretrain/index.html'] },
})
const PROMPTS = ['Call me', 'The whale', 'Our economy', 'In the next year, we will']

/** Loads the written files back through the studio's own loader (in Node, cpu backend), so
 *  every run proves the format round-trips, and stores a few generations in the card. */
async function verifyAndSample(dir) {
  const { loadTinyGpt } = await server.ssrLoadModule('/src/engine/models/modelFile.ts')
  const { sampleText } = await server.ssrLoadModule('/scripts/pretrain/sample.ts')
  const fsFetch = async (url) => new Response(await readFile(path.join(dir, url)))
  const { model, tokenizer, card } = await loadTinyGpt('model.json', fsFetch)
  try {
    // The cpu backend in Node is slow (~0.2 s a token): --quick only proves that sampling works.
    const [prompts, newTokens] = quick ? [PROMPTS.slice(0, 1), 8] : [PROMPTS, 40]
    const samples = []
    for (const [i, prompt] of prompts.entries()) samples.push(await sampleText(model, tokenizer, prompt, newTokens, 0.8, i + 1))
    const architecture = { ...card.architecture, parameters: model.parameterCount() }
    const updated = { ...card, architecture, samples: { temperature: 0.8, newTokens, texts: samples } }
    const modelJson = JSON.parse(await readFile(path.join(dir, 'model.json'), 'utf8'))
    await writeFile(path.join(dir, 'model.json'), JSON.stringify({ ...modelJson, card: updated }))
    await writeFile(path.join(dir, 'card.json'), JSON.stringify(updated, null, 2) + '\n')
    await writeFile(path.join(dir, 'card.md'), cardMarkdown(updated))
    log(`verified ${dir}: ${model.parameterCount()} parameters load back; samples:`)
    for (const t of samples) log('  ' + JSON.stringify(t))
  } finally {
    model.dispose()
  }
}

/** @type {import('playwright-core').Browser | undefined} */
let browser

/** Corpus → tokenizer → pretraining in the page → files in outDir. */
async function pretrain() {
  // Corpus and tokenizer (Node; the engine's TypeScript is loaded through Vite).
  const { BpeTokenizer } = await server.ssrLoadModule('/src/engine/data/bpeTokenizer.ts')
  const docs = loadDocuments()
  const split = splitDocuments(docs)
  const sample = tokenizerSample(split.train, quick ? 300_000 : 2_000_000)
  let t = Date.now()
  const tokenizer = BpeTokenizer.train(sample, modelConfig.vocabSize)
  log(`tokenizer: ${tokenizer.vocabSize} ids from ${sample.length} chars in ${Date.now() - t} ms`)
  t = Date.now()
  const trainTokens = encodeStream(tokenizer, split.train)
  const validTokens = encodeStream(tokenizer, split.valid)
  log(`encoded ${trainTokens.length} train + ${validTokens.length} validation tokens in ${Date.now() - t} ms`)
  const corpus = {
    tokenizerChars: sample.length,
    trainDocs: split.train.length,
    validDocs: split.valid.length,
    trainTokens: trainTokens.length,
    validTokens: validTokens.length,
  }

  await server.listen()
  const base = server.resolvedUrls?.local[0]
  if (!base) throw new Error('Vite did not report a URL')
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  })
  const page = await browser.newPage()
  page.on('console', (m) => {
    // The dev client's attempts to reach the (disabled) HMR socket are noise here.
    if (/\[vite\]|WebSocket|your current setup|<--\[/.test(m.text())) return
    log(`page ${m.type() === 'log' ? '' : m.type() + ' '}${m.text()}`)
  })
  page.on('pageerror', (e) => log('page error', e.message))

  const write = async (snapshot, result, partial) => {
    const card = makeCard({ modelConfig, train, result, snapshot, corpus, partial, wallMs: Date.now() - started })
    const json = { ...snapshot.json, card }
    await mkdir(outDir, { recursive: true })
    // Write-then-rename so a reader never sees a half-written model.
    const put = async (name, data) => {
      await writeFile(path.join(outDir, name + '.tmp'), data)
      await rename(path.join(outDir, name + '.tmp'), path.join(outDir, name))
    }
    await put('weights.bin', Buffer.from(snapshot.weights, 'base64'))
    await put('model.json', JSON.stringify(json))
    await put('card.json', JSON.stringify(card, null, 2) + '\n')
    await put('card.md', cardMarkdown(card))
    log(`wrote ${outDir} (${partial ? 'checkpoint' : 'final'}, step ${snapshot.step})`)
  }
  await page.exposeFunction('saveCheckpoint', (s) => write(s, { ...s.runtime, losses: [] }, true))

  // Vite may optimize the page's dependencies again once it has crawled them (a fresh clone's
  // first run, under load): modules asked for with the first pass's hashes are then answered 504
  // "Outdated Optimize Dep" and the page never becomes ready. With HMR off nothing reloads it, so
  // this does, as Vite's client would (the CI of 2026-12-07 18:29 failed on it once).
  let outdated = false
  page.on('response', (r) => {
    if (r.status() === 504) outdated = true
  })
  await page.goto(`${base}scripts/pretrain/index.html`)
  for (let waited = 0, reloads = 0; ; ) {
    const ready = await page.waitForFunction(() => window.pretrainReady === true, null, { timeout: 10_000 }).then(
      () => true,
      () => false,
    )
    if (ready) break
    waited += 10_000
    if (outdated && reloads < 3) {
      log('the dev server optimized its dependencies again (504 Outdated Optimize Dep): reloading the page')
      outdated = false
      reloads++
      await page.reload()
    } else if (waited >= 120_000) throw new Error('The pretraining page was not ready after 120 s')
  }
  const isolated = await page.evaluate(() => crossOriginIsolated)
  log(`page ready at ${base} (cross-origin isolated: ${isolated})`)
  const result = await page.evaluate((args) => /** @type {NonNullable<typeof window.runPretrain>} */ (window.runPretrain)(args), {
    modelConfig,
    train,
    tokenizer: tokenizer.toJSON(),
    trainTokens: Buffer.from(trainTokens.buffer).toString('base64'),
    validTokens: Buffer.from(validTokens.buffer).toString('base64'),
    checkpointEveryMs,
    evalBatches: 8,
    finalEvalBatches: quick ? 2 : 0,
    initSeed: 1,
  })
  await write(result.final, result, false)
  await verifyAndSample(outDir)
  const f = result.final
  log(
    `done: ${f.step} steps, ${f.tokensSeen} tokens, ${(f.tokensSeen / (f.elapsedMs / 1000)).toFixed(0)} tok/s, ` +
      `train loss ${f.trainLoss.toFixed(3)}, valid loss ${f.validLoss.toFixed(3)} (ppl ${f.validPerplexity.toFixed(1)}), ` +
      `backend ${result.backend} threads ${result.multithread ? result.threads : 'off'} simd ${result.simd}`,
  )
}

try {
  if (opts['samples-only']) await verifyAndSample(outDir)
  else await pretrain()
} finally {
  await browser?.close()
  await server.close()
}
