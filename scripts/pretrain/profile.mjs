#!/usr/bin/env node
// Per-kernel timings of one TinyGpt training step on the wasm backend in headless Chromium.
//   node scripts/pretrain/profile.mjs [--batch 16] [--threads 2] [--no-fast-matmul] [--config '{"dModel":128,...}']
// How the BatchMatMul slow paths behind scripts/pretrain/wasmMatMul.ts were found.
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { chromium } from 'playwright-core'
import { createServer } from 'vite'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
const { values: opts } = parseArgs({
  options: {
    batch: { type: 'string', default: '16' },
    threads: { type: 'string', default: '2' },
    'no-fast-matmul': { type: 'boolean', default: false },
    config: { type: 'string', default: '{}' },
  },
})
const config = { vocabSize: 2048, seqLen: 128, dModel: 128, nLayers: 4, nHeads: 4, dFF: 512, ...JSON.parse(opts.config) }
const server = await createServer({
  root,
  configFile: path.join(root, 'vite.config.ts'),
  cacheDir: path.join(root, 'node_modules/.vite-pretrain'),
  logLevel: 'warn',
  server: { host: '127.0.0.1', port: 0, hmr: false, ws: false, watch: null },
  optimizeDeps: { entries: ['scripts/pretrain/profile.html'] },
})
let browser
try {
  await server.listen()
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  })
  const page = await browser.newPage()
  await page.goto(`${/** @type {import('vite').ResolvedServerUrls} */ (server.resolvedUrls).local[0]}scripts/pretrain/profile.html`)
  await page.waitForFunction(() => !!window.profileStep)
  const threads = Number(opts.threads)
  const result = await page.evaluate(([c, b, t, fast, hc]) => /** @type {NonNullable<typeof window.profileStep>} */ (window.profileStep)(c, b, t, fast, hc), [
    config,
    Number(opts.batch),
    threads,
    !opts['no-fast-matmul'],
    threads > 1 ? 2 * threads : 0, // tfjs-wasm sizes its thread pool to hardwareConcurrency / 2
  ])
  console.log(JSON.stringify(result, null, 1))
} finally {
  await browser?.close()
  await server.close()
}
