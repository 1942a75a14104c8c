import { readFileSync } from 'node:fs'
import { expect, smallSpamHam, test } from './fixtures'

// Export, import, report and share: after a quick run on a small uploaded file.
const QUICK = 'ep=1&sl=32&bs=16&wu=0'

/** A link's settings as plain name → value pairs, without the version (read by hand, not by the app's codec). */
const linkParams = (href: string) => {
  const p = new URL(href).searchParams
  expect(p.get('v') ?? '1').toMatch(/^\d+$/)
  p.delete('v')
  return Object.fromEntries(p)
}

test('a merged export downloads, loads back as the model, and gives the same validation accuracy', async ({ studio, page }) => {
  await studio.open(QUICK)
  const baseTitle = (await page.getByTestId('model-title').locator('strong').innerText()).trim()
  await studio.uploadDataset('small-spam-ham.csv', smallSpamHam(64))
  await studio.waitForDataset('small-spam-ham.csv')
  await studio.trainButton.click()
  await studio.waitFinished()
  const tuned = (await page.getByTestId('tuned-accuracy').textContent())!.trim()
  expect(tuned).toMatch(/^\d+\.\d%$/)

  await test.step('sweep α and keep the best', async () => {
    await page.getByRole('button', { name: 'Sweep α from 0 to 1' }).click()
    await expect(page.getByTestId('sweep-chart')).toHaveAttribute('data-points', '11', { timeout: 120_000 })
    await page.getByRole('button', { name: /Keep best α/ }).click()
    await expect(page.getByTestId('alpha-metrics')).toContainText(/At α = [01]\.\d\d: accuracy \d+\.\d%/)
  })

  const file = await test.step('export the merged model', async () => {
    const download = page.waitForEvent('download')
    await page.getByLabel('Merged model').check()
    await page.getByRole('button', { name: 'Download model (.zip)' }).click()
    const d = await download
    expect(d.suggestedFilename()).toMatch(/^[a-z0-9-]+-merged\.zip$/)
    await expect(page.getByTestId('export-status')).toContainText(d.suggestedFilename())
    return { name: d.suggestedFilename(), buffer: readFileSync((await d.path())!) }
  })
  expect(file.buffer.subarray(0, 2).toString()).toBe('PK')

  await test.step('the printable report opens in a new tab with the run in it', async () => {
    const popup = page.waitForEvent('popup')
    await page.getByRole('button', { name: 'Open printable report' }).click()
    const report = await popup
    await expect(report.locator('h1')).toContainText('small-spam-ham.csv')
    await expect(report.locator('svg')).toHaveCount(3)
  })

  await test.step('load it back through the model file input', async () => {
    await page.getByLabel('Load a fine-tuned model (.zip)').setInputFiles({ name: file.name, mimeType: 'application/zip', buffer: file.buffer })
    await expect(page.getByTestId('imported-model')).toContainText(file.name, { timeout: 60_000 })
    await expect(page.getByTestId('imported-accuracy')).toHaveText(`Validation accuracy ${tuned}.`)
    // the title says it was fine-tuned and from which base, once: not "pretrained", not "— fine-tuned from" again
    await expect(page.getByTestId('model-title').locator('strong')).toHaveText(`${baseTitle} fine-tuned on small-spam-ham.csv`)
    await expect(page.getByTestId('model-title')).toContainText(`${baseTitle} fine-tuned on small-spam-ham.csv — `)
    await expect(page.getByTestId('model-title')).not.toContainText(/fine-tuned from|pretrained/)
  })

  await test.step('a file that is not a studio zip is refused with a clear error', async () => {
    await page.getByLabel('Load a fine-tuned model (.zip)').setInputFiles({ name: 'notes.zip', mimeType: 'application/zip', buffer: Buffer.from('not a zip at all') })
    await expect(page.getByRole('alert')).toContainText('notes.zip is not a zip file')
  })
})

