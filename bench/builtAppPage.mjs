// What the benches that drive the built app in Chromium share (bench/dataParallelBrowser.mjs,
// bench/blendSweepBrowser.mjs): the bench's and its browser's processes and the CPU time they
// used (Linux /proc), their scheduling priority (--priority), and opening the page ready to train
// a built-in model.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs'

/** This process and every process it started (the browser's), from Linux /proc. */
export function tree(pid = process.pid) {
  const out = []
  const walk = (p) => {
    out.push(p)
    try {
      for (const t of readdirSync(`/proc/${p}/task`)) {
        const kids = readFileSync(`/proc/${p}/task/${t}/children`, 'utf8').trim()
        for (const k of kids ? kids.split(' ') : []) walk(Number(k))
      }
    } catch {
      // gone
    }
  }
  walk(pid)
  return out
}

/** CPU seconds the bench and its browser have used (user + system, all threads). */
export function treeCpuSeconds() {
  let total = 0
  for (const p of tree()) {
    try {
      const stat = readFileSync(`/proc/${p}/stat`, 'utf8')
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      total += (Number(fields[11]) + Number(fields[12])) / 100
    } catch {
      // gone
    }
  }
  return total
}

/** --priority: each session is its own scheduling group (autogroup); the bench's and the
 *  browser's at nice -20. Returns what to record as the results' machine.priority. */
export function raisePriority() {
  try {
    for (const p of tree()) writeFileSync(`/proc/${p}/autogroup`, '-20')
    return 'autogroup nice -20 for the bench and the browser'
  } catch (e) {
    return `refused: ${e.message}`
  }
}

/** Waits until the page's Train button is enabled. */
export const trainReady = (page) => page.waitForFunction(() => { const b = [...document.querySelectorAll('button')].find((x) => x.textContent === 'Train'); return b && !b.disabled }, null, { timeout: 180_000 })

/** Opens the built app at `base` + `query` ready to train: for emoji-cnn, with the sample emoji
 *  set and the built-in CNN loaded by its URL (tiny-lm is the page's default model). */
export async function openToTrain(page, base, query, model) {
  await page.goto(`${base}${query}`)
  await trainReady(page)
  if (model === 'emoji-cnn') {
    await page.getByLabel('Sample dataset').selectOption('emoji-openmoji.zip')
    await page.getByTestId('dataset-summary').filter({ hasText: 'emoji-openmoji.zip' }).waitFor({ timeout: 60_000 })
    await page.getByText('Load a model', { exact: true }).click()
    await page.getByLabel('Model URL (model.json)').fill(`${base}models/emoji-cnn/model.json`)
    await page.getByRole('button', { name: 'Load model from URL' }).click()
    await page.getByTestId('model-title').filter({ hasText: 'Emoji CNN' }).waitFor({ timeout: 120_000 })
    await trainReady(page)
  }
}
