// Issue 4's memory figure: 10,000 images through the real app. Builds a zip of small PNGs
// (Google emoji from emoji-datasource-google, 5 categories, each image a randomly shifted,
// scaled and tinted 32×32 copy), uploads it through the page's file input (stored in
// IndexedDB, decoded batch by batch in the worker), loads the built-in emoji CNN and trains
// one epoch head-only, then one epoch with the last block trainable. Memory is sampled
// throughout: renderer-process RSS (/proc; the page and its worker live there), the worker's
// tf.memory() (through Playwright's worker handle) and performance.measureUserAgentSpecificMemory().
import { existsSync, readFileSync } from 'node:fs'
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import path from 'node:path'
import { zipSync } from 'fflate'
import { PNG } from 'pngjs'
import { sampled, snapshot } from './appMemory.mjs'

const require = createRequire(import.meta.url)
const CLASSES = { animals: 'Animals & Nature', faces: 'Smileys & Emotion', flags: 'Flags', food: 'Food & Drink', travel: 'Travel & Places' }

function mulberry32(seed) {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** One 32×32 opaque PNG: emoji `src` (64×64 RGBA) scaled by s, shifted, on a tinted background. */
function variant(src, rand) {
  const S = 32
  const out = new PNG({ width: S, height: S })
  const scale = (0.8 + 0.3 * rand()) * (src.width / S)
  const dx = (rand() - 0.5) * 6
  const dy = (rand() - 0.5) * 6
  const bg = [235 + 20 * rand(), 235 + 20 * rand(), 235 + 20 * rand()]
  const gain = 0.85 + 0.3 * rand()
  for (let y = 0; y < S; y++)
    for (let x = 0; x < S; x++) {
      const sx = Math.round((x - S / 2 - dx) * scale + src.width / 2)
      const sy = Math.round((y - S / 2 - dy) * scale + src.height / 2)
      const o = (y * S + x) * 4
      let r = bg[0], g = bg[1], b = bg[2]
      if (sx >= 0 && sy >= 0 && sx < src.width && sy < src.height) {
        const i = (sy * src.width + sx) * 4
        const a = src.data[i + 3] / 255
        r = r * (1 - a) + Math.min(255, src.data[i] * gain) * a
        g = g * (1 - a) + Math.min(255, src.data[i + 1] * gain) * a
        b = b * (1 - a) + Math.min(255, src.data[i + 2] * gain) * a
      }
      out.data[o] = r
      out.data[o + 1] = g
      out.data[o + 2] = b
      out.data[o + 3] = 255
    }
  return PNG.sync.write(out, { colorType: 2 })
}

/** The zip (cached under node_modules/.bench-images): `count` images, one folder per class. */
export async function imageZip(root, count) {
  const dir = path.join(root, 'node_modules/.bench-images')
  const file = path.join(dir, `emoji-${count}.zip`)
  if (existsSync(file)) return file
  const pkg = path.dirname(require.resolve('emoji-datasource-google/package.json'))
  const all = JSON.parse(readFileSync(path.join(pkg, 'emoji.json'), 'utf8'))
  const have = new Set(await readdir(path.join(pkg, 'img/google/64')))
  const rand = mulberry32(4)
  const sources = {}
  for (const [cls, cat] of Object.entries(CLASSES)) {
    const list = all.filter((e) => e.category === cat && e.has_img_google && have.has(e.image)).slice(0, 60)
    sources[cls] = await Promise.all(list.map(async (e) => PNG.sync.read(await readFile(path.join(pkg, 'img/google/64', e.image)))))
  }
  const files = {}
  const names = Object.keys(CLASSES)
  for (let i = 0; i < count; i++) {
    const cls = names[i % names.length]
    const pool = sources[cls]
    files[`${cls}/${String(i).padStart(5, '0')}.png`] = [variant(pool[Math.floor(rand() * pool.length)], rand), { level: 0 }]
  }
  await mkdir(dir, { recursive: true })
  await writeFile(file, zipSync(files))
  return file
}

/** The whole section: `url` serves the built app (vite preview, cross-origin isolated). */
export async function benchImages(browser, url, { root, count = 10_000, log = console.log }) {
  const zip = await imageZip(root, count)
  const zipBytes = (await readFile(zip)).length
  const context = await browser.newContext() // empty IndexedDB
  const page = await context.newPage()
  const out = { count, zipBytes, via: 'the built app in Chromium: zip uploaded through the page\'s file input, stored in IndexedDB, decoded batch by batch in the worker' }
  try {
    await page.goto(url)
    const train = page.getByRole('button', { name: 'Train', exact: true })
    await page.getByTestId('model-title').waitFor({ timeout: 120_000 })
    out.backend = await page.getByTestId('backend-badge').getAttribute('data-backend')
    out.before = await snapshot(page)
    log(`  images: uploading ${count} images (${(zipBytes / 1e6).toFixed(1)} MB zip)`)
    let t = Date.now()
    const name = path.basename(zip)
    out.upload = await sampled(page, async () => {
      await page.getByLabel(/Your own file/).setInputFiles(zip)
      await page.getByTestId('dataset-summary').filter({ hasText: name }).waitFor({ timeout: 600_000 })
      return { seconds: (Date.now() - t) / 1000 }
    })
    out.afterUpload = await snapshot(page)
    out.indexedDbBytes = out.afterUpload.storage - out.before.storage
    await page.getByText('Load a model', { exact: true }).click()
    await page.getByLabel('Model URL (model.json)').fill(new URL('models/emoji-cnn/model.json', url).href)
    await page.getByRole('button', { name: 'Load model from URL' }).click()
    await page.getByTestId('model-title').filter({ hasText: 'Emoji CNN' }).waitFor({ timeout: 120_000 })
    out.runs = []
    for (const run of [{ label: 'head only', method: 'Head only (linear probe)' }, { label: 'last block (6 of 7 frozen)', method: 'Freeze early blocks', frozen: '6' }]) {
      await page.getByLabel('Method', { exact: true }).selectOption({ label: run.method })
      if (run.frozen) await page.getByLabel('Frozen blocks', { exact: true }).fill(run.frozen)
      await page.getByLabel('Epochs', { exact: true }).fill('1')
      await page.getByLabel('Epochs', { exact: true }).blur()
      await train.waitFor({ state: 'visible' })
      await page.waitForFunction(() => { const b = [...document.querySelectorAll('button')].find((x) => x.textContent === 'Train'); return b && !b.disabled }, null, { timeout: 60_000 })
      log(`  images: training one epoch, ${run.label}`)
      t = Date.now()
      const r = await sampled(page, async () => {
        await train.click()
        await page.getByTestId('run-status').filter({ hasText: /Training complete|Stopped early|Training stopped|diverged/ }).waitFor({ timeout: 900_000 })
        return { seconds: (Date.now() - t) / 1000, status: await page.getByTestId('run-status').textContent(), progress: await page.getByTestId('progress').textContent().catch(() => '') }
      })
      const sps = /([\d.]+) samples\/s/.exec(r.result.progress ?? '')
      out.runs.push({ ...run, ...r, uiSamplesPerSec: sps ? Number(sps[1]) : null, after: await snapshot(page) })
    }
    const split = await page.getByTestId('dataset-summary').textContent()
    out.summary = split?.replace(/\s+/g, ' ').slice(0, 300)
    return out
  } finally {
    await context.close()
  }
}
