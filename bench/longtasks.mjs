#!/usr/bin/env node
// Diagnosis helper for the longestMainThreadTaskMs figure: builds the app, clicks Train
// (?v=2&ep=1 as bench/run.mjs does) and records a Chrome trace; prints every main-thread
// task ≥ 50 ms after the click with its heaviest children (scripts, layout, paint...).
// With --upload FILE it chooses that file in the dataset input instead of clicking Train.
//   node bench/longtasks.mjs [--out dir] [--query '?v=2&ep=1'] [--no-build] [--upload big.csv]
import { writeFile } from 'node:fs/promises'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { chromium } from 'playwright-core'
import { build, preview } from 'vite'
import { TRACE_CATEGORIES } from './traceTasks.mjs'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const { values: opts } = parseArgs({ options: { out: { type: 'string', default: 'node_modules/.bench-longtasks' }, query: { type: 'string', default: '?v=2&ep=1' }, 'no-build': { type: 'boolean', default: false }, trace: { type: 'string' }, profile: { type: 'boolean', default: false }, min: { type: 'string', default: '50' }, shot: { type: 'string' }, upload: { type: 'string' } } })
const outDir = path.resolve(root, opts.out)
if (!opts['no-build']) await build({ root, configFile: path.join(root, 'vite.config.ts'), logLevel: 'warn', build: { outDir, emptyOutDir: true, ...(opts.profile ? { minify: false } : {}) } })
const server = await preview({ root, configFile: path.join(root, 'vite.config.ts'), logLevel: 'warn', build: { outDir }, preview: { host: '127.0.0.1', port: 0, strictPort: false } })
const url = server.resolvedUrls?.local[0]
// The bench's own flags (bench/run.mjs): with WebGPU on SwiftShader the app's backend probe
// and the page behave as they do in `npm run bench`.
const launchArgs = [
  '--no-sandbox', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--enable-unsafe-webgpu', '--enable-features=Vulkan', '--use-vulkan=swiftshader', '--use-webgpu-adapter=swiftshader', '--disable-vulkan-surface',
  '--enable-blink-features=ForceEagerMeasureMemory',
]
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium', headless: true, args: launchArgs })
const page = await browser.newPage()
try {
  await page.addInitScript(() => {
    const w = window
    w.__longTasks = []
    new PerformanceObserver((list) => { for (const e of list.getEntries()) w.__longTasks.push({ start: e.startTime, ms: e.duration }) }).observe({ type: 'longtask', buffered: true })
  })
  await page.goto(`${url}${opts.query}`)
  await page.waitForFunction(() => { const b = [...document.querySelectorAll('button')].find((x) => x.textContent === 'Train'); return b && !b.disabled }, null, { timeout: 180_000 })
  await page.waitForTimeout(1000)
  await browser.startTracing(page, { categories: TRACE_CATEGORIES })
  const cdp = opts.profile ? await page.context().newCDPSession(page) : null
  if (cdp) {
    await cdp.send('Profiler.enable')
    await cdp.send('Profiler.setSamplingInterval', { interval: 200 })
    await cdp.send('Profiler.start')
  }
  const clickedAt = await page.evaluate(() => performance.now())
  const t0 = Date.now()
  if (opts.upload) {
    await page.getByLabel(/Your own file/).setInputFiles(opts.upload)
    await page.getByTestId('dataset-summary').filter({ hasText: path.basename(opts.upload) }).waitFor({ timeout: 600_000 })
  } else {
    await page.getByRole('button', { name: 'Train', exact: true }).click()
    await page.getByTestId('run-status').filter({ hasText: /Training complete|Stopped early|Training stopped|diverged/ }).waitFor({ timeout: 400_000 })
  }
  const runSeconds = (Date.now() - t0) / 1000
  await page.waitForTimeout(500)
  const buf = await browser.stopTracing()
  if (opts.shot) await page.locator('.charts').first().screenshot({ path: opts.shot })
  const profile = cdp ? (await cdp.send('Profiler.stop')).profile : null
  const tasks = await page.evaluate((since) => window.__longTasks.filter((t) => t.start >= since), clickedAt)
  if (opts.trace) await writeFile(opts.trace, buf)
  if (opts.trace && profile) await writeFile(`${opts.trace}.cpuprofile`, JSON.stringify(profile))
  if (profile) {
    console.log('main-thread JS over the whole run:')
    printProfile(profile)
  }
  const events = JSON.parse(buf.toString()).traceEvents
  const main = events.find((e) => e.name === 'thread_name' && e.args?.name === 'CrRendererMain' && events.some((x) => x.pid === e.pid && x.name === 'FunctionCall'))
  const mine = events.filter((e) => e.pid === main.pid && e.tid === main.tid && e.ph === 'X')
  const top = mine.filter((e) => e.name === 'RunTask' && e.dur >= Number(opts.min) * 1000).sort((a, b) => a.ts - b.ts)
  console.log(`run ${runSeconds.toFixed(1)} s, PerformanceObserver long tasks: ${tasks.length}, longest ${Math.max(0, ...tasks.map((t) => t.ms)).toFixed(0)} ms`)
  console.log(`tasks ≥ ${opts.min} ms ${top.length} (trace):`)
  for (const t of top) {
    const kids = mine.filter((e) => e !== t && e.ts >= t.ts && e.ts + e.dur <= t.ts + t.dur && e.dur >= 3000)
    const by = new Map()
    for (const k of kids) {
      const name = k.name === 'FunctionCall' || k.name === 'EvaluateScript' ? `${k.name} ${k.args?.data?.functionName ?? ''} ${(k.args?.data?.url ?? '').split('/').pop()}:${k.args?.data?.lineNumber ?? ''}` : k.name
      by.set(name, (by.get(name) ?? 0) + k.dur)
    }
    const list = [...by].sort((a, b) => b[1] - a[1]).slice(0, 8).map(([n, d]) => `${n} ${(d / 1000).toFixed(0)}`)
    console.log(`  +${((t.ts - top[0].ts) / 1e6).toFixed(1)} s ${(t.dur / 1000).toFixed(0)} ms: ${list.join(' | ')}`)
    if (profile) printProfile(profile, t.ts, t.ts + t.dur)
  }
} finally {
  await browser.close()
  await new Promise((r) => server.httpServer.close(r))
}

