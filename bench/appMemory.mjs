// Memory of the real app in Chromium while it works, for bench sections that drive the page:
// renderer-process RSS from /proc (the page and its worker live there), the worker's
// tf.memory() through Playwright's worker handle, and performance.measureUserAgentSpecificMemory().
import { readFile, readdir } from 'node:fs/promises'

/** Resident memory of this browser's renderer processes (the page and its dedicated worker). */
export async function rendererRssBytes() {
  let total = 0
  for (const pid of await readdir('/proc').catch(() => [])) {
    if (!/^\d+$/.test(pid)) continue
    try {
      const cmd = await readFile(`/proc/${pid}/cmdline`, 'utf8')
      if (!cmd.includes('--type=renderer') || cmd.includes('--extension-process')) continue
      const status = await readFile(`/proc/${pid}/status`, 'utf8')
      const ppid = Number(/PPid:\s+(\d+)/.exec(status)?.[1])
      if (!(await descendsFrom(ppid, process.pid))) continue
      total += Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) * 1024
    } catch {
      /* the process ended */
    }
  }
  return total
}

async function descendsFrom(pid, ancestor) {
  for (let i = 0; i < 8 && pid > 1; i++) {
    if (pid === ancestor) return true
    const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '')
    pid = Number(/PPid:\s+(\d+)/.exec(status)?.[1] ?? 0)
  }
  return pid === ancestor
}

export const uaMemory = (page) =>
  page.evaluate(async () => {
    if (!performance.measureUserAgentSpecificMemory || !crossOriginIsolated) return null
    const timeout = new Promise((r) => setTimeout(() => r(null), 20_000))
    const m = await Promise.race([performance.measureUserAgentSpecificMemory().catch(() => null), timeout])
    return m ? m.bytes : null
  })

/** tf.memory() inside the app's worker (tfjs keeps its engine on the global `_tfengine`). */
async function workerTf(page) {
  // Not the wasm backend's pthread workers (blob: URLs): one blocked on a lock never answers.
  for (const w of page.workers().filter((x) => !x.url().startsWith('blob:'))) {
    const m = await w.evaluate(() => { const e = globalThis._tfengine; return e ? { numBytes: e.memory().numBytes, numTensors: e.memory().numTensors, backend: e.backendName } : null }).catch(() => null)
    if (m) return m
  }
  return null
}

/** Samples memory every ~second while `work` runs; returns its result and the peaks. */
export async function sampled(page, work) {
  const peak = { rss: 0, tfBytes: 0, tfTensors: 0 }
  let running = true
  const loop = (async () => {
    while (running) {
      const [rss, tfm] = await Promise.all([rendererRssBytes(), workerTf(page)])
      peak.rss = Math.max(peak.rss, rss)
      if (tfm) {
        peak.tfBytes = Math.max(peak.tfBytes, tfm.numBytes)
        peak.tfTensors = Math.max(peak.tfTensors, tfm.numTensors)
      }
      await new Promise((r) => setTimeout(r, 1000))
    }
  })()
  try {
    const result = await work()
    const ua = await uaMemory(page) // at the end of the phase, before anything is released
    return { result, peakRendererRssBytes: peak.rss, peakTfBytes: peak.tfBytes, peakTfTensors: peak.tfTensors, uaMemoryAtEndBytes: ua }
  } finally {
    running = false
    await loop
  }
}

export const snapshot = async (page) => ({ rendererRssBytes: await rendererRssBytes(), tf: await workerTf(page), uaMemoryBytes: await uaMemory(page), storage: await page.evaluate(() => navigator.storage.estimate().then((e) => e.usage ?? null)) })

