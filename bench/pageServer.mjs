// The start-up the browser benches share (bench/threads.mjs, bench/threadCount.mjs,
// bench/dataParallelBrowser.mjs): headless Chromium, the bench page (bench/page/index.html)
// from a Vite dev server, and the built app (`vite build`, then `vite preview`).
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { chromium } from 'playwright-core'
import { build, createServer, preview } from 'vite'

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const configFile = path.join(root, 'vite.config.ts')

/** Headless Chromium (CHROMIUM_PATH or /usr/bin/chromium), without its background traffic. */
export function launchChromium(extraArgs = []) {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', ...extraArgs],
  })
}

/** The bench page's dev server on a free port (`cacheName`: its own Vite cache folder under
 *  node_modules, so two benches do not rebuild each other's). `open` loads the page with a
 *  query in a new tab of `browser`, waits until its training worker is up and returns the
 *  worker's description (`window.workerInfo()`). */
export async function benchPageServer(cacheName, log = console.log) {
  const server = await createServer({
    root,
    configFile,
    cacheDir: path.join(root, 'node_modules', cacheName),
    logLevel: 'warn',
    server: { host: '127.0.0.1', port: 0, hmr: false, ws: false, watch: null },
    optimizeDeps: { entries: ['bench/page/index.html'] },
  })
  await server.listen()
  const base = server.resolvedUrls?.local[0]
  const open = async (browser, name, query) => {
    const page = await browser.newPage()
    page.on('pageerror', (e) => log(`${name}: page error`, e.message))
    await page.goto(`${base}bench/page/index.html${query}`)
    await page.waitForFunction(() => window.benchReady === true, null, { timeout: 180_000 })
    return { name, page, info: await page.evaluate(() => window.workerInfo()) }
  }
  return { base, open, close: () => server.close() }
}

/** `vite build` of the app into node_modules/<outName>: the production build (NODE_ENV
 *  production: a dev server started before sets it to development, which is restored after) in
 *  mode "bench", whose only difference from `npm run build` is the engine workers' read-outs the
 *  benches read (src/worker/benchReadouts.ts: step timeline, step starts, the transport switch). */
export async function buildApp(outName) {
  const outDir = path.join(root, 'node_modules', outName)
  const env = process.env.NODE_ENV
  process.env.NODE_ENV = 'production'
  try {
    // BENCH_NO_MINIFY=1: readable function names in V8's --trace-deopt / --trace-opt output (diagnosis only).
    await build({ root, configFile, mode: 'bench', logLevel: 'warn', build: { outDir, emptyOutDir: true, ...(process.env.BENCH_NO_MINIFY ? { minify: false } : {}) } })
  } finally {
    if (env === undefined) delete process.env.NODE_ENV
    else process.env.NODE_ENV = env
  }
  return outDir
}

/** `vite preview` of a build on a free port (cross-origin isolated as configured, unless
 *  `headers` override it): its address and how to close it. */
export async function previewApp(outDir, headers = {}) {
  const server = await preview({ root, configFile, logLevel: 'warn', build: { outDir }, preview: { host: '127.0.0.1', port: 0, strictPort: false, headers } })
  return { base: server.resolvedUrls.local[0], close: () => new Promise((r) => server.httpServer.close(r)) }
}
