import { createServer, type Server } from 'node:http'
import * as tf from '@tensorflow/tfjs'
import { PNG } from 'pngjs'
import { editJson, graphModelFiles, modelFiles, residualModel, tinyImageModel, type ModelFiles } from '../src/engine/models/testModels'
import { expect, test } from './fixtures'

/** Models made here, served from localhost on two other ports: one sends CORS headers, the
 *  other does not. The "slow" folder's shards take 1.5 s each so the progress bar can be seen. */
const CORS_PORT = Number(process.env.PORT ?? 4173) + 1001
const NO_CORS_PORT = CORS_PORT + 1
const folders = new Map<string, ModelFiles>()
const servers: Server[] = []

function serve(port: number, cors: boolean): Promise<void> {
  const server = createServer((req, res) => {
    const [, folder, name] = (req.url ?? '').split('/')
    const bytes = folders.get(folder ?? '')?.get(name ?? '')
    const headers: Record<string, string> = cors ? { 'Access-Control-Allow-Origin': '*' } : {}
    if (!bytes) {
      res.writeHead(404, headers).end('not found')
      return
    }
    res.writeHead(200, { ...headers, 'Content-Length': String(bytes.length), 'Content-Type': name?.endsWith('.json') ? 'application/json' : 'application/octet-stream' })
    if (name?.endsWith('.json') || folder !== 'slow') return void res.end(Buffer.from(bytes))
    setTimeout(() => res.end(Buffer.from(bytes)), 1500)
  })
  servers.push(server)
  return new Promise((ok) => server.listen(port, 'localhost', () => ok()))
}

// The studio's CSP lets model downloads reach only listed hosts (csp.config.ts), so the
// browser asks one of them and the test answers with what the local CORS server sends.
// (Playwright's fulfill skips the browser's CORS check, so the failing case asks the
// no-CORS server directly; the CSP blocks it first, and the alert names both causes.)
const HOST = 'https://storage.googleapis.com'
const at = (folder: string) => `${HOST}/e2e-cors/${folder}/model.json`
// Asked directly: a cross-origin host without CORS headers (and outside the CSP's list).
const direct = (folder: string) => `http://localhost:${NO_CORS_PORT}/${folder}/model.json`

test.beforeAll(async () => {
  await tf.setBackend('cpu')
  const tiny = await modelFiles(tinyImageModel(3), 2)
  folders.set('tiny', tiny)
  folders.set('slow', tiny)
  folders.set('residual', await modelFiles(residualModel(), 1))
  folders.set('graph', graphModelFiles())
  const missing = new Map(tiny)
  missing.delete('group1-shard2of2.bin')
  folders.set('missing', missing)
  folders.set('truncated', new Map(tiny).set('group1-shard2of2.bin', tiny.get('group1-shard2of2.bin')!.slice(0, 7)))
  folders.set(
    'mismatch',
    editJson(tiny, (j) => {
      const w = (j.weightsManifest as { weights: { name: string; shape: number[] }[] }[])[0]!.weights.find((x) => x.name.startsWith('preds/kernel'))!
      w.shape = [12, 5]
    }),
  )
  folders.set(
    'custom',
    editJson(tiny, (j) => {
      ;(j.modelTopology as { config: { layers: { class_name: string }[] } }).config.layers[1]!.class_name = 'FancyNorm'
    }),
  )
  // 4 GB of declared weights: refused from the manifest alone, nothing downloaded.
  folders.set(
    'huge',
    editJson(tiny, (j) => {
      ;(j.weightsManifest as { weights: { name: string; shape: number[]; dtype?: string }[] }[])[0]!.weights.push({ name: 'giant/kernel', shape: [100000, 10000], dtype: 'float32' })
    }),
  )
  await serve(CORS_PORT, true)
  await serve(NO_CORS_PORT, false)
})

test.afterAll(async () => {
  await Promise.all(servers.map((s) => new Promise((ok) => s.close(ok))))
})

async function loadByUrl(page: import('@playwright/test').Page, url: string) {
  const section = page.locator('details.model-load')
  if ((await section.getAttribute('open')) === null) await section.locator('summary').click()
  await page.getByLabel('Model URL (model.json)').fill(url)
  await page.getByRole('button', { name: 'Load model from URL' }).click()
}

