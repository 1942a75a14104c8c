#!/usr/bin/env node
// Why do two WebAssembly threads barely speed training up on a 2-core machine? (issue 19)
//   node bench/threadCount.mjs [--threads 1,2,3] [--rounds 5] [--models tiny-lm,emoji-cnn]
//                              [--sizes 128,256,512] [--budget 2] [--profile-steps 6] [--priority]
// Pages of the bench (bench/page/index.html), each training in a worker set up as the app's
// (bench/page/stepsWorker.ts), differing only in the wasm build and XNNPACK's thread count:
//   `?threads=1`  tfjs' single-threaded SIMD build (what a page without cross-origin isolation gets)
//   `?pool=N`     the threaded SIMD build with N threads: the calling worker plus N - 1 pthreads
//                 (pthreadpool_create(N); the studio asks for N = cores, src/worker/backendEnvironment.ts)
// All pages are opened and warmed up first (V8 compiles hot wasm functions with its optimising
// tier in the background, and a cold page measures the compiler). Then rounds: in each round
// every page in turn (the order rotates from round to round) measures square matmuls of each
// size (GFLOP/s, about 0.4 s each) and a full fine-tuning run of each built-in model (studio
// and lean step ms, batch 8). Meanwhile the CPU time of the browser's processes and of the
// whole machine is read from /proc, so each figure says how many cores the browser got and how
// busy the machine was with other work. Figures are medians over the rounds; speed-ups are
// medians of per-round ratios (so slow and fast phases of a shared machine cancel).
// Finally each page runs a few lean steps of each model under tf.profile: kernel time by kernel
// name, to tell what the threads sped up from what they could not (single-threaded kernels,
// JavaScript between kernels).
// --priority (Linux, root): raises this process's and the browser's scheduling group
// (autogroup nice -20) so that a shared machine's other work does not take the cores the
// threads need; it slows the other work meanwhile. Without it the figures say how much CPU the
// browser actually got.
// Writes bench/results/<timestamp>-threadcount.json and .md.
import { execSync } from 'node:child_process'
import { existsSync, readFileSync, readdirSync } from 'node:fs'
import { mkdir, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { parseArgs } from 'node:util'
import { benchPageServer, launchChromium, root } from './pageServer.mjs'

const { values: opts } = parseArgs({
  options: {
    threads: { type: 'string', default: '1,2,3' },
    rounds: { type: 'string', default: '5' },
    models: { type: 'string', default: 'tiny-lm,emoji-cnn' },
    sizes: { type: 'string', default: '128,256,512' },
    'skip-add': { type: 'boolean', default: false },
    budget: { type: 'string', default: '2' },
    'profile-steps': { type: 'string', default: '6' },
    priority: { type: 'boolean', default: false },
  },
})
const started = Date.now()
const log = (...a) => console.log(`[${((Date.now() - started) / 1000).toFixed(0).padStart(4)} s]`, ...a)
const f = (x, d = 2) => (x === null || x === undefined || Number.isNaN(x) ? '–' : Number(x).toFixed(d))
const median = (xs) => {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b)
  if (!s.length) return NaN
  const m = s.length >> 1
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2
}
const rounds = Number(opts.rounds)
const sizes = opts.sizes.split(',').map(Number)
const models = opts.models.split(',')
const counts = opts.threads.split(',').map(Number)
// Bias adds of a [256, 128] activation (tiny-lm's batch of 8 × 32 tokens, 128 wide), back to
// back and with the calling thread busy for a while after each (as in a training step).
const ADD_CASES = opts['skip-add'] ? [] : [{ n: 32768, bias: true, gapUs: 0 }, { n: 32768, bias: true, gapUs: 20 }, { n: 32768, bias: true, gapUs: 100 }, { n: 32768, bias: true, gapUs: 500 }]
const addKey = (c) => `${c.bias ? `[${c.n / 128},128]+[128]` : `[${c.n}]+[${c.n}]`}, ${c.gapUs} µs apart`
const ADD_REPS = 1000

