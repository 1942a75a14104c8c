#!/usr/bin/env node
// The CPU modes of the built app side by side in Chromium (issue 19 points 1 and 3):
//   npm run bench:data-parallel:browser [-- --rounds 2 --priority --modes one,before,workers
//     --models tiny-lm,emoji-cnn --skip-click --app-dir <folder under node_modules>
//     --trace [--trace-dir DIR] --js-flags FLAGS --cnn-epochs N]
// Modes (src/worker/backendEnvironment.ts, CpuMode; the page asks through localStorage
// "studio.cpu"): one worker on one thread, one worker with XNNPACK's threads, two engine
// workers of one thread each (the default on 2+ cores: engine/train/dataParallel.ts); and
// `one-before` / `before`, one and two workers as the studio ran before 2026-12-06 15:00 (the
// bench's switch, legacyTransport); `half` (one worker on half the batch) and `half-pair` (two
// pages at once, each one worker on half the batch, started together and never exchanging
// anything: what two halves sharing the machine cost by themselves, the bound for two workers
// with both cores busy; step times only, no first click).
// For each mode, in rotating order each round:
// 1. full fine-tuning of both built-in models through the page (tiny-lm on the spam/ham
//    sample, 64 tokens; emoji-cnn on the OpenMoji sample), batch 16: milliseconds a step,
//    the mean gap between the loop's step starts (engine/train/runControl.ts stepStarts; the
//    first two steps and each epoch's end left out; the run bar's "Step k / N" marks, used
//    before, are kept as msPerStepFromMarks: losses are read a group at a time, so those marks
//    lag the steps and undercount them); with two workers, the training worker's per-step
//    timeline of both workers (dataParallel.ts recentSteps), and the CPU each thread got;
// 2. the first click: the default run of one epoch (`?v=2&ep=1`), time from the click to the
//    first chart point and to the end of the run.
// Medians over rounds; each figure has the 1-minute load average beside it, and the cores the
// browser's processes got (CPU time / wall time from /proc): two workers only help on two
// free cores. While the steps run, each thread's CPU and run-queue wait (/proc schedstat) by
// process type: how much of the machine the browser's other threads (V8's compile and GC pool,
// the page, the GPU process) took from the two workers. `--prebuilt` serves the build already in
// --app-dir (one made before a change to an installed package, against one after). Writes bench/results/<stamp>-data-parallel-browser.json and .md.
import { mkdir, writeFile } from 'node:fs/promises'
import { readdirSync, readFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { parseArgs } from 'node:util'
import { buildApp, launchChromium, previewApp, root } from './pageServer.mjs'
import { openToTrain, raisePriority, trainReady, tree, treeCpuSeconds } from './builtAppPage.mjs'

const { values: opts } = parseArgs({
  options: {
    rounds: { type: 'string', default: '2' },
    modes: { type: 'string', default: 'one,threads,workers' },
    priority: { type: 'boolean', default: false },
    'skip-steps': { type: 'boolean', default: false },
    'skip-click': { type: 'boolean', default: false },
    'app-dir': { type: 'string', default: '.bench-app-data-parallel' }, // the built app's folder
    models: { type: 'string', default: 'tiny-lm,emoji-cnn' },
    // A Chrome trace of each training run (V8's GC and compile categories): what the browser's
    // threads ran, by thread and event (V8's background GC and compile tasks on ThreadPool
    // threads, each GC's isolate), summed per step; summaries in the results, traces not kept.
    trace: { type: 'boolean', default: false },
    'trace-dir': { type: 'string' }, // with --trace: keep each run's raw trace here
    // V8 flags for the browser (diagnosis only, e.g. --trace-deopt; a web page cannot set them):
    // V8's output goes to the browser's stdout, shown with DEBUG=pw:browser.
    'js-flags': { type: 'string' },
    // `…-old` modes (one-old, workers-old, half-old): these benchSwitch keys on in every worker of
    // the page (engine/benchSwitches.ts, through worker/benchReadouts.ts __studioSetBenchSwitches),
    // e.g. --old-switches jsCnnKernels,cloneTapeSaves: a change and its old path in one run.
    'old-switches': { type: 'string', default: '' },
    'cnn-epochs': { type: 'string', default: '3' },
    // Serve the app already built in --app-dir instead of building it (e.g. one built before a
    // change to an installed package, run against a build after it: both in alternation).
    prebuilt: { type: 'boolean', default: false },
    // Diagnosis only (a page cannot do this): every 250 ms while a run is timed, the page's worker
    // threads get nice -10, so the browser's other threads (V8's compile and GC pool, the page) run
    // mostly when a worker waits. What two workers would give if nothing else wanted the cores.
    'favour-workers': { type: 'boolean', default: false }, // emoji-cnn's run: epochs of the 200-image sample (about 9 steps each)

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
const MODES = { one: '1 worker, 1 thread', threads: '1 worker, XNNPACK threads', workers: '2 workers, 1 thread each', workers3: '3 workers, 1 thread each (localStorage studio.workers)', workers4: '4 workers, 1 thread each (localStorage studio.workers)', 'one-before': '1 worker, 1 thread, as before 2026-12-06 15:00', before: '2 workers, as before 2026-12-06 15:00', half: '1 worker, 1 thread, half the batch (the bound for 2)', 'half-pair': '2 pages at once, each 1 worker on half the batch, no exchange (the bound with both cores busy)', 'one-opcnn': '1 worker, 1 thread, emoji CNN as tf ops (before its fused kernels)', 'workers-opcnn': '2 workers, emoji CNN as tf ops (before its fused kernels)', 'half-opcnn': '1 worker, half the batch, emoji CNN as tf ops (before its fused kernels)', 'one-unfused': '1 worker, 1 thread, optimizer as tf ops (before the fused update)', 'workers-unfused': '2 workers, optimizer and combine as tf ops (before the fused kernels)', 'one-nests': '1 worker, 1 thread, emoji CNN kernels as loop nests (before 2026-12-06 22:00)', 'workers-nests': '2 workers, emoji CNN kernels as loop nests (before 2026-12-06 22:00)', steps: '2 workers, training steps only (inference passes on one, as before 2026-12-06 15:20)', 'workers-copies': '2 workers, gradients and weights read tensor by tensor into fresh arrays (before 2026-12-06 22:00)', 'one-oplm': '1 worker, 1 thread, tiny-lm between its products as tf ops (before lmFused)', 'workers-oplm': '2 workers, tiny-lm between its products as tf ops (before lmFused)', 'half-oplm': '1 worker, half the batch, tiny-lm between its products as tf ops (before lmFused)', 'one-serial': '1 worker, 1 thread, stored images loaded when a step asks, one after another (before 2026-12-07 01:30)', 'workers-serial': '2 workers, stored images loaded when a step asks, one after another (before 2026-12-07 01:30)', 'half-serial': '1 worker, half the batch, stored images loaded when a step asks, one after another (before 2026-12-07 01:30)', 'one-old': `1 worker, 1 thread, benchSwitch ${opts['old-switches']} on (old)`, 'workers-old': `2 workers, benchSwitch ${opts['old-switches']} on (old)`, 'half-old': `1 worker, half the batch, benchSwitch ${opts['old-switches']} on (old)` }
// `…-serial`: emoji-cnn's stored images loaded batch by batch when the step needs them, each batch's
// images decoded one after another, as before engine/train/imageBatches.ts loadImagesAhead
// (benchSwitch.serialImageLoads, through the workers' __studioSerialImageLoads); the same pixels.
// `…-oplm`: tiny-lm's layer norms, GELU, softmax, heads and bias gradients as tf ops in every worker
// (benchSwitch.lmOpPath through the workers' __studioLmOpPath), as before engine/models/lmFused.ts.
// `workers-copies`: the replica's gradients and the loop's changed weights read tensor by tensor
// (data(): a fresh array each) into fresh arrays every step, as before 2026-12-06 22:00
// (engine/train/dataParallel.ts readFloatsInto and the arrays handed back; benchSwitch.tensorCopies,
// through the workers' __studioTensorCopies).
// `steps`: two workers that split the training steps but not the run's inference passes (the
// feature cache's frozen blocks, the zero-shot baseline, the evaluations: they stay on the first,
// as before engine/train/inferencePasses.ts): the page asks for it with studio.cpu = "steps".
// `before` and `one-before`: the bench's switch back to how the studio ran before the timeline
// (request copied, no task boundary after posting it, the combine rows-weighted, no decoded
// image rows kept: engine/train/dataParallel.ts legacyTransport), set in the page's workers
// before the run: before and after in one run.
// `half`: one worker on one thread with half the batch (8): each worker's share alone.
// `…-opcnn`: the emoji CNN as tf ops in every worker of the page (engine/benchSwitches.ts benchSwitch.cnnOpPath,
// through the workers' __studioCnnOpPath), as before its fused kernels; which workers had it is recorded.
// `one-unfused`, `workers-unfused`: the optimizer's update, the clipping and the two workers' combine
// as tf ops (engine/train/fusedUpdate.ts, benchSwitch.unfusedOptimizer, through the workers'
// __studioUnfusedOptimizer), as before the fused kernels.
// `one-nests`, `workers-nests`: emoji-cnn's JavaScript kernels as the loop nests they were before
// 2026-12-06 22:00 (models/cnnLoopNests.ts, benchSwitch.cnnLoopNests, through the workers'
// __studioCnnLoopNests) instead of per-row functions: the same arithmetic; V8 optimised the nests
// only by on-stack replacement (deopts and background recompilation; see --trace).
const cpuMode = (mode) => {
  const m = mode.replace(/-(opcnn|unfused|nests|copies|oplm|serial|old)$/, '')
  if (/^workers\d+$/.test(m)) return 'workers'
  return m === 'before' ? 'workers' : m === 'one-before' || m === 'half' || m === 'half-pair' ? 'one' : m
}
/** `workers3`, `workers4`: that many engine workers (worker/backendEnvironment.ts engineWorkersFor
 *  through localStorage "studio.workers"); null: the machine's default. */
const workersAsked = (mode) => /^workers(\d+)(-|$)/.exec(mode)?.[1] ?? null
const isOpCnn = (mode) => mode.endsWith('-opcnn')
const isUnfused = (mode) => mode.endsWith('-unfused')
const isNests = (mode) => mode.endsWith('-nests')
const isCopies = (mode) => mode.endsWith('-copies')
const isOpLm = (mode) => mode.endsWith('-oplm')
const isSerial = (mode) => mode.endsWith('-serial')
const isOld = (mode) => mode.endsWith('-old')
const oldSwitches = opts['old-switches'] ? opts['old-switches'].split(',') : []
if (opts.modes.split(',').some(isOld) && !oldSwitches.length) throw new Error('…-old modes need --old-switches key,key (engine/benchSwitches.ts benchSwitch)')
/** Sets the --old-switches keys in every worker of the page (on for `…-old` modes, off otherwise);
 *  answers each worker's values after, null where a worker has no such readout. */
const setOldSwitches = async (page, mode) => {
  const seen = []
  for (const w of engineWorkers(page)) seen.push(await w.evaluate(([names, on]) => globalThis.__studioSetBenchSwitches?.(names, on) ?? null, [oldSwitches, isOld(mode)]).catch(() => null))
  return seen
}
const isBefore = (mode) => mode === 'before' || mode === 'one-before'
const modes = opts.modes.split(',')
const results = { startedAt: new Date(started).toISOString(), machine: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model, loadAtStart: os.loadavg() }, steps: [], clicks: [] }

const server = await previewApp(opts.prebuilt ? path.join(root, 'node_modules', opts['app-dir']) : await buildApp(opts['app-dir']))
const base = server.base
const browser = await launchChromium(opts['js-flags'] ? [`--js-flags=${opts['js-flags']}`] : [])
results.machine.browser = `Chromium ${browser.version()}`
if (opts.priority) results.machine.priority = raisePriority()

/** The page's engine workers (the training worker and the second engine worker), not the wasm
 *  pthreads of the `threads` mode: those are blob: workers that sit in Atomics.wait between
 *  kernels, where an evaluate never returns. */
const engineWorkers = (page) => page.workers().filter((w) => !w.url().startsWith('blob:'))

async function newPage(mode) {
  const page = await browser.newPage()
  await page.addInitScript(([m, n]) => {
    localStorage.setItem('studio.cpu', m)
    if (n) localStorage.setItem('studio.workers', n)
    else localStorage.removeItem('studio.workers')
  }, [cpuMode(mode), workersAsked(mode)])
  page.on('pageerror', (e) => log(`${mode}: page error`, e.message))
  return page
}

/** Resolves when the run bar says the run ended. A promise in the page, woken by a MutationObserver
 *  on the run bar's status line only: the bench adds no polling (Playwright's locator waits poll
 *  the page) to the cores the workers need while the run is timed. */
const runEnded = (page) =>
  page.evaluate(
    () =>
      new Promise((resolve, reject) => {
        const ended = /Training complete|Stopped early|Training stopped|diverged/
        const status = document.querySelector('[data-testid="run-status"]')
        if (!status) return reject(new Error('no run-status element'))
        if (ended.test(status.textContent ?? '')) return resolve(true)
        const timer = setTimeout(() => reject(new Error('run did not end in 600 s')), 600_000)
        new MutationObserver((_, mo) => {
          if (!ended.test(status.textContent ?? '')) return
          mo.disconnect()
          clearTimeout(timer)
          resolve(true)
        }).observe(status, { subtree: true, childList: true, characterData: true })
      }),
  )
/** CPU seconds by thread name (Linux comm: CrRendererMain is a page's main thread,
 *  DedicatedWorker a Web Worker, Compositor, ThreadPool…) over the bench and its browser. */
function threadCpuSeconds({ byProcess = false } = {}) {
  const by = {}
  for (const p of tree()) {
    let kind = ''
    if (byProcess) {
      try {
        const cmd = readFileSync(`/proc/${p}/cmdline`, 'utf8')
        kind = `${/--type=([a-z-]+)/.exec(cmd)?.[1] ?? (cmd.includes('chrom') ? 'browser' : 'bench')}/`
      } catch {
        continue
      }
    }
    const tasks = tasksOf(p)
    if (!tasks) continue
    for (const t of tasks) {
      try {
        const stat = readFileSync(`/proc/${p}/task/${t}/stat`, 'utf8')
        const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')).replace(/[0-9]+$/, '').trim() || '?'
        const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
        by[kind + name] = (by[kind + name] ?? 0) + (Number(fields[11]) + Number(fields[12])) / 100
        if (byProcess) {
          // schedstat: ns on a core, ns runnable but waiting for one (preempted or not yet woken onto one).
          const [, waiting] = readFileSync(`/proc/${p}/task/${t}/schedstat`, 'utf8').trim().split(' ').map(Number)
          const w = `${kind}${name}, waiting for a core`
          by[w] = (by[w] ?? 0) + waiting / 1e9
        }
      } catch {
        // gone
      }
    }
  }
  return by
}
const browserCores = async (fn, { sampleMs = 0 } = {}) => {
  const cpu0 = treeCpuSeconds()
  const threads0 = threadCpuSeconds()
  const t0 = Date.now()
  // With sampleMs: CPU seconds by process type and thread, every sampleMs, to cut a window out later.
  const samples = []
  const sample = () => {
    samples.push([Date.now(), threadCpuSeconds({ byProcess: true })])
    if (opts['favour-workers']) favourWorkers()
  }
  if (sampleMs) sample()
  const timer = sampleMs ? setInterval(sample, sampleMs) : null
  let out
  try {
    out = await fn()
  } finally {
    if (timer) clearInterval(timer)
  }
  if (sampleMs) sample()
  const sec = (Date.now() - t0) / 1000
  const threads1 = threadCpuSeconds()
  // Cores by thread name over the run (threads that ended during it are not counted).
  const threads = Object.fromEntries(Object.entries(threads1).map(([k, v]) => [k, (v - (threads0[k] ?? 0)) / sec]).filter(([, v]) => v >= 0.01).sort((a, b) => b[1] - a[1]))
  return { out, cores: (treeCpuSeconds() - cpu0) / sec, threads, samples }
}
/** The thread ids of process `p`, or null when it is gone. */
function tasksOf(p) {
  try {
    return readdirSync(`/proc/${p}/task`)
  } catch {
    return null
  }
}
/** --favour-workers: nice -10 for every DedicatedWorker thread of the browser's processes. */
function favourWorkers() {
  for (const p of tree()) {
    for (const t of tasksOf(p) ?? []) {
      try {
        if (!readFileSync(`/proc/${p}/task/${t}/comm`, 'utf8').startsWith('DedicatedWorker')) continue
        if (os.getPriority(Number(t)) !== -10) os.setPriority(Number(t), -10)
      } catch {
        // gone, or not allowed
      }
    }
  }
}
/** Cores by process type and thread between two wall-clock times (ms since the epoch), from
 *  browserCores' samples: the nearest samples inside the window. */
function coresInWindow(samples, from, to) {
  const inside = samples.filter(([t]) => t >= from && t <= to)
  if (inside.length < 2) return null
  const [ta, a] = inside[0]
  const [tb, b] = inside[inside.length - 1]
  const sec = (tb - ta) / 1000
  const all = Object.entries(b).map(([k, v]) => [k, (v - (a[k] ?? 0)) / sec]).filter(([, v]) => v >= 0.005).sort((x, y) => y[1] - x[1])
  const by = Object.fromEntries(all.filter(([k]) => !k.endsWith('waiting for a core')))
  // Per second of the window, summed over the process's threads of that name: how long they were
  // runnable without a core (the workers' is what other threads took from them on a full machine).
  const waiting = Object.fromEntries(all.filter(([k]) => k.endsWith('waiting for a core')))
  return { sec, total: Object.values(by).reduce((s, v) => s + v, 0), by, waiting }
}

/** ms a training step, from the run bar's "Step k / N · epoch e / E" as it changes. */
/** `gate`: awaited just before Train is clicked (`half-pair`: both pages click together). */
async function stepMs(mode, model, gate = async () => {}) {
  const page = await newPage(mode)
  try {
    const bs = mode === 'half' || mode === 'half-pair' || mode === 'half-opcnn' || mode === 'half-oplm' || mode === 'half-serial' || mode === 'half-old' ? 8 : 16
    const query = model === 'tiny-lm' ? `?v=2&b=wasm&m=full&ep=1&bs=${bs}&sl=64&wu=0` : `?v=2&b=wasm&m=full&ep=${opts['cnn-epochs']}&bs=${bs}&wu=0`
    await openToTrain(page, base, query, model)
    const badge = await page.getByTestId('backend-badge').textContent()
    await page.evaluate(() => {
      const w = window
      w.__stepMarks = []
      // The run bar's state line only (not the whole page, whose charts change every step).
      new MutationObserver(() => {
        const t = document.querySelector('[data-testid="progress"] span')?.textContent ?? ''
        const m = /Step (\d+) \/ (\d+) · epoch (\d+)/.exec(t)
        if (m) w.__stepMarks.push([performance.now(), Number(m[1]), Number(m[3])])
      }).observe(document.querySelector('.run-state') ?? document.body, { subtree: true, childList: true, characterData: true })
    })
    const legacy = isBefore(mode)
    for (const w of engineWorkers(page)) await w.evaluate((on) => void (globalThis.__studioDataParallelLegacy = on), legacy).catch(() => {})
    for (const w of engineWorkers(page)) await w.evaluate((on) => void (globalThis.__studioCnnOpPath = on), isOpCnn(mode)).catch(() => {})
    for (const w of engineWorkers(page)) await w.evaluate((on) => void (globalThis.__studioUnfusedOptimizer = on), isUnfused(mode)).catch(() => {})
    for (const w of engineWorkers(page)) await w.evaluate((on) => void (globalThis.__studioCnnLoopNests = on), isNests(mode)).catch(() => {})
    for (const w of engineWorkers(page)) await w.evaluate((on) => void (globalThis.__studioTensorCopies = on), isCopies(mode)).catch(() => {})
    for (const w of engineWorkers(page)) await w.evaluate((on) => void (globalThis.__studioLmOpPath = on), isOpLm(mode)).catch(() => {})
    for (const w of engineWorkers(page)) await w.evaluate((on) => void (globalThis.__studioSerialImageLoads = on), isSerial(mode)).catch(() => {})
    const oldByWorker = await setOldSwitches(page, mode)
    await gate()
    const load1 = os.loadavg()[0]
    if (opts.trace) await browser.startTracing(undefined, { categories: TRACE_GC_CATEGORIES })
    const { cores, threads, samples } = await browserCores(async () => {
      await page.getByRole('button', { name: 'Train', exact: true }).click()
      await runEnded(page)
    }, { sampleMs: 250 })
    const traceBuf = opts.trace ? await browser.stopTracing() : null
    if (traceBuf && opts['trace-dir']) await writeFile(path.join(opts['trace-dir'], `${mode}-${model}-${Date.now()}.json`), traceBuf)
    const traced = traceBuf ? traceByThread(traceBuf) : null
    const marks = await page.evaluate(() => window.__stepMarks)
    // The training worker's per-step timeline of its split steps (engine/train/dataParallel.ts,
    // recentSteps): the phases of each worker, medians over the run's steps after the first two.
    let timeline = null
    let starts = null
    let startsOrigin = null
    // How long each of the run's stored-image loads kept its caller waiting (engine/train/imageBatches.ts).
    let imageWaits = null
    // Which workers ran the emoji CNN as tf ops (a worker started after the switch was set would not).
    const opPath = []
    for (const w of engineWorkers(page)) opPath.push(await w.evaluate(() => globalThis.__studioCnnOpPath ?? null).catch(() => null))
    const loopNests = []
    for (const w of engineWorkers(page)) loopNests.push(await w.evaluate(() => globalThis.__studioCnnLoopNests ?? null).catch(() => null))
    // Which of our WebAssembly modules (engine/models/heapModules.ts) each worker instantiated or could not.
    const heapModules = []
    for (const w of engineWorkers(page)) heapModules.push(await w.evaluate(() => globalThis.__studioHeapModules ?? null).catch(() => null))
    for (const w of engineWorkers(page)) {
      const steps = await w.evaluate(() => globalThis.__studioDataParallelSteps ?? null).catch(() => null)
      if (steps?.length) timeline = timelineOf(steps.slice(2))
      const st = await w.evaluate(() => globalThis.__studioStepStarts ?? null).catch(() => null)
      if (st?.length) {
        starts = st
        startsOrigin = await w.evaluate(() => performance.timeOrigin).catch(() => null)
      }
      const iw = await w.evaluate(() => globalThis.__studioImageWaits ?? null).catch(() => null)
      if (iw?.length) imageWaits = iw
    }
    // Every step's time from the loop's own step starts (engine/train/runControl.ts): the first two
    // left out, and the epochs-1 longest (each holds an epoch's end: validation, checkpoint).
    const epochsRun = Number(/[?&]ep=(\d+)/.exec(query)?.[1] ?? 1)
    const gaps = starts ? starts.slice(2).map((t, i, a) => (i ? t - a[i - 1] : NaN)).slice(1).sort((a, b) => a - b) : []
    const inEpoch = gaps.slice(0, Math.max(0, gaps.length - (epochsRun - 1)))
    const stepStats = inEpoch.length ? { mean: inEpoch.reduce((a, b) => a + b, 0) / inEpoch.length, median: median(inEpoch), n: inEpoch.length } : null
    // Within each epoch: steps and time from the first mark at step ≥ 2 to the epoch's last mark.
    let steps = 0
    let ms = 0
    const epochs = [...new Set(marks.map((m) => m[2]))]
    for (const e of epochs) {
      const inEpoch = marks.filter((m) => m[2] === e && m[1] >= 2)
      if (inEpoch.length < 2) continue
      const first = inEpoch[0]
      const last = inEpoch[inEpoch.length - 1]
      steps += last[1] - first[1]
      ms += last[0] - first[0]
    }
    // Cores by process and thread while the steps ran (from the third step's start to the last's;
    // epoch ends inside): what competed with the workers for the machine's cores.
    const stepWindow = starts && startsOrigin && starts.length > 4 ? coresInWindow(samples, startsOrigin + starts[2], startsOrigin + starts[starts.length - 1]) : null
    if (traced && starts) {
      traced.steps = starts.length
      traced.perStep = perStepOf(traced, starts.length)
    }
    // The JSON keeps the trace's summary and largest items per step, not every event name's sum.
    const r = { mode, model, ...(traced ? { trace: { wallMs: traced.wallMs, steps: traced.steps, summary: traced.summary, perStep: traced.perStep } } : {}), msPerStep: stepStats ? stepStats.mean : NaN, medianStepMs: stepStats?.median ?? NaN, stepsTimed: stepStats?.n ?? 0, msPerStepFromMarks: steps ? ms / steps : NaN, stepGaps: starts ? starts.slice(1).map((t, i) => Number((t - starts[i]).toFixed(1))) : [], imageWaitMs: imageWaits ? imageWaits.reduce((a, b) => a + b, 0) : null, imageWaits: imageWaits ? imageWaits.map((x) => Number(x.toFixed(1))) : null, load1, cores, threads, stepWindow, badge, cnnOpPathByWorker: opPath, cnnLoopNestsByWorker: loopNests, ...(oldSwitches.length ? { oldSwitchesByWorker: oldByWorker } : {}), heapModulesByWorker: heapModules, ...(timeline ? { timeline } : {}) }
    log(`  ${MODES[mode]}, ${model}: ${f(r.msPerStep, 1)} ms a step (mean of ${r.stepsTimed}; median ${f(r.medianStepMs, 1)}; from the run bar ${f(r.msPerStepFromMarks, 1)})${r.imageWaitMs === null ? '' : `, waited for stored images ${f(r.imageWaitMs / (starts?.length || 1), 1)} ms a step`}, load ${f(load1, 1)}, browser cores ${f(cores)}, CNN as tf ops in workers: ${opPath.join('/')}, loop nests: ${loopNests.join('/')} (${Object.entries(threads).slice(0, 6).map(([k, v]) => `${k} ${f(v)}`).join(', ')})`)
    if (stepWindow) log(`    while the steps ran (${f(stepWindow.sec, 1)} s): ${f(stepWindow.total)} cores; ${Object.entries(stepWindow.by).slice(0, 10).map(([k, v]) => `${k} ${f(v)}`).join(', ')}; runnable without a core: ${Object.entries(stepWindow.waiting).slice(0, 4).map(([k, v]) => `${k.replace(', waiting for a core', '')} ${f(v)}`).join(', ')}`)
    if (traced) log(`    trace, ms a step by thread and event: ${traced.perStep.map(([k, v]) => `${k} ${f(v, 2)}`).join('; ')}`)
    if (timeline) log(`    timeline: ${Object.entries(timeline.phases).map(([k, v]) => `${k.replace(/ \(.*\)/, '')} ${f(v, 1)}`).join('; ')}`)
    return r
  } finally {
    await page.close()
  }
}

const TRACE_GC_CATEGORIES = ['toplevel', 'v8', 'v8.gc', 'disabled-by-default-v8.gc', 'v8.compile', 'v8.wasm', 'disabled-by-default-v8.compile', 'devtools.timeline']
/** A trace's complete events summed by thread name and event name (top level on each thread
 *  only: an event inside another on the same thread is not counted again), in ms of the thread's
 *  CPU time (the events' tdur; wall time only where a trace has none: on a loaded machine a
 *  background task's wall time counts the time it waited for a core); and the GCs by
 *  kind on each JS thread (main page, workers). */
function traceByThread(buf) {
  const events = JSON.parse(buf.toString()).traceEvents
  const names = new Map()
  for (const e of events) if (e.name === 'thread_name') names.set(`${e.pid}:${e.tid}`, e.args?.name ?? '?')
  const byThread = new Map()
  for (const e of events) {
    if (e.ph !== 'X' || !e.dur) continue
    const k = `${e.pid}:${e.tid}`
    if (!byThread.has(k)) byThread.set(k, [])
    byThread.get(k).push(e)
  }
  const sums = {}
  const gcCounts = {}
  let t0 = Infinity
  let t1 = 0
  for (const [k, evs] of byThread) {
    const thread = (names.get(k) ?? '?').replace(/[0-9]+$/, '').replace(/\/.*$/, '')
    evs.sort((a, b) => a.ts - b.ts || b.dur - a.dur)
    let end = -Infinity
    for (const e of evs) {
      t0 = Math.min(t0, e.ts)
      t1 = Math.max(t1, e.ts + e.dur)
      const gcKind = /^(MajorGC|MinorGC|V8\.DeoptimizeCode)$/.exec(e.name)
      if (gcKind) gcCounts[`${thread}: ${e.name}`] = (gcCounts[`${thread}: ${e.name}`] ?? 0) + 1
      // Pool threads: every event by name, nested ones too (ThreadPool_RunTask is the threads'
      // total; the V8.* events inside say what ran); other threads: top level only.
      const pool = thread.startsWith('ThreadPool')
      if (!pool && e.ts < end) continue
      if (e.ts >= end) end = e.ts + e.dur
      const key = `${thread}: ${e.name}`
      sums[key] = (sums[key] ?? 0) + (e.tdur ?? e.dur) / 1000
    }
  }
  // What V8's pool threads ran (ms), and the JS threads' deopts and collections (counts).
  const sum = (re) => Object.entries(sums).filter(([k]) => re.test(k)).reduce((a, [, v]) => a + v, 0)
  const count = (re) => Object.entries(gcCounts).filter(([k]) => re.test(k)).reduce((a, [, v]) => a + v, 0)
  // The same over the run's second half only (events starting after its midpoint): the steady
  // state, after the workers' code was compiled (the first steps of a fresh worker compile it all).
  const mid = (t0 + t1) / 2
  const late = {}
  for (const [k, evs] of byThread) {
    const thread = (names.get(k) ?? '?').replace(/[0-9]+$/, '').replace(/\/.*$/, '')
    if (!thread.startsWith('ThreadPool')) continue
    for (const e of evs) if (e.ts >= mid) late[`${thread}: ${e.name}`] = (late[`${thread}: ${e.name}`] ?? 0) + (e.tdur ?? e.dur) / 1000
  }
  const lateSum = (re) => Object.entries(late).filter(([k]) => re.test(k)).reduce((a, [, v]) => a + v, 0)
  const summary = {
    'pool threads, all tasks ms': sum(/^ThreadPool.*: ThreadPool_RunTask$/),
    'pool: JS compile (TurboFan + Maglev) ms': sum(/^ThreadPool.*: V8\.(TurbofanTask|MaglevTask)$/),
    'pool: wasm compile ms': sum(/^ThreadPool.*: wasm\.ExecuteCompilationUnits$/),
    'pool: GC (marking, sweeping, scavenging) ms': sum(/^ThreadPool.*: V8\.GC_[A-Z_]*BACKGROUND/),
    'workers: deopts': count(/^DedicatedWorker.*: V8\.DeoptimizeCode$/),
    'workers: scavenges': count(/^DedicatedWorker.*: MinorGC$/),
    'workers: mark-compacts': count(/^DedicatedWorker.*: MajorGC$/),
    'page main thread: GCs': count(/^CrRendererMain: (MinorGC|MajorGC)$/),
    'second half: pool threads, all tasks ms': lateSum(/: ThreadPool_RunTask$/),
    'second half: pool JS compile ms': lateSum(/: V8\.(TurbofanTask|MaglevTask)$/),
    'second half: pool GC ms': lateSum(/: V8\.GC_[A-Z_]*BACKGROUND/),
  }
  return { wallMs: (t1 - t0) / 1000, sums, gcCounts, summary }
}
/** The trace's sums per step, the largest first (the whole run's steps: validation included). */
function perStepOf(traced, steps) {
  const all = [...Object.entries(traced.sums).map(([k, v]) => [k, v / steps]), ...Object.entries(traced.gcCounts).map(([k, v]) => [`count ${k}`, v / steps])]
  return all.sort((a, b) => b[1] - a[1]).filter(([k, v]) => v >= 0.05 || k.startsWith('count')).slice(0, 40)
}

/** A split step's phases in ms (dataParallel.ts StepTiming, clock() times shared by both
 *  workers), medians over the steps; the same phases as bench/node/dataParallelSteps.ts. */
function timelineOf(steps) {
  const rows = steps.map((t, i) => {
    const r = t.replica
    const next = steps[i + 1]
    return {
      'loop: optimizer (the previous step\'s update)': t.prevEnd === null || t.updated == null ? NaN : t.updated - t.prevEnd,
      'loop: between steps (loss reads, events, loop)': t.prevEnd === null || t.updated == null ? NaN : t.start - t.updated,
      'loop: build and split the batch': t.split - t.start,
      'loop: copy out batch and changed weights': t.serialized - t.split,
      'loop: post the request (structured clone)': t.posted - t.serialized,
      'loop: yield a task so the request leaves': t.yielded === undefined ? NaN : t.yielded - t.posted,
      'loop: its half, forward and backward': t.mine - (t.yielded ?? t.posted),
      'loop: waiting for the replica': t.answered - t.mine,
      'loop: combine the halves': t.combined - t.answered,
      'step (start to start)': t.prevEnd === null ? NaN : t.combined - t.prevEnd,
      'replica: request in flight (posted → received)': r ? r.received - t.posted : NaN,
      'replica: assign the changed weights': r ? r.assigned - r.received : NaN,
      'replica: upload the half batch': r ? r.uploaded - r.assigned : NaN,
      'replica: its half, forward and backward': r ? r.computed - r.uploaded : NaN,
      'replica: read out the gradients': r ? r.readOut - r.computed : NaN,
      'replica: answer in flight (read out → answered here)': r ? t.answered - r.readOut : NaN,
      'replica: idle (answered → next request received)': r && next?.replica && next.prevEnd === t.combined ? next.replica.received - r.readOut : NaN,
    }
  })
  const spans = steps.filter((t) => t.prevEnd !== null).map((t) => t.combined - t.prevEnd)
  // The mean step too: the median leaves out the occasional long step (a collection, a loss read).
  const out = { steps: steps.length, rows: steps[0]?.rows, weightBytes: median(steps.map((t) => t.weightBytes)), gradBytes: median(steps.map((t) => t.gradBytes)), meanStepMs: spans.reduce((a, b) => a + b, 0) / Math.max(spans.length, 1), phases: {} }
  for (const k of Object.keys(rows[0] ?? {})) out.phases[k] = median(rows.map((x) => x[k]))
  // Means over the steps where every loop phase is known: the loop's phases partition its step
  // (previous combine → this combine), so their means add up to the mean step exactly, where the
  // medians need not (a phase's occasional long value: a collection, a compile, a slow answer).
  const full = rows.filter((x) => Object.entries(x).every(([k, v]) => !k.startsWith('loop:') || Number.isFinite(v)) && Number.isFinite(x['step (start to start)']))
  out.meanPhases = {}
  out.meanSteps = full.length
  out.raw = rows // every step's phases (the JSON only)
  for (const k of Object.keys(rows[0] ?? {})) {
    const xs = full.map((x) => x[k]).filter(Number.isFinite)
    out.meanPhases[k] = xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN
  }
  return out
}

async function firstClick(mode) {
  const page = await newPage(mode)
  try {
    await page.goto(`${base}?v=2&ep=1`)
    await trainReady(page)
    for (const w of engineWorkers(page)) await w.evaluate((on) => void (globalThis.__studioDataParallelLegacy = on), isBefore(mode)).catch(() => {})
    for (const w of engineWorkers(page)) await w.evaluate((on) => void (globalThis.__studioSerialImageLoads = on), isSerial(mode)).catch(() => {})
    await setOldSwitches(page, mode)
    const load1 = os.loadavg()[0]
    const t0 = Date.now()
    let firstPointSec = NaN
    const { cores } = await browserCores(async () => {
      await page.getByRole('button', { name: 'Train', exact: true }).click()
      await page.waitForFunction(() => Number(document.querySelector('[data-testid="loss-chart"]')?.getAttribute('data-points') ?? 0) > 0, null, { timeout: 180_000, polling: 20 })
      firstPointSec = (Date.now() - t0) / 1000
      await runEnded(page)
    })
    const r = { mode, firstPointSec, runSec: (Date.now() - t0) / 1000, load1, cores, badge: await page.getByTestId('backend-badge').textContent() }
    log(`  ${MODES[mode]}, first click: first point ${f(r.firstPointSec)} s, run ${f(r.runSec, 1)} s, load ${f(load1, 1)}, browser cores ${f(cores)}`)
    return r
  } finally {
    await page.close()
  }
}

/** A gate `n` callers pass together: each waits until all have arrived. */
function pairGate(n) {
  let open
  const opened = new Promise((r) => (open = r))
  let waiting = n
  return () => {
    if (--waiting === 0) open()
    return opened
  }
}
if (opts.trace && modes.includes('half-pair')) throw new Error('--trace records one run at a time: leave half-pair out of --modes')

try {
  for (let round = 0; round < Number(opts.rounds); round++) {
    const order = modes.map((_, i) => modes[(i + round) % modes.length])
    log(`round ${round + 1}: ${order.join(', ')}`)
    for (const mode of order) {
      if (!opts['skip-steps']) for (const model of opts.models.split(',')) {
        if (mode !== 'half-pair') results.steps.push({ round, ...(await stepMs(mode, model)) })
        else {
          // Two half-batch runs at once, each in its own page (its own renderer process, V8 pool
          // and engine worker), started together: what two halves sharing the machine cost by
          // themselves, with no exchange, waiting or update code of the two-worker mode.
          const gate = pairGate(2)
          for (const r of await Promise.all([stepMs(mode, model, gate), stepMs(mode, model, gate)])) results.steps.push({ round, ...r })
        }
      }
      if (!opts['skip-click'] && mode !== 'half-pair') results.clicks.push({ round, ...(await firstClick(mode)) })
    }
  }
} finally {
  await browser.close()
  await server.close()
}

results.machine.loadAtEnd = os.loadavg()
results.seconds = (Date.now() - started) / 1000
const L = [`# CPU modes of the built app side by side (${results.startedAt}, ${f(results.seconds / 60, 1)} min)`, '']
L.push(`\`npm run bench:data-parallel:browser\` (bench/dataParallelBrowser.mjs). Machine: ${results.machine.cpus} × ${results.machine.cpuModel}; ${results.machine.browser}; load average (1 min) ${f(results.machine.loadAtStart[0], 1)} at the start, ${f(results.machine.loadAtEnd[0], 1)} at the end. ${results.machine.priority ? `Priority: ${results.machine.priority}.` : 'No priority: the browser shared the cores with whatever else ran.'} ${opts.rounds} rounds, modes in rotating order; medians over rounds. A run's ms a step: the mean gap between the loop's step starts (engine/train/runControl.ts, read in the page), the first two steps and each epoch's end (validation) left out. "cores" is the CPU time the browser's processes got per second of the run: two workers can only help when it nears 2.`, '')
if (results.steps.length) {
  L.push('| model, full fine-tuning, batch 16 | mode | ms a step (median of runs) | speed vs 1 thread | speed vs 1 worker as before (\`before\` modes: vs \`1 worker, as before\`; \`…-opcnn\` modes: vs 1 worker with the CNN as tf ops; \`…-unfused\` modes: vs 1 worker with the optimizer as tf ops; \`…-nests\` modes: vs 1 worker with the loop nests; \`…-oplm\` modes: vs 1 worker with tiny-lm as tf ops; \`…-serial\` modes: vs 1 worker with the images loaded as before; \`…-old\` modes: vs 1 worker with the --old-switches on) | runs: ms @ load, cores (by thread) |', '|---|---|---|---|---|---|')
  for (const model of opts.models.split(',')) {
    const one = median(results.steps.filter((s) => s.model === model && s.mode === 'one').map((s) => s.msPerStep))
    const oneBefore = median(results.steps.filter((s) => s.model === model && s.mode === 'one-before').map((s) => s.msPerStep))
    const oneOps = median(results.steps.filter((s) => s.model === model && s.mode === 'one-opcnn').map((s) => s.msPerStep))
    const oneUnfused = median(results.steps.filter((s) => s.model === model && s.mode === 'one-unfused').map((s) => s.msPerStep))
    const oneNests = median(results.steps.filter((s) => s.model === model && s.mode === 'one-nests').map((s) => s.msPerStep))
    const oneOpLm = median(results.steps.filter((s) => s.model === model && s.mode === 'one-oplm').map((s) => s.msPerStep))
    const oneSerial = median(results.steps.filter((s) => s.model === model && s.mode === 'one-serial').map((s) => s.msPerStep))
    const oneOld = median(results.steps.filter((s) => s.model === model && s.mode === 'one-old').map((s) => s.msPerStep))
    for (const mode of modes) {
      const rs = results.steps.filter((s) => s.model === model && s.mode === mode)
      const m = median(rs.map((s) => s.msPerStep))
      L.push(`| ${model === 'tiny-lm' ? 'tiny-lm, 64 tokens' : 'emoji-cnn, 32×32 px'} | ${MODES[mode]} | ${f(m, 1)} | ${f(one / m)}× | ${f((isBefore(mode) ? oneBefore : isOpCnn(mode) ? oneOps : isUnfused(mode) ? oneUnfused : isNests(mode) ? oneNests : isOpLm(mode) ? oneOpLm : isSerial(mode) ? oneSerial : isOld(mode) ? oneOld : one) / m)}× | ${rs.map((s) => `${f(s.msPerStep, 0)} @ ${f(s.load1, 1)}, ${f(s.cores)}${s.imageWaitMs == null ? '' : `, images waited ${f(s.imageWaitMs / (s.stepGaps.length + 1), 1)} ms a step`}${isOpCnn(s.mode) ? `, tf ops in workers ${s.cnnOpPathByWorker.join('/')}` : ''}${isOld(s.mode) ? `, old switches in workers ${JSON.stringify(s.oldSwitchesByWorker)}` : ''}${s.threads ? ` (${Object.entries(s.threads).slice(0, 4).map(([k, v]) => `${k} ${f(v)}`).join(', ')})` : ''}`).join('; ')} |`)
    }
  }
  L.push('')
}
if (results.clicks.length) {
  L.push('| first click (`?v=2&ep=1`: the default run, one epoch) | click → first chart point s | click → run complete s | runs: first point / run s @ load, cores |', '|---|---|---|---|')
  for (const mode of modes) {
    const rs = results.clicks.filter((c) => c.mode === mode)
    L.push(`| ${MODES[mode]} | ${f(median(rs.map((c) => c.firstPointSec)))} | ${f(median(rs.map((c) => c.runSec)), 1)} | ${rs.map((c) => `${f(c.firstPointSec)} / ${f(c.runSec, 1)} @ ${f(c.load1, 1)}, ${f(c.cores)}`).join('; ')} |`)
  }
  L.push('')
}
const timed = results.steps.filter((s) => s.timeline)
if (timed.length) {
  L.push('Where a two-worker step goes in the page (the training worker\'s timeline, engine/train/dataParallel.ts: ms, median over each run\'s steps after the first two; one column per run):', '')
  const keys = Object.keys(timed[0].timeline.phases)
  L.push(`| phase | ${timed.map((s) => `${MODES[s.mode]}: ${s.model}, round ${s.round + 1}`).join(' | ')} |`, `|---|${timed.map(() => '---|').join('')}`)
  for (const k of keys) L.push(`| ${k} | ${timed.map((s) => `${f(s.timeline.phases[k], 1)}${s.timeline.meanPhases ? ` (mean ${f(s.timeline.meanPhases[k], 1)})` : ''}`).join(' | ')} |`)
  L.push(`| the loop's phases summed: medians (means) | ${timed.map((s) => `${f(Object.entries(s.timeline.phases).filter(([k]) => k.startsWith('loop:')).reduce((a, [, v]) => a + (Number.isFinite(v) ? v : 0), 0), 1)} (${s.timeline.meanPhases ? f(Object.entries(s.timeline.meanPhases).filter(([k]) => k.startsWith('loop:')).reduce((a, [, v]) => a + (Number.isFinite(v) ? v : 0), 0), 1) : '–'})`).join(' | ')} |`)
  L.push(`| mean step (start to start) | ${timed.map((s) => f(s.timeline.meanStepMs, 1)).join(' | ')} |`)
  L.push(`| rows of each half; MB of weights sent, gradients received a step | ${timed.map((s) => `${s.timeline.rows?.join(' + ')}; ${f(s.timeline.weightBytes / 1e6)}, ${f(s.timeline.gradBytes / 1e6)}`).join(' | ')} |`, '')
}
const traced = results.steps.filter((s) => s.trace)
if (traced.length) {
  L.push('What the browser\'s threads ran (\`--trace\`: a Chrome trace of each training run, from the click to the end; per step = over the run ÷ the steps started; V8\'s pool threads are the ThreadPoolForeground threads, shared by the page and both workers):', '')
  const keys = Object.keys(traced[0].trace.summary)
  L.push(`| per step | ${traced.map((s) => `${MODES[s.mode]}: ${s.model}, round ${s.round + 1}`).join(' | ')} |`, `|---|${traced.map(() => '---|').join('')}`)
  L.push(`| ms a step (mean) | ${traced.map((s) => f(s.msPerStep, 1)).join(' | ')} |`)
  // The second half's figures per step of that half (about half the steps).
  for (const k of keys) L.push(`| ${k} | ${traced.map((s) => f(s.trace.summary[k] / (k.startsWith('second half') ? s.trace.steps / 2 : s.trace.steps), 2)).join(' | ')} |`)
  L.push(`| ThreadPoolForeground cores (from /proc) | ${traced.map((s) => f(s.threads?.ThreadPoolForeg ?? 0)).join(' | ')} |`, '')
}
const badges = [...new Set([...results.steps, ...results.clicks].map((r) => `${MODES[r.mode]}: "${r.badge}"`))]
const windowed = results.steps.filter((s) => s.stepWindow)
if (windowed.length) {
  L.push(
    'While the steps ran (from the third step\'s start to the last\'s, epoch ends inside; /proc every 250 ms): the cores each process\'s threads of one name got, and how long they were runnable without a core (schedstat\'s run-queue wait, per second, summed over those threads). On 2 cores, what the two workers wait for a core is what the browser\'s other threads took from them:',
    '',
    '| run | s | cores: workers | cores: everything else (largest) | workers runnable without a core |',
    '|---|---|---|---|---|',
  )
  for (const s of windowed) {
    const w = s.stepWindow
    const others = Object.entries(w.by).filter(([k]) => k !== 'renderer/DedicatedWorker')
    L.push(`| ${MODES[s.mode]}, ${s.model}, round ${s.round + 1} | ${f(w.sec, 1)} | ${f(w.by['renderer/DedicatedWorker'] ?? 0)} | ${f(others.reduce((a, [, v]) => a + v, 0))} (${others.slice(0, 4).map(([k, v]) => `${k} ${f(v)}`).join(', ')}) | ${f(w.waiting['renderer/DedicatedWorker, waiting for a core'] ?? 0)} |`)
  }
  L.push('')
}
L.push('Badges as shown:', '', ...badges.map((b) => `- ${b}`), '')
const dir = path.join(root, 'bench/results')
await mkdir(dir, { recursive: true })
const stamp = `${results.startedAt.replace(/[:.]/g, '-')}-data-parallel-browser`
await writeFile(path.join(dir, `${stamp}.json`), JSON.stringify(results, null, 2) + '\n')
await writeFile(path.join(dir, `${stamp}.md`), L.join('\n'))
console.log('\n' + L.join('\n'))
log(`wrote bench/results/${stamp}.md`)