test('loads a layers model by URL with progress, by files, and explains every bad input', async ({ studio, page }) => {
  await page.context().route(`${HOST}/e2e-*/**`, async (route) => {
    const u = new URL(route.request().url())
    const [, which, ...rest] = u.pathname.split('/')
    const port = which === 'e2e-cors' ? CORS_PORT : NO_CORS_PORT
    const response = await route.fetch({ url: `http://localhost:${port}/${rest.join('/')}` })
    await route.fulfill({ response })
  })
  await studio.open()
  const title = page.getByTestId('model-title')

  await test.step('by URL, with a download progress bar', async () => {
    await loadByUrl(page, at('slow'))
    await expect(page.getByRole('progressbar', { name: /Downloading the weights of/ })).toBeVisible({ timeout: 20_000 })
    await expect(title).toContainText('tiny_cnn', { timeout: 30_000 })
    await expect(page.getByTestId('model-input')).toContainText('[B, 16, 16, 3]')
    await page.getByText(/^Layers \(/).click()
    await expect(page.getByRole('row', { name: /pw2 Conv2D \[B, 8, 8, 12\] 108/ })).toBeVisible()
    // the sample dataset is text: the studio says this model does not fit it
    await expect(studio.alerts.filter({ hasText: /tiny_cnn reads 16×16 RGB images.*but spam-ham\.csv is a text dataset/ })).toBeVisible()
  })

  await test.step('by files: model.json and its shard chosen together', async () => {
    const files = [...folders.get('residual')!].map(([name, bytes]) => ({ name, mimeType: 'application/octet-stream', buffer: Buffer.from(bytes) }))
    await page.getByLabel(/Model files \(model\.json/).setInputFiles(files)
    await expect(title).toContainText('residual', { timeout: 30_000 })
  })

  await test.step('each bad input: an alert naming what and saying what to do; the model stays', async () => {
    const cases: [string, RegExp][] = [
      [at('graph'), /graph model.*cannot be fine-tuned.*layers-model/],
      [at('missing'), /group1-shard2of2\.bin: the server answered HTTP 404/],
      [at('truncated'), /expected \d+ bytes, got \d+ — group1-shard2of2\.bin is missing or truncated/],
      [at('mismatch'), /Layer preds: the weight preds\/kernel is \[12, 5\] in the weight files but the topology needs \[12, 3\]/],
      [at('custom'), /layer class FancyNorm/],
      [direct('tiny'), /CORS.*Access-Control-Allow-Origin.*security policy/],
      [at('huge'), /budget for one model on this device.*Nothing was downloaded/],
    ]
    for (const [url, message] of cases) {
      await loadByUrl(page, url)
      await expect(studio.alerts.filter({ hasText: message })).toBeVisible({ timeout: 30_000 })
      await expect(title).toContainText('residual')
    }
    const missing = [...folders.get('tiny')!].filter(([n]) => n !== 'group1-shard1of2.bin').map(([name, bytes]) => ({ name, mimeType: 'application/octet-stream', buffer: Buffer.from(bytes) }))
    await page.getByLabel(/Model files \(model\.json/).setInputFiles(missing)
    await expect(studio.alerts.filter({ hasText: /group1-shard1of2\.bin, which was not among the chosen files/ })).toBeVisible({ timeout: 30_000 })
    await expect(title).toContainText('residual')
  })

  await test.step('the playground classifies a chosen image with the loaded model', async () => {
    await loadByUrl(page, at('tiny'))
    await expect(title).toContainText('tiny_cnn', { timeout: 30_000 })
    const png = new PNG({ width: 20, height: 20 })
    png.data.fill(180)
    await page.getByLabel('Image to classify').setInputFiles({ name: 'grey.png', mimeType: 'image/png', buffer: PNG.sync.write(png) })
    const before = page.getByTestId('prediction-before')
    await expect(before.getByRole('listitem')).toHaveCount(3, { timeout: 30_000 })
    const pcts = (await before.locator('.prob').allTextContents()).map((t) => parseFloat(t))
    expect(pcts.reduce((a, b) => a + b, 0)).toBeCloseTo(100, 0)
  })
})
