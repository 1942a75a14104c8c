// Dataset parsing as a person meets it: a generated 100 MB CSV chosen in the built app's file
// input, streamed and parsed in the worker, checked and kept in IndexedDB. Times the upload
// until the page shows the row count, samples the renderer's memory throughout (page and
// worker), and records the main thread's long tasks meanwhile (parsing must stay off it).
import { existsSync } from 'node:fs'
import { mkdir, stat, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { sampled, snapshot } from './appMemory.mjs'

/** `megabytes` of "text,label" rows: quoted text with commas and escaped quotes, two labels. */
export async function csvFile(root, megabytes) {
  const dir = path.join(root, 'node_modules/.bench-csv')
  const file = path.join(dir, `generated-${megabytes}mb.csv`)
  if (existsSync(file)) return file
  const words = 'the whale ship sea captain harpoon ocean deck sail storm water boat crew voyage night'.split(' ')
  let seed = 7
  const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32)
  const lines = ['text,label']
  let size = 11
  while (size < megabytes * 1024 * 1024) {
    const n = 8 + Math.floor(rand() * 40)
    const text = Array.from({ length: n }, () => words[Math.floor(rand() * words.length)]).join(' ')
    const line = `"${text}, said ""he""",${rand() < 0.5 ? 'spam' : 'ham'}`
    lines.push(line)
    size += line.length + 1
  }
  await mkdir(dir, { recursive: true })
  await writeFile(file, lines.join('\n') + '\n')
  return file
}

export async function benchCsvUpload(browser, url, { root, megabytes = 100, log = console.log }) {
  const file = await csvFile(root, megabytes)
  const bytes = (await stat(file)).size
  const context = await browser.newContext() // empty IndexedDB
  const page = await context.newPage()
  try {
    await page.addInitScript(() => {
      window.__longTasks = []
      new PerformanceObserver((list) => { for (const e of list.getEntries()) window.__longTasks.push({ start: e.startTime, ms: e.duration }) }).observe({ type: 'longtask', buffered: true })
    })
    await page.goto(url)
    await page.getByTestId('dataset-rows').waitFor({ timeout: 120_000 })
    const before = await snapshot(page)
    const since = await page.evaluate(() => performance.now())
    const name = path.basename(file)
    log(`  csv: uploading ${(bytes / 1e6).toFixed(0)} MB through the page`)
    const t = Date.now()
    const r = await sampled(page, async () => {
      await page.getByLabel(/Your own file/).setInputFiles(file)
      await page.getByTestId('dataset-summary').filter({ hasText: name }).waitFor({ timeout: 900_000 })
      return { seconds: (Date.now() - t) / 1000, rows: Number((await page.getByTestId('dataset-rows').textContent())?.replace(/,/g, '')) }
    })
    const after = await snapshot(page)
    const tasks = await page.evaluate((from) => window.__longTasks.filter((x) => x.start >= from), since)
    return {
      via: 'the built app: file input → streamed parse in the worker → checks → IndexedDB; timed until the page shows the dataset',
      megabytes: bytes / 1e6,
      rows: r.result.rows,
      seconds: r.result.seconds,
      mbPerSec: bytes / 1e6 / r.result.seconds,
      rendererRssBeforeBytes: before.rendererRssBytes,
      peakRendererRssBytes: r.peakRendererRssBytes,
      rendererRssAfterBytes: after.rendererRssBytes,
      uaMemoryAtEndBytes: r.uaMemoryAtEndBytes,
      indexedDbBytes: after.storage - before.storage,
      longTasks: tasks.length,
      longestMainThreadTaskMs: Math.max(0, ...tasks.map((x) => x.ms)),
    }
  } finally {
    await context.close()
  }
}
