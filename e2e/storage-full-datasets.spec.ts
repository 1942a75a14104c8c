import { mkdtemp, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { chromium } from '@playwright/test'
import { zipSync } from 'fflate'
import { PNG } from 'pngjs'
import { mulberry32 } from '../src/engine/data/rng'
import { expect, test } from './fixtures'
import { StudioPage } from './pages/studio'

// A real quota through DevTools, as in recovery.spec.ts: set on a blank page of the same
// origin in a persistent profile, before the studio first opens its storage. A dataset too
// big for what is left still loads and trains; the page says in words that it is not kept.

const rand = mulberry32(20261207)
const word = () => Array.from({ length: 6 }, () => String.fromCharCode(97 + Math.floor(rand() * 26))).join('')

/** A PNG of random pixels: it does not compress, so its bytes count against the quota. */
function noisePng(side: number): Buffer {
  const png = new PNG({ width: side, height: side })
  for (let i = 0; i < png.data.length; i++) png.data[i] = i % 4 === 3 ? 255 : Math.floor(rand() * 256)
  return PNG.sync.write(png)
}

test('storage full: a CSV and an image zip too big to keep still load, and the page says they are not kept', async () => {
  const use = test.info().project.use
  const dir = await mkdtemp(path.join(os.tmpdir(), 'studio-quota-data-'))
  const context = await chromium.launchPersistentContext(dir, { ...use.launchOptions, baseURL: use.baseURL })
  try {
    const page = context.pages()[0] ?? (await context.newPage())
    await page.route('**/__blank', (r) => r.fulfill({ status: 200, contentType: 'text/html', body: '<!doctype html><title>blank</title>' }))
    await page.goto('/__blank')
    const cdp = await context.newCDPSession(page)
    // 700 kB: room for the sample and the settings, not for a 1 MB dataset.
    await cdp.send('Storage.overrideQuotaForOrigin', { origin: new URL(page.url()).origin, quotaSize: 700 * 1024 })
    const studio = new StudioPage(page)
    await studio.open()
    const notKept = /is loaded and can be trained on, but the browser's storage for this site is full, so it is not kept: it will not be there after a reload\. To keep it, delete stored datasets, checkpoints or runs/

    await test.step('a 1 MB CSV', async () => {
      const csv = 'text,label\n' + Array.from({ length: 30_000 }, (_, i) => `"${word()} ${word()} ${word()} ${word()}",${i % 2 ? 'spam' : 'ham'}`).join('\n') + '\n'
      await studio.uploadDataset('words.csv', csv)
      await studio.waitForDataset('words.csv')
      await expect(studio.alerts.filter({ hasText: 'words.csv' })).toContainText(notKept)
      await expect(page.getByTestId('dataset-rows')).toHaveText('30,000')
      await expect(page.getByTestId('dataset-summary')).toContainText('Not saved in this browser.')
      await expect(studio.trainButton).toBeEnabled()
    })

    await test.step('a zip of 200 incompressible 32-pixel images (about 850 kB): storage fills after the first batches are written', async () => {
      const files: Record<string, Uint8Array> = {}
      for (let i = 0; i < 200; i++) files[`noise/${i % 2 ? 'left' : 'right'}/${i}.png`] = noisePng(32)
      await studio.uploadDataset('noise.zip', Buffer.from(zipSync(files, { level: 0 })), 'application/zip')
      await studio.waitForDataset('noise.zip')
      await expect(studio.alerts.filter({ hasText: 'noise.zip' })).toContainText(notKept)
      await expect(page.getByTestId('dataset-rows')).toHaveText('200')
      await expect(page.getByTestId('class-balance')).toContainText('left100 (50%)')
      await expect(page.getByTestId('class-balance')).toContainText('right100 (50%)')
      await expect(page.getByTestId('dataset-summary')).toContainText('Not saved in this browser.')
      // The images are there to read: the augmentation preview decodes some of them, the first ones written before storage filled included.
      await page.getByRole('button', { name: 'Preview augmentation' }).click()
      await expect(page.getByRole('img', { name: 'left, as loaded' }).first()).toBeVisible()
      await expect(page.getByRole('img', { name: 'right, as loaded' }).first()).toBeVisible()
    })
  } finally {
    await context.close()
    await rm(dir, { recursive: true, force: true })
  }
})