// ---- CPU accounting from /proc (Linux) ----
const TICK = 100 // USER_HZ
const canProc = existsSync('/proc/stat')
/** Busy and total jiffies of the whole machine. */
function machineTicks() {
  const [, ...v] = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/)
  const n = v.map(Number)
  const idle = n[3] + (n[4] ?? 0)
  const total = n.slice(0, 8).reduce((a, b) => a + b, 0)
  return { busy: total - idle, total }
}
/** The pids below `pid` (the browser's process tree). */
function descendants(pid) {
  const children = new Map()
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue
    try {
      const st = readFileSync(`/proc/${d}/stat`, 'utf8')
      const ppid = Number(st.slice(st.lastIndexOf(')') + 2).split(' ')[1])
      if (!children.has(ppid)) children.set(ppid, [])
      children.get(ppid).push(Number(d))
    } catch {
      // gone meanwhile
    }
  }
  const out = []
  const walk = (p) => {
    for (const c of children.get(p) ?? []) {
      out.push(c)
      walk(c)
    }
  }
  walk(pid)
  return out
}
/** utime + stime of processes (all their threads), in jiffies. */
function cpuTicks(pids) {
  let t = 0
  for (const p of pids) {
    try {
      const st = readFileSync(`/proc/${p}/stat`, 'utf8')
      const f = st.slice(st.lastIndexOf(')') + 2).split(' ')
      t += Number(f[11]) + Number(f[12])
    } catch {
      // gone meanwhile
    }
  }
  return t
}
let browserPids = []
/** Runs `fn` and reports the cores the browser used and the cores the rest of the machine used. */
async function accounted(fn) {
  if (!canProc) return { value: await fn(), browserCores: null, otherCores: null }
  const m0 = machineTicks()
  const b0 = cpuTicks(browserPids)
  const s0 = cpuTicks([process.pid])
  const t0 = performance.now()
  const value = await fn()
  const sec = (performance.now() - t0) / 1000
  const m1 = machineTicks()
  const b = (cpuTicks(browserPids) - b0) / TICK
  const self = (cpuTicks([process.pid]) - s0) / TICK
  const busy = (m1.busy - m0.busy) / TICK
  return { value, sec, browserCores: b / sec, otherCores: Math.max(0, busy - b - self) / sec }
}

const results = {
  startedAt: new Date(started).toISOString(),
  machine: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model, memGB: os.totalmem() / 2 ** 30, loadAtStart: os.loadavg() },
  options: { rounds, sizes, models, counts, budgetSec: Number(opts.budget), profileSteps: Number(opts['profile-steps']), priority: opts.priority },
  pages: [],
  samples: [], // { round, page, kind: 'matmul' | 'steps', size | model, value…, browserCores, otherCores }
  profiles: [],
}

async function save() {
  const dir = path.join(root, 'bench/results')
  await mkdir(dir, { recursive: true })
  const stamp = `${results.startedAt.replace(/[:.]/g, '-')}-threadcount`
  results.seconds = (Date.now() - started) / 1000
  results.machine.loadNow = os.loadavg()
  results.summary = summarize()
  await writeFile(path.join(dir, `${stamp}.json`), JSON.stringify(results, null, 2) + '\n')
  const md = markdown()
  await writeFile(path.join(dir, `${stamp}.md`), md)
  return { md, stamp }
}

