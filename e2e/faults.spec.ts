import { chromium } from '@playwright/test'
import { expect, smallSpamHam, test } from './fixtures'
import { StudioPage } from './pages/studio'

test('an error inside the worker reaches the page as an alert, and the page stays usable', async ({ studio, page }) => {
  await studio.open('ep=1&sl=32&bs=16&wu=0')
  await page.evaluate(() => (window as unknown as { __crashWorker: () => void }).__crashWorker())
  await expect(studio.alerts.first()).toContainText('Simulated failure inside the worker')
  await expect(studio.alerts.first()).toContainText('crash')
  // Still usable: a run trains after the error.
  await studio.uploadDataset('after-crash.csv', smallSpamHam(40))
  await studio.waitForDataset('after-crash.csv')
  await studio.trainButton.click()
  await studio.waitFinished()
})

test('a bad file gets a clear message naming it, and the loaded dataset stays', async ({ studio, page }) => {
  await studio.open()
  await studio.uploadDataset('empty.csv', '')
  await expect(studio.alerts.first()).toContainText('empty.csv')
  await expect(page.getByTestId('dataset-summary')).toContainText('spam-ham.csv')
  await expect(page.getByTestId('dataset-rows')).toHaveText('600')
})

test('text with HTML and script is shown as text, never run', async ({ studio, page }) => {
  await studio.open()
  const csv = 'text,label\n"<img src=x onerror=window.__pwned=1>hello",a\n"<script>window.__pwned=2</script>",b\n"plain one",a\n"plain two",b\n'
  await studio.uploadDataset('hostile.csv', csv)
  await studio.waitForDataset('hostile.csv')
  await page.getByText('First rows').click()
  await expect(page.locator('table.preview')).toContainText('<script>window.__pwned=2</script>')
  expect(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned)).toBeUndefined()
})

test('a browser with neither WebGPU nor WebGL still trains on the CPU, with a notice', async () => {
  // A separate browser without the WebGPU flags and with WebGL switched off.
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH === undefined ? '/usr/bin/chromium' : process.env.CHROMIUM_PATH || undefined,
    args: ['--no-sandbox', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-webgl', '--disable-3d-apis', '--disable-gpu'],
  })
  try {
    const page = await browser.newPage({ baseURL: test.info().project.use.baseURL })
    const studio = new StudioPage(page)
    await studio.open('ep=1&sl=32&bs=16&wu=0')
    await expect(studio.badge).toContainText('no WebGPU adapter')
    expect(['wasm', 'cpu']).toContain(await studio.backend())
    await expect(page.getByTestId('cpu-notice')).toContainText('No GPU')
    await studio.uploadDataset('cpu.csv', smallSpamHam(40))
    await studio.waitForDataset('cpu.csv')
    await studio.trainButton.click()
    await studio.waitFinished()
    await expect(studio.status).toContainText('Training complete')
  } finally {
    await browser.close()
  }
})