/** Top functions of a CDP CPU profile by self and by inclusive time (ms). */
function printProfile(p, from = -Infinity, to = Infinity) {
  const byId = new Map(p.nodes.map((n) => [n.id, n]))
  const self = new Map()
  let ts = p.startTime
  p.samples.forEach((id, i) => {
    ts += p.timeDeltas[i] ?? 0
    if (ts >= from && ts <= to) self.set(id, (self.get(id) ?? 0) + (p.timeDeltas[i] ?? 0) / 1000)
  })
  const name = (n) => `${n.callFrame.functionName || '(anon)'} ${n.callFrame.url.split('/').pop()}:${n.callFrame.lineNumber + 1}`
  const incl = new Map()
  const walk = (n, seen) => {
    let t = self.get(n.id) ?? 0
    for (const c of n.children ?? []) t += walk(byId.get(c), new Set([...seen, name(n)]))
    if (!seen.has(name(n))) incl.set(name(n), (incl.get(name(n)) ?? 0) + t)
    return t
  }
  walk(p.nodes[0], new Set())
  const selfBy = new Map()
  for (const [id, t] of self) selfBy.set(name(byId.get(id)), (selfBy.get(name(byId.get(id))) ?? 0) + t)
  const top = (m, k) => [...m].filter(([n]) => !/^\((root|program|idle|garbage collector)\)/.test(n)).sort((a, b) => b[1] - a[1]).slice(0, k).map(([n, t]) => `  ${t.toFixed(0).padStart(6)} ms  ${n}`).join('\n')
  const comps = new Map([...incl].filter(([n]) => /^[A-Z]\w+ index/.test(n)))
  console.log(`components (inclusive):\n${top(comps, 12)}`)
  console.log(`self time:\n${top(selfBy, 12)}`)
}
