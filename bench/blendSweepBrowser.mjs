#!/usr/bin/env node
// The Evaluate panel's sweep over α (the blend of base and tuned weights: 11 evaluations of the
// validation set) on one and on two engine workers, side by side in one page of the built app:
//   node bench/blendSweepBrowser.mjs [-- --rounds 3 --priority --model tiny-lm|emoji-cnn]
// The page trains once (full fine-tuning, one epoch, on WebAssembly, two workers); then each round
// sweeps twice, alternating which goes first: with the evaluations halved over both workers (the
// default since engine/train/evaluationSplit.ts) and with them on the training worker alone (the
// bench's switch __studioEvaluationOneWorker, worker/benchReadouts.ts), the same weights both
// times. Times from the click to the sweep's end (the button enabled again, 11 points charted),
// the second worker's answered passes (to show which sweep it served), the 1-minute load average
// and the cores the browser's processes got. Writes bench/results/<stamp>-blend-sweep-browser.json and .md.
import { mkdir, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { parseArgs } from 'node:util'
import { buildApp, launchChromium, previewApp, root } from './pageServer.mjs'
import { openToTrain, raisePriority, treeCpuSeconds } from './builtAppPage.mjs'

const { values: opts } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    priority: { type: 'boolean', default: false },
    model: { type: 'string', default: 'tiny-lm' },
    'app-dir': { type: 'string', default: '.bench-app-blend-sweep' },
  },
})
const started = Date.now()
const log = (...a) => console.log(`[${((Date.now() - started) / 1000).toFixed(0).padStart(4)} s]`, ...a)
const median = (xs) => {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b)
  if (!s.length) return NaN
  const m = s.length >> 1
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2
}

const server = await previewApp(await buildApp(opts['app-dir']))
const browser = await launchChromium()
const results = { startedAt: new Date(started).toISOString(), model: opts.model, machine: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model, browser: `Chromium ${browser.version()}`, loadAtStart: os.loadavg() }, sweeps: [] }
if (opts.priority) results.machine.priority = raisePriority()

try {
  const page = await browser.newPage()
  page.on('pageerror', (e) => log('page error', e.message))
  const query = opts.model === 'tiny-lm' ? '?v=2&b=wasm&m=full&ep=1&bs=16&sl=64&wu=0' : '?v=2&b=wasm&m=full&ep=1&bs=16&wu=0'
  await openToTrain(page, server.base, query, opts.model)
  results.badge = await page.getByTestId('backend-badge').textContent()
  log('badge:', results.badge)
  await page.getByRole('button', { name: 'Train', exact: true }).click()
  await page.getByTestId('run-status').filter({ hasText: /Training complete|Stopped early|Training stopped|diverged/ }).waitFor({ timeout: 600_000 })
  results.run = await page.getByTestId('run-status').textContent()
  log('trained:', results.run)
  const training = page.workers().find((w) => w.url().includes('engine.worker'))
  if (!training) throw new Error(`no training worker among ${page.workers().map((w) => w.url()).join(', ')}`)
  const replica = () => page.workers().find((w) => w.url().includes('gradientWorker'))
  const headPasses = async () => (await replica()?.evaluate(() => globalThis.__studioReplicaRequests?.head ?? 0).catch(() => 0)) ?? 0
  const button = page.getByRole('button', { name: 'Sweep α from 0 to 1' })
  const sweep = async (mode) => {
    await training.evaluate((off) => void (globalThis.__studioEvaluationOneWorker = off), mode === 'one')
    const before = await headPasses()
    const load1 = os.loadavg()[0]
    const cpu0 = treeCpuSeconds()
    const t0 = Date.now()
    await button.click()
    await page.waitForFunction(() => [...document.querySelectorAll('button')].find((x) => x.textContent === 'Sweep α from 0 to 1')?.disabled === true, null, { timeout: 10_000, polling: 5 }).catch(() => {})
    await page.waitForFunction(() => [...document.querySelectorAll('button')].find((x) => x.textContent === 'Sweep α from 0 to 1')?.disabled === false, null, { timeout: 600_000, polling: 10 })
    const ms = Date.now() - t0
    const cores = (treeCpuSeconds() - cpu0) / (ms / 1000)
    const points = await page.getByTestId('sweep-chart').getAttribute('data-points')
    const text = await page.getByTestId('alpha-metrics').textContent()
    const r = { mode, ms, points: Number(points), replicaHeadPasses: (await headPasses()) - before, load1, cores }
    log(`${mode === 'two' ? '2 workers' : '1 worker '}: sweep ${ms} ms (${points} points; the second worker answered ${r.replicaHeadPasses} passes; load ${load1.toFixed(1)}, ${cores.toFixed(2)} cores) ${text}`)
    return r
  }
  await sweep('two') // warm-up: the first sweep also makes the blend's snapshots
  for (let round = 0; round < Number(opts.rounds); round++) {
    const order = round % 2 ? ['one', 'two'] : ['two', 'one']
    for (const mode of order) results.sweeps.push({ round: round + 1, ...(await sweep(mode)) })
  }
  await training.evaluate(() => void (globalThis.__studioEvaluationOneWorker = false))
} finally {
  await browser.close()
  await server.close()
}

const of = (mode) => results.sweeps.filter((s) => s.mode === mode)
const one = median(of('one').map((s) => s.ms))
const two = median(of('two').map((s) => s.ms))
results.summary = { oneWorkerMs: one, twoWorkersMs: two, speedup: one / two }
const stamp = new Date(started).toISOString().replace(/[:.]/g, '-')
const dir = path.join(root, 'bench', 'results')
await mkdir(dir, { recursive: true })
await writeFile(path.join(dir, `${stamp}-blend-sweep-browser.json`), JSON.stringify(results, null, 2))
const md = [
  `# The Evaluate panel's sweep over α (11 evaluations), one vs two engine workers (${results.startedAt})`,
  '',
  `${results.machine.browser}, ${results.machine.cpus} × ${results.machine.cpuModel}; ${opts.model}, full fine-tuning, one epoch; ${results.machine.priority ?? 'no --priority'}. Badge: ${results.badge}. Run: ${results.run}`,
  '',
  '| round | evaluations on | sweep, ms | passes the second worker answered | load (1 min) | cores the browser got |',
  '|---|---|---|---|---|---|',
  ...results.sweeps.map((s) => `| ${s.round} | ${s.mode === 'two' ? '2 workers' : '1 worker'} | ${s.ms} | ${s.replicaHeadPasses} | ${s.load1.toFixed(1)} | ${s.cores.toFixed(2)} |`),
  '',
  `Medians: 1 worker ${one} ms, 2 workers ${two} ms: **${(one / two).toFixed(2)}×**.`,
  '',
].join('\n')
await writeFile(path.join(dir, `${stamp}-blend-sweep-browser.md`), md)
log(md)