function summarize() {
  const pages = results.pages.map((p) => p.name)
  const base = pages.find((p) => p === 'threaded, 1 thread')
  const out = { matmul: [], add: [], steps: [] }
  const pick = (kind, key, page) => results.samples.filter((s) => s.kind === kind && s.key === key && s.page === page)
  const ratioTo = (kind, key, page, ref, get, invert) => {
    const rs = []
    for (let r = 0; r < rounds; r++) {
      const a = pick(kind, key, page).find((s) => s.round === r)
      const b = pick(kind, key, ref).find((s) => s.round === r)
      if (a && b) rs.push(invert ? get(b) / get(a) : get(a) / get(b))
    }
    return { median: median(rs), min: Math.min(...rs), max: Math.max(...rs), n: rs.length }
  }
  for (const size of sizes)
    for (const page of pages) {
      const xs = pick('matmul', String(size), page)
      out.matmul.push({ size, page, gflops: median(xs.map((x) => x.gflops)), browserCores: median(xs.map((x) => x.browserCores)), otherCores: median(xs.map((x) => x.otherCores)), vsOneThread: base ? ratioTo('matmul', String(size), page, base, (x) => x.gflops, false) : null })
    }
  for (const c of ADD_CASES)
    for (const page of pages) {
      const xs = pick('add', addKey(c), page)
      out.add.push({ n: addKey(c), page, micros: median(xs.map((x) => x.micros)), browserCores: median(xs.map((x) => x.browserCores)), vsOneThread: base ? ratioTo('add', addKey(c), page, base, (x) => x.micros, false) : null })
    }
  for (const model of models)
    for (const page of pages) {
      const xs = pick('steps', model, page)
      out.steps.push({ model, page, studioMs: median(xs.map((x) => x.studioStepMs)), leanMs: median(xs.map((x) => x.leanStepMs)), browserCores: median(xs.map((x) => x.browserCores)), otherCores: median(xs.map((x) => x.otherCores)), studioSpeedup: base ? ratioTo('steps', model, page, base, (x) => x.studioStepMs, true) : null, leanSpeedup: base ? ratioTo('steps', model, page, base, (x) => x.leanStepMs, true) : null })
    }
  // Kernel times against the same model's profile on the threaded build with 1 thread:
  // kernels at least 1.25x faster count as sped up by the threads, the rest as not.
  out.profiles = results.profiles.map((p) => {
    const total = Object.values(p.kernelMs).reduce((a, b) => a + b, 0)
    const ref = results.profiles.find((q) => q.model === p.model && q.page === base)
    const faster = (k) => ref && ref.kernelMs[k] !== undefined && p.kernelMs[k] > 0 && ref.kernelMs[k] / p.kernelMs[k] >= 1.25
    const sum = (pred, km) => Object.entries(km).filter(([k]) => pred(k)).reduce((a, [, v]) => a + v, 0)
    const top = Object.entries(p.kernelMs).sort((a, b) => b[1] - a[1]).slice(0, 8).map(([k, v]) => ({ kernel: k, ms: v, vsOneThread: ref?.kernelMs[k] !== undefined ? ref.kernelMs[k] / v : null }))
    const matMuls = Object.entries(p.matMulMs ?? {}).sort((a, b) => b[1] - a[1]).slice(0, 6).map(([shapes, ms]) => ({ shapes, ms, vsOneThread: ref?.matMulMs?.[shapes] !== undefined ? ref.matMulMs[shapes] / ms : null }))
    return { matMuls, page: p.page, model: p.model, stepMs: p.stepMs, kernelMs: total, jsMs: p.stepMs - total, spedUpMs: sum(faster, p.kernelMs), spedUpOneThreadMs: ref ? sum(faster, ref.kernelMs) : null, notSpedUpMs: sum((k) => !faster(k), p.kernelMs), top }
  })
  return out
}