test('Copy link gives a URL that reproduces every changed setting in a new page', async ({ studio, page, context }) => {
  await context.grantPermissions(['clipboard-read', 'clipboard-write'])
  await studio.open(QUICK)
  await page.getByLabel('Optimizer', { exact: true }).selectOption('sgd')
  await page.getByLabel('Schedule', { exact: true }).selectOption('linear')
  await page.getByRole('button', { name: 'Copy link' }).click()
  await expect(page.getByTestId('copy-status')).toHaveText('Link copied.')
  const link = await page.evaluate(() => navigator.clipboard.readText())
  // Only the settings that differ from the defaults (batch 16 is the default), under their URL names (README's settings table).
  const expected = { ep: '1', sl: '32', wu: '0', o: 'sgd', s: 'linear' }
  expect(linkParams(link)).toEqual(expected)

  const other = await context.newPage()
  await other.goto(link)
  await expect(other.getByTestId('link-report')).toContainText('Optimizer sgd')
  for (const [label, value] of [['Epochs', '1'], ['Batch size', '16'], ['Warm-up steps', '0'], ['Optimizer', 'sgd'], ['Schedule', 'linear'], ['Learning rate', '0.001']] as const) {
    await expect(other.getByLabel(label, { exact: true })).toHaveValue(value)
  }
  expect(linkParams(other.url())).toEqual(expected)
})

test('a hostile link is reported, changes nothing but defaults, and runs no script', async ({ page }) => {
  const dialogs: string[] = []
  page.on('dialog', (d) => {
    dialogs.push(d.message())
    void d.dismiss()
  })
  const hostile = [
    'v=2',
    `ep=${encodeURIComponent('<script>window.__pwned=1</script>')}`,
    'lr=1e308',
    'bs=abc',
    `m=${encodeURIComponent('lora"><img src=x onerror="window.__pwned=2">')}`,
    'sl=[32]',
    'zz=1',
    `${encodeURIComponent('<b>x</b>')}=1`,
  ].join('&')
  await page.goto(`/?${hostile}`)
  const report = page.getByTestId('link-report')
  await expect(report).toContainText('Ignored, so left at the default', { timeout: 60_000 })
  await expect(report).toContainText('Learning rate (1e308 is outside')
  await expect(report).toContainText('zz (unknown setting)')
  const html = await report.innerHTML()
  expect(html).not.toContain('<script')
  expect(html).not.toContain('<img')
  expect(await page.locator('img[src="x"]').count()).toBe(0)
  // The defaults (README's settings table): learning rate 0.001, 4 epochs, batch 16, sequence length 64.
  for (const [label, value] of [['Learning rate', '0.001'], ['Epochs', '4'], ['Batch size', '16'], ['Sequence length', '64'], ['Method', 'freeze']] as const) {
    await expect(page.getByLabel(label, { exact: true })).toHaveValue(value)
  }
  expect(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned)).toBeUndefined()
  expect(dialogs).toEqual([])
})

