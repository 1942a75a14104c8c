#!/usr/bin/env node
/**
 * Builds the image sample: OpenMoji emoji (from the `openmoji` npm package, CC BY-SA 4.0)
 * in 5 categories, 40 each, rasterised from their SVGs to 32×32 PNG in headless Chromium,
 * zipped as one folder per class → public/samples/emoji-openmoji.zip, with a card, and
 * listed in public/samples/index.json. Rerunnable: `npm run data:image-samples`.
 *
 * Why OpenMoji: the built-in image model pretrains on the Google (Noto) and Twitter
 * (Twemoji) styles, so OpenMoji's line-art style is one it has not seen.
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { zipSync } from 'fflate'
import { chromium } from 'playwright-core'

const require = createRequire(import.meta.url)
const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const out = join(root, 'public', 'samples')
const pkgDir = dirname(require.resolve('openmoji/package.json'))
const pkg = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8'))

const NAME = 'emoji-openmoji'
const SIZE = 32
const PER_CLASS = 40
const SEED = 20261123
/** Class folder → OpenMoji group. The same top-level categories as emoji-datasource's. */
const CLASSES = {
  animals: 'animals-nature',
  faces: 'smileys-emotion',
  flags: 'flags',
  food: 'food-drink',
  travel: 'travel-places',
}

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

/** Emoji of each class: no skin-tone variants, no OpenMoji extras; a seeded sample. */
export function pickEmoji(all, perClass = PER_CLASS, seed = SEED) {
  const random = mulberry32(seed)
  const picked = {}
  for (const [cls, group] of Object.entries(CLASSES)) {
    const pool = all.filter((e) => e.group === group && !e.skintone && !e.hexcode.includes('-200D-') && !/^extras/.test(e.group)).sort((a, b) => (a.hexcode < b.hexcode ? -1 : 1))
    for (let i = pool.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1))
      ;[pool[i], pool[j]] = [pool[j], pool[i]]
    }
    if (pool.length < perClass) throw new Error(`OpenMoji group ${group} has only ${pool.length} emoji`)
    picked[cls] = pool.slice(0, perClass)
  }
  return picked
}

async function rasterise(svgs) {
  const browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium', args: ['--no-sandbox', '--disable-gpu'] })
  try {
    const page = await browser.newPage()
    return await page.evaluate(
      async ({ svgs, size }) => {
        const canvas = document.createElement('canvas')
        canvas.width = size
        canvas.height = size
        const ctx = /** @type {CanvasRenderingContext2D} */ (canvas.getContext('2d'))
        const result = []
        for (const svg of svgs) {
          const img = new Image()
          img.src = `data:image/svg+xml;base64,${btoa(unescape(encodeURIComponent(svg)))}`
          await img.decode()
          ctx.clearRect(0, 0, size, size)
          ctx.drawImage(img, 0, 0, size, size)
          const blob = await new Promise((res) => canvas.toBlob(res, 'image/png'))
          const bytes = new Uint8Array(await blob.arrayBuffer())
          let bin = ''
          for (const b of bytes) bin += String.fromCharCode(b)
          result.push(btoa(bin))
        }
        return result
      },
      { svgs, size: SIZE },
    )
  } finally {
    await browser.close()
  }
}

async function main() {
  const all = JSON.parse(readFileSync(join(pkgDir, 'data', 'openmoji.json'), 'utf8'))
  const picked = pickEmoji(all)
  const list = Object.entries(picked).flatMap(([cls, emoji]) => emoji.map((e) => ({ cls, e })))
  const svgs = list.map(({ e }) => readFileSync(join(pkgDir, 'color', 'svg', `${e.hexcode}.svg`), 'utf8'))
  const pngs = await rasterise(svgs)
  /** @type {Record<string, Uint8Array>} */
  const files = {}
  list.forEach(({ cls, e }, i) => {
    files[`${NAME}/${cls}/${e.hexcode.toLowerCase()}.png`] = new Uint8Array(Buffer.from(/** @type {string} */ (pngs[i]), 'base64'))
  })
  // A fixed date keeps the zip byte-identical across runs.
  const zip = zipSync(files, { level: 9, mtime: new Date('2026-01-01T00:00:00Z') })
  writeFileSync(join(out, `${NAME}.zip`), zip)

  const classes = Object.fromEntries(Object.entries(picked).map(([c, e]) => [c, e.length]))
  const card = {
    name: NAME,
    title: `OpenMoji emoji in 5 categories (${list.length} images)`,
    file: `${NAME}.zip`,
    task: 'image-classification',
    classes,
    imageSize: `${SIZE}×${SIZE} PNG with transparency`,
    source: { package: `openmoji@${pkg.version}`, original: 'https://openmoji.org', metadata: 'data/openmoji.json (group)' },
    licence: 'CC BY-SA 4.0 (OpenMoji: the open-source emoji and icon project, https://openmoji.org). Attribution: "All emojis designed by OpenMoji – the open-source emoji and icon project. License: CC BY-SA 4.0". Derived images (resized) are shared under the same licence.',
    rows: list.length,
    bytes: zip.length,
    description: `${PER_CLASS} emoji per class from OpenMoji's top-level groups (${Object.entries(CLASSES).map(([c, g]) => `${c} = ${g}`).join(', ')}), skin-tone variants and ZWJ sequences left out, drawn with a fixed seed and rendered from the SVGs at ${SIZE}×${SIZE}. One folder per class inside ${NAME}/. A style the built-in image model (pretrained on Google and Twitter emoji) has not seen.`,
    howBuilt: 'npm run data:image-samples (scripts/build-image-samples.mjs; needs Chromium)',
    hexcodes: Object.fromEntries(Object.entries(picked).map(([c, e]) => [c, e.map((x) => x.hexcode)])),
  }
  writeFileSync(join(out, `${NAME}.card.json`), JSON.stringify(card, null, 2) + '\n')

  // Add or replace this sample's entry; the text samples' entries stay.
  const indexPath = join(out, 'index.json')
  const index = JSON.parse(readFileSync(indexPath, 'utf8'))
  const entry = { name: NAME, title: card.title, file: card.file, card: `${NAME}.card.json`, task: card.task, rows: card.rows, bytes: card.bytes }
  index.datasets = [...index.datasets.filter((d) => d.name !== NAME), entry]
  writeFileSync(indexPath, JSON.stringify(index, null, 2) + '\n')
  console.log(`${NAME}.zip: ${list.length} images in ${Object.keys(CLASSES).length} classes, ${zip.length} bytes`)
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().catch((e) => {
    console.error(e)
    process.exit(1)
  })
}