function markdown() {
  const r = results
  const s = r.summary
  const L = [
    `# WebAssembly thread counts side by side (${r.startedAt}, ${f(r.seconds / 60, 0)} min)`,
    '',
    `Machine: ${r.machine.cpus} × ${r.machine.cpuModel}, ${f(r.machine.memGB, 0)} GiB; ${r.machine.browser ?? ''}; load average (1 min) ${f(r.machine.loadAtStart[0], 1)} at the start, ${f(r.machine.loadNow?.[0], 1)} at the end. ${r.options.priority ? 'Run with --priority (the browser\'s scheduling group at nice -20: other work on the machine got what the browser left).' : 'Shared machine, no priority: "other cores" is what the rest of the machine used meanwhile.'} ${r.options.rounds} rounds, each page once per round in rotating order; medians over rounds; speed-ups are medians of per-round ratios against the threaded build with 1 thread [min–max].`,
    '',
    `Pages: ${r.pages.map((p) => `${p.name} (${p.info.build}, XNNPACK threads ${p.info.threads})`).join('; ')}.`,
    '',
    '| square matmul | page | GFLOP/s | vs threaded 1 thread | cores the browser used | cores other work used |',
    '|---|---|---|---|---|---|',
  ]
  for (const m of s.matmul) L.push(`| ${m.size} | ${m.page} | ${f(m.gflops, 1)} | ${m.vsOneThread ? `${f(m.vsOneThread.median)}× [${f(m.vsOneThread.min)}–${f(m.vsOneThread.max)}]` : '–'} | ${f(m.browserCores)} | ${f(m.otherCores)} |`)
  if (s.add.length) {
    L.push('', `| tf.add, ${ADD_REPS} in a row (busy wait between them left out) | page | µs per add | time vs threaded 1 thread | cores the browser used |`, '|---|---|---|---|---|')
    for (const m of s.add) L.push(`| ${m.n} | ${m.page} | ${f(m.micros, 1)} | ${m.vsOneThread ? `${f(m.vsOneThread.median)}× [${f(m.vsOneThread.min)}–${f(m.vsOneThread.max)}]` : '–'} | ${f(m.browserCores)} |`)
  }
  L.push('', '| full fine-tuning, batch 8 | page | studio step ms | speed-up (studio) | lean step ms | speed-up (lean) | cores the browser used | cores other work used |', '|---|---|---|---|---|---|---|---|')
  for (const m of s.steps) L.push(`| ${m.model} | ${m.page} | ${f(m.studioMs, 1)} | ${m.studioSpeedup ? `${f(m.studioSpeedup.median)}× [${f(m.studioSpeedup.min)}–${f(m.studioSpeedup.max)}]` : '–'} | ${f(m.leanMs, 1)} | ${m.leanSpeedup ? `${f(m.leanSpeedup.median)}× [${f(m.leanSpeedup.min)}–${f(m.leanSpeedup.max)}]` : '–'} | ${f(m.browserCores)} | ${f(m.otherCores)} |`)
  if (s.profiles.length) {
    L.push('', `Where a lean step's time goes (tf.profile of ${r.options.profileSteps} steps after the rounds, wall time per kernel; "sped up" = kernels at least 1.25× faster than on the threaded build with 1 thread, with their 1-thread time in brackets; the rest of the step is JavaScript between kernels).`)
    L.push('', 'BatchMatMul by input shapes, ms a step (speed-up vs 1 thread):', '')
    for (const p of s.profiles) L.push(`- ${p.model}, ${p.page}: ${p.matMuls.map((m) => `${m.shapes} ${f(m.ms, 2)}${m.vsOneThread ? ` (${f(m.vsOneThread)}×)` : ''}`).join('; ')}`)
    L.push('', '| model | page | step ms (profiled) | kernels ms | sped-up kernels ms [at 1 thread] | other kernels ms | JavaScript and the rest ms | largest kernels: ms (speed-up vs 1 thread) |', '|---|---|---|---|---|---|---|---|')
    for (const p of s.profiles) L.push(`| ${p.model} | ${p.page} | ${f(p.stepMs, 1)} | ${f(p.kernelMs, 1)} | ${f(p.spedUpMs, 1)} [${f(p.spedUpOneThreadMs, 1)}] | ${f(p.notSpedUpMs, 1)} | ${f(p.jsMs, 1)} | ${p.top.map((k) => `${k.kernel} ${f(k.ms, 1)}${k.vsOneThread ? ` (${f(k.vsOneThread)}×)` : ''}`).join(', ')} |`)
  }
  L.push('')
  return L.join('\n')
}