test('an imported model’s record, Export and interpolation go once another model has loaded, and stay when a load fails', async ({ studio, page, baseURL }) => {
  await studio.open(QUICK)
  await studio.uploadDataset('small-spam-ham.csv', smallSpamHam(64))
  await studio.waitForDataset('small-spam-ham.csv')
  await studio.trainButton.click()
  await studio.waitFinished()
  const download = page.waitForEvent('download')
  await page.getByLabel('Merged model').check()
  await page.getByRole('button', { name: 'Download model (.zip)' }).click()
  const d = await download
  const file = { name: d.suggestedFilename(), mimeType: 'application/zip', buffer: readFileSync((await d.path())!) }

  // A fresh page (the same dataset comes back): no run in it, so only the import opens Export and the interpolation.
  await page.reload()
  await studio.waitForDataset('small-spam-ham.csv')
  await expect(studio.trainButton).toBeEnabled({ timeout: 90_000 })
  const title = page.getByTestId('model-title')
  const imported = page.getByTestId('imported-model')
  const exportButton = page.getByRole('button', { name: 'Download model (.zip)' })
  const interpolation = page.getByTestId('interpolate')
  const importZip = async () => {
    await page.getByLabel('Load a fine-tuned model (.zip)').setInputFiles(file)
    await expect(imported).toContainText(`from ${file.name} (merged)`, { timeout: 60_000 })
    await expect(page.getByTestId('imported-accuracy')).toBeVisible()
    await expect(title).toContainText('fine-tuned on small-spam-ham.csv')
    await expect(exportButton).toBeEnabled()
    await expect(interpolation).toBeVisible()
  }
  const loadUrl = async (url: string) => {
    const section = page.locator('details.model-load')
    if ((await section.getAttribute('open')) === null) await section.locator('summary').first().click()
    await page.getByLabel('Model URL (model.json)').fill(url)
    await page.getByRole('button', { name: 'Load model from URL' }).click()
  }
  const tinyLm = (name: string) => ({ name, mimeType: 'application/octet-stream', buffer: readFileSync(new URL(`../public/models/tiny-lm/${name}`, import.meta.url)) })
  const dismiss = page.getByRole('button', { name: 'Dismiss message' })

  await test.step('a model URL that does not load leaves the imported model, its record, Export and the interpolation', async () => {
    await importZip()
    await loadUrl(`${baseURL}/models/no-such-model/model.json`)
    await expect(studio.alerts.first()).toBeVisible({ timeout: 60_000 })
    await expect(title).toContainText('fine-tuned on small-spam-ham.csv')
    await expect(imported).toContainText(`from ${file.name} (merged)`)
    await expect(exportButton).toBeEnabled()
    await expect(interpolation).toBeVisible()
    while ((await dismiss.count()) > 0) await dismiss.first().click()
  })

  const others: [string, () => Promise<void>][] = [
    ['the built-in model', () => page.getByRole('button', { name: /^Tiny LM/ }).click()],
    ['a model URL', () => loadUrl(`${baseURL}/models/tiny-lm/model.json`)],
    ['model files', () => page.getByLabel(/Model files \(model\.json/).setInputFiles([tinyLm('model.json'), tinyLm('weights.bin')])],
  ]
  for (const [what, load] of others) {
    await test.step(`${what} loaded after the import: the page no longer says the import is loaded, and Export and the interpolation close`, async () => {
      await importZip()
      await load()
      await expect(title).not.toContainText('fine-tuned on small-spam-ham.csv', { timeout: 60_000 })
      // soft: each way of loading is checked, also where one before it failed
      await expect.soft(imported).toHaveCount(0)
      await expect.soft(exportButton).toBeDisabled()
      await expect.soft(page.getByText('Train a model first; then download it')).toBeVisible()
      await expect.soft(interpolation).toHaveCount(0)
    })
  }
})

test('after a run, another model loaded: Export, the interpolation and the run’s report close, as for a fresh model; the run’s charts stay', async ({ studio, page, baseURL }) => {
  await studio.open(QUICK)
  await studio.uploadDataset('small-spam-ham.csv', smallSpamHam(64))
  await studio.waitForDataset('small-spam-ham.csv')
  await studio.trainButton.click()
  await studio.waitFinished()
  const exportButton = page.getByRole('button', { name: 'Download model (.zip)' })
  const reportButton = page.getByRole('button', { name: 'Download report (JSON)' })
  const interpolation = page.getByTestId('interpolate')
  await expect(exportButton).toBeEnabled()
  await expect(reportButton).toBeEnabled()
  await expect(interpolation).toBeVisible()
  await expect(page.getByTestId('tuned-accuracy')).toHaveText(/^\d+\.\d%$/)

  // the same tiny LM from its URL: another model id, its pretrained weights, nothing trained on them
  const section = page.locator('details.model-load')
  if ((await section.getAttribute('open')) === null) await section.locator('summary').first().click()
  await page.getByLabel('Model URL (model.json)').fill(`${baseURL}/models/tiny-lm/model.json`)
  await page.getByRole('button', { name: 'Load model from URL' }).click()
  await expect(studio.status).toHaveText('Ready: click Train.', { timeout: 60_000 })

  await expect.soft(exportButton).toBeDisabled()
  await expect.soft(page.getByText('Train a model first; then download it')).toBeVisible()
  await expect.soft(reportButton).toBeDisabled()
  await expect.soft(interpolation).toHaveCount(0)
  // Evaluate compares nothing yet: the base model is measured when the next run starts
  await expect.soft(page.getByTestId('compare')).toHaveCount(0)
  await expect.soft(page.getByText('After you click Train, the base model is measured first')).toBeVisible()
  // the finished run's curves are its history: they stay on the charts (and under Checkpoints and runs)
  expect((await studio.series()).epochs).toHaveLength(1)
  await expect(page.getByTestId('run-item')).toContainText('finished')
})