const server = await benchPageServer('.vite-bench-threadcount', log)
let browser
try {
  browser = await launchChromium()
  results.machine.browser = `Chromium ${browser.version()}`
  if (canProc) browserPids = descendants(process.pid).filter((p) => { try { return readFileSync(`/proc/${p}/comm`, 'utf8').startsWith('chrom') } catch { return false } })
  if (opts.priority) {
    // Each session is its own scheduling group (autogroup); Chromium starts its own session.
    const groups = [process.pid, ...browserPids].map((p) => { try { execSync(`echo -20 > /proc/${p}/autogroup`); return readFileSync(`/proc/${p}/autogroup`, 'utf8').trim() } catch (e) { return `pid ${p}: ${e.message}` } })
    results.machine.priority = [...new Set(groups)]
    log('priority:', results.machine.priority.join('; '))
  }
  const specs = [['single-threaded SIMD build, 1 thread', '?threads=1'], ...counts.map((n) => [`threaded, ${n} thread${n > 1 ? 's' : ''}`, `?pool=${n}`])]
  const pages = []
  for (const [name, query] of specs) {
    const { page, info } = await server.open(browser, name, query)
    pages.push({ name, page, info })
    results.pages.push({ name, query, info })
    log(`${name}: ${JSON.stringify(info)}`)
  }
  if (canProc) browserPids = descendants(process.pid).filter((p) => { try { return readFileSync(`/proc/${p}/comm`, 'utf8').startsWith('chrom') } catch { return false } })
  const stepArgs = (model, budgetSec, profileSteps = 0) => ({ backend: 'wasm', model, method: 'full', batchSize: 8, seqLen: 32, budgetSec, minSteps: 8, maxRows: 256, profileSteps })
  const matmulReps = (n) => Math.max(4, Math.round((0.4 * 20e9) / (2 * n ** 3))) // about 0.4 s at 20 GFLOP/s

  log('warm-up')
  for (const p of pages) {
    for (const n of sizes) await p.page.evaluate(([n, reps]) => window.workerMatmul(n, reps), [n, matmulReps(n)])
    for (const c of ADD_CASES) await p.page.evaluate(([c, reps]) => window.workerAdd(c.n, reps, c.gapUs, c.bias), [c, ADD_REPS])
    for (const model of models) await p.page.evaluate((a) => window.benchSteps(a), stepArgs(model, 1))
  }
  for (let r = 0; r < rounds; r++) {
    const order = pages.map((_, i) => pages[(i + r) % pages.length])
    for (const p of order) {
      for (const n of sizes) {
        const a = await accounted(() => p.page.evaluate(([n, reps]) => window.workerMatmul(n, reps), [n, matmulReps(n)]))
        results.samples.push({ round: r, page: p.name, kind: 'matmul', key: String(n), gflops: a.value, browserCores: a.browserCores, otherCores: a.otherCores })
      }
      for (const c of ADD_CASES) {
        const a = await accounted(() => p.page.evaluate(([c, reps]) => window.workerAdd(c.n, reps, c.gapUs, c.bias), [c, ADD_REPS]))
        results.samples.push({ round: r, page: p.name, kind: 'add', key: addKey(c), micros: a.value, browserCores: a.browserCores, otherCores: a.otherCores })
      }
      for (const model of models) {
        const a = await accounted(() => p.page.evaluate((x) => window.benchSteps(x), stepArgs(model, Number(opts.budget))))
        results.samples.push({ round: r, page: p.name, kind: 'steps', key: model, studioStepMs: a.value.studioStepMs, leanStepMs: a.value.leanStepMs, browserCores: a.browserCores, otherCores: a.otherCores })
      }
      const mine = results.samples.filter((s) => s.round === r && s.page === p.name)
      log(`round ${r + 1}/${rounds} ${p.name}: ${mine.map((s) => (s.kind === 'matmul' ? `${s.key}² ${f(s.gflops, 1)} GFLOP/s` : s.kind === 'add' ? `add ${s.key} ${f(s.micros, 1)} µs` : `${s.key} ${f(s.studioStepMs, 1)} ms`)).join(', ')}; browser ${f(median(mine.map((s) => s.browserCores)))} cores, others ${f(median(mine.map((s) => s.otherCores)))}`)
    }
    await save()
  }
  if (Number(opts['profile-steps']) > 0) {
    for (const p of pages)
      for (const model of models) {
        const x = await p.page.evaluate((a) => window.benchSteps(a), stepArgs(model, 0.5, Number(opts['profile-steps'])))
        results.profiles.push({ page: p.name, model, ...x.profile })
      }
  }
} finally {
  await browser?.close()
  await server.close()
}
const { md, stamp } = await save()
console.log('\n' + md)
log(`wrote bench/results/${stamp}.json and .md`)
