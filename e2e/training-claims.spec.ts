import { readFileSync } from 'node:fs'
import type { Page } from '@playwright/test'
import { expect, smallSpamHam, test } from './fixtures'

// README claims about training, each shown in a real run in the page with small data.

test('early stopping ends the run early, the message counts the epochs really run, and restore-best keeps the best epoch', async ({ studio, page }) => {
  // Full fine-tuning at a high rate on 40 rows: validation loss soon stops improving; patience 1.
  await studio.open('m=full&lr=0.003&ep=12&es=1&sl=32&bs=8&wu=0')
  await studio.uploadDataset('early.csv', smallSpamHam(50))
  await studio.waitForDataset('early.csv')
  await studio.trainButton.click()
  const text = await studio.waitEnded(180_000)
  test.info().annotations.push({ type: 'result', description: text })
  const m = /^Stopped early \(validation stopped improving\) — (\d+) epochs?,/.exec(text)
  expect(m, text).not.toBeNull()
  const ran = Number(m![1])
  const { epochs } = await studio.series()
  // The number in the message is the epochs that ran (one validation point each), not the 12 set.
  expect(epochs).toHaveLength(ran)
  expect(ran).toBeGreaterThanOrEqual(2)
  expect(ran).toBeLessThan(12)
  await expect(page.getByTestId('progress')).toContainText(`epoch ${ran} / 12`)

  // Patience 1: the last epoch did not improve on the best one before it.
  const losses = epochs.map((e) => e.valLoss)
  const best = Math.min(...losses)
  expect(losses.at(-1)!).toBeGreaterThanOrEqual(best)
  // Restore best: the fine-tuned loss in the Evaluate panel is the best epoch's, not the last one's.
  const lossRow = page.getByTestId('compare').getByRole('row', { name: /^Loss/ })
  const tunedLoss = Number(await lossRow.getByRole('cell').nth(1).innerText())
  test.info().annotations.push({ type: 'val losses', description: `${losses.map((l) => l.toFixed(4)).join(', ')}; shown ${tunedLoss}` })
  expect(Math.abs(tunedLoss - best)).toBeLessThanOrEqual(0.0005 + 1e-9)
  if (losses.at(-1)! - best > 0.002) expect(Math.abs(tunedLoss - losses.at(-1)!)).toBeGreaterThan(0.001)
})

/** The class probabilities one side of the playground shows, as name → percent. */
async function shownProbabilities(page: Page, which: 'before' | 'after'): Promise<Record<string, number>> {
  const rows = page.getByTestId(`prediction-${which}`).getByRole('listitem')
  await expect(rows.first()).toBeVisible({ timeout: 60_000 })
  const out: Record<string, number> = {}
  for (const r of await rows.all()) out[(await r.locator('.bar-label').innerText()).trim()] = Number((await r.locator('.prob').innerText()).replace('%', ''))
  return out
}

async function classify(page: Page, text: string): Promise<Record<string, number>> {
  await page.getByLabel('Text to classify').fill(text)
  const before = await page.getByTestId('prediction-after').innerText()
  await page.getByRole('button', { name: 'Classify' }).click()
  await expect(page.getByRole('button', { name: 'Classify' })).toBeEnabled({ timeout: 60_000 })
  await expect.poll(async () => (await page.getByTestId('prediction-after').getByRole('listitem').count()) > 0 && (await page.getByTestId('prediction-after').innerText()) !== before, { timeout: 60_000 }).toBe(true)
  return shownProbabilities(page, 'after')
}

const SPAMMY = 'Congratulations! You have won a FREE prize. Click here now to claim your cash reward, limited offer!!!'

test('text classification: the confusion matrix agrees with the split and the accuracy, and the playground answers before and after', async ({ studio, page }) => {
  await studio.open('ep=1&sl=32&bs=16&wu=0')
  await studio.uploadDataset('cls.csv', smallSpamHam(64))
  await studio.waitForDataset('cls.csv')
  // Validation examples per class, as the data panel's split table states them.
  const split: Record<string, number> = {}
  for (const row of await page.getByTestId('split-summary').locator('tbody tr').all()) {
    const cells = await row.locator('td').allInnerTexts()
    split[cells[0]!.trim()] = Number(cells[2])
  }
  expect(Object.keys(split).sort()).toEqual(['ham', 'spam'])
  await studio.trainButton.click()
  await studio.waitFinished()

  await test.step('the confusion matrix: one row per true class, rows summing to the validation counts, diagonal over total = the accuracy shown', async () => {
    const matrix = page.getByRole('table', { name: /Confusion matrix/ })
    await expect(matrix).toBeVisible()
    await expect(matrix.getByRole('columnheader')).toHaveText(['ham', 'spam'])
    let diag = 0
    let total = 0
    for (const [i, cls] of ['ham', 'spam'].entries()) {
      const row = matrix.locator('tbody tr').filter({ has: page.getByRole('rowheader', { name: cls, exact: true }) })
      const cells = (await row.getByRole('cell').allInnerTexts()).map(Number)
      expect(cells).toHaveLength(2)
      expect(cells[0]! + cells[1]!).toBe(split[cls])
      diag += cells[i]!
      total += cells[0]! + cells[1]!
    }
    await expect(page.getByTestId('tuned-accuracy')).toHaveText(`${((100 * diag) / total).toFixed(1)}%`)
  })

  await test.step('the playground: class probabilities of the base model and the tuned one, each summing to 100 %', async () => {
    const after = await classify(page, SPAMMY)
    const before = await shownProbabilities(page, 'before')
    for (const side of [before, after]) {
      expect(Object.keys(side).sort()).toEqual(['ham', 'spam'])
      expect(Math.abs(side.ham! + side.spam! - 100)).toBeLessThanOrEqual(0.11)
    }
    expect(after).not.toEqual(before) // fine-tuning changed the answer
  })
})

test('LoRA: the adapter-only and the interpolated export each load back into a fresh page and answer like the model they came from', async ({ studio, page }) => {
  await studio.open('m=lora&lr=0.003&ep=1&sl=32&bs=16&wu=0')
  await studio.uploadDataset('lora.csv', smallSpamHam(64))
  await studio.waitForDataset('lora.csv')
  await studio.trainButton.click()
  await studio.waitFinished()
  const tunedAccuracy = (await page.getByTestId('tuned-accuracy').innerText()).trim()
  const tunedAnswer = await classify(page, SPAMMY)

  const download = async (choice: 'Adapter only' | 'Interpolated at the kept α') => {
    const d = page.waitForEvent('download')
    await page.getByLabel(choice).check()
    await page.getByRole('button', { name: 'Download model (.zip)' }).click()
    const file = await d
    return { name: file.suggestedFilename(), mimeType: 'application/zip', buffer: readFileSync((await file.path())!) }
  }
  const adapter = await download('Adapter only')

  // Keep the best α from a sweep; the page now answers with θ(α).
  await page.getByRole('button', { name: 'Sweep α from 0 to 1' }).click()
  await expect(page.getByTestId('sweep-chart')).toHaveAttribute('data-points', '11', { timeout: 120_000 })
  await page.getByRole('button', { name: /Keep best α/ }).click()
  await expect(page.getByTestId('alpha-metrics')).toContainText(/At α = [01]\.\d\d: accuracy \d+\.\d%/)
  const kept = /At α = ([01]\.\d\d): accuracy (\d+\.\d%)/.exec(await page.getByTestId('alpha-metrics').innerText())!
  test.info().annotations.push({ type: 'kept α', description: kept[1]! })
  const interpolatedAnswer = await classify(page, SPAMMY)
  const interpolated = await download('Interpolated at the kept α')
  expect(adapter.name).not.toBe(interpolated.name)

  // A fresh page: a new worker with only the base model, then each file through the file input.
  await page.reload()
  await expect(studio.trainButton).toBeEnabled({ timeout: 90_000 })
  const fileInput = page.getByLabel('Load a fine-tuned model (.zip)')
  await test.step('adapter-only, applied to the loaded base model', async () => {
    await fileInput.setInputFiles(adapter)
    await expect(page.getByTestId('imported-model')).toContainText(`${adapter.name} (adapter)`, { timeout: 60_000 })
    await expect(page.getByTestId('imported-accuracy')).toHaveText(`Validation accuracy ${tunedAccuracy}.`)
    expect(await classify(page, SPAMMY)).toEqual(tunedAnswer)
  })
  await test.step('interpolated at the kept α', async () => {
    await fileInput.setInputFiles(interpolated)
    await expect(page.getByTestId('imported-model')).toContainText(`${interpolated.name} (interpolated)`, { timeout: 60_000 })
    await expect(page.getByTestId('imported-accuracy')).toHaveText(`Validation accuracy ${kept[2]}.`)
    expect(await classify(page, SPAMMY)).toEqual(interpolatedAnswer)
  })
})

test('language modelling on the Moby-Dick sample, set up with the Quick check preset: the loss falls, perplexity is shown, and the playground generates text', async ({ studio, page }) => {
  await studio.open()
  await page.getByLabel('Sample dataset').selectOption('moby-dick-excerpt.txt')
  await studio.waitForDataset('moby-dick-excerpt.txt')
  await expect(page.getByTestId('dataset-summary')).toContainText('language modelling')
  // A run over the whole excerpt takes about a minute here: train on its first 40 kB (chapters 1–4).
  const text = readFileSync(new URL('../public/samples/moby-dick-excerpt.txt', import.meta.url), 'utf8')
  const part = text.slice(0, text.indexOf('\n', 40_000))
  await studio.uploadDataset('moby-dick-part.txt', part, 'text/plain')
  await studio.waitForDataset('moby-dick-part.txt')
  await expect(page.getByTestId('dataset-summary')).toContainText('language modelling')

  await test.step('the Quick check preset, applied from the settings panel, sets its values (presets.ts by hand)', async () => {
    await page.getByLabel('Preset', { exact: true }).selectOption({ label: 'Quick check' })
    for (const [label, value] of [['Epochs', '1'], ['Sequence length', '32'], ['Batch size', '32'], ['Warm-up steps', '0'], ['Learning rate', '0.001']] as const) {
      await expect(page.getByLabel(label, { exact: true })).toHaveValue(value)
    }
    await expect(page.getByLabel('Preset', { exact: true })).toHaveValue('quick-check')
    await expect.poll(() => Object.fromEntries(new URL(page.url()).searchParams)).toMatchObject({ ep: '1', sl: '32', bs: '32', wu: '0' })
  })
  // The base model was pretrained on the whole novel: a higher rate makes it adapt to these
  // chapters within one short epoch; batches of 16 give enough steps to see the loss fall.
  await page.getByLabel('Learning rate', { exact: true }).fill('0.005')
  await page.getByLabel('Batch size', { exact: true }).fill('16')
  await expect.poll(() => new URL(page.url()).searchParams.get('lr')).toBe('0.005')

  await expect(studio.trainButton).toBeEnabled({ timeout: 30_000 })
  await test.step('train', async () => {
    await studio.trainButton.click()
    await studio.waitFinished(180_000)
  })
  const done = /^Training complete — 1 epoch, best validation perplexity ([\d,.]+)/.exec(await studio.status.innerText())
  expect(done, 'the finished message names one epoch and the perplexity').not.toBeNull()

  await test.step('the training loss falls', async () => {
    // A chart point is the mean loss of about a quarter second of steps (fineTune.ts), so how
    // many points a run gets depends on the machine's speed: 12 here, 9 in a loaded CI run.
    const losses = (await studio.series()).steps.map((s) => s.loss)
    expect(losses.length).toBeGreaterThanOrEqual(6)
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length
    test.info().annotations.push({ type: 'loss', description: `${losses.length} points, first ${losses[0]!.toFixed(3)}, last ${losses.at(-1)!.toFixed(3)}` })
    const third = Math.floor(losses.length / 3)
    expect(mean(losses.slice(-third))).toBeLessThan(mean(losses.slice(0, third)))
  })

  await test.step('perplexity: base and fine-tuned, lower after, and exp(validation loss)', async () => {
    const compare = page.getByTestId('compare')
    const row = async (name: RegExp) => (await compare.getByRole('row', { name }).getByRole('cell').allInnerTexts()).map((t) => Number(t.replace(/,/g, ''))) // "1,234.567"
    const [baseLoss, tunedLoss] = await row(/^Loss/)
    const [basePpl, tunedPpl] = await row(/^Perplexity/)
    test.info().annotations.push({ type: 'perplexity', description: `base ${basePpl}, tuned ${tunedPpl}` })
    expect(tunedPpl).toBeLessThan(basePpl!)
    expect(Math.abs(Number(done![1]!.replace(/,/g, '')) - tunedPpl!)).toBeLessThanOrEqual(0.01) // the message and the table agree
    // Shown to 3 and 2 decimals: allow for that rounding.
    expect(Math.abs(Math.exp(baseLoss!) - basePpl!) / basePpl!).toBeLessThan(0.002)
    expect(Math.abs(Math.exp(tunedLoss!) - tunedPpl!) / tunedPpl!).toBeLessThan(0.002)
  })

  await test.step('the playground continues a prompt with the base and the fine-tuned model', async () => {
    // exact: the LM objectives' radios mention prompts in their labels too
    await page.getByLabel('Prompt', { exact: true }).fill('Call me Ishmael. Some years ago')
    await page.getByLabel('Tokens to generate').fill('12')
    await page.getByRole('button', { name: 'Generate', exact: true }).click()
    await expect(page.getByRole('button', { name: 'Stop generating' })).toBeDisabled({ timeout: 90_000 })
    for (const which of ['before', 'after'] as const) {
      const text = await page.getByTestId(`generation-${which}`).locator('.generated').innerText()
      expect(text.startsWith('Call me Ishmael. Some years ago')).toBe(true)
      expect(text.length, `${which}: generated text`).toBeGreaterThan('Call me Ishmael. Some years ago'.length + 5)
    }
  })
})

test('presets applied from the settings panel set their own values and reset the rest; editing one makes it Custom', async ({ studio, page }) => {
  await studio.open('ep=7&do=0.3')
  const preset = page.getByLabel('Preset', { exact: true })
  const expectValues = async (values: [string, string][]) => {
    for (const [label, value] of values) await expect(page.getByLabel(label, { exact: true }), label).toHaveValue(value)
  }
  // Values from presets.ts and the README's settings table, by hand.
  await preset.selectOption({ label: 'LoRA r=8' })
  await expectValues([['Method', 'lora'], ['LoRA rank', '8'], ['LoRA alpha', '16'], ['Learning rate', '0.002'], ['Weight decay', '0'], ['Epochs', '4'], ['Dropout', '0.1']])
  await expect.poll(() => Object.fromEntries(new URL(page.url()).searchParams)).toMatchObject({ m: 'lora', lr: '0.002', wd: '0' })
  await preset.selectOption({ label: 'Head only (linear probe)' })
  await expectValues([['Method', 'head'], ['Learning rate', '0.003'], ['Epochs', '6'], ['Warm-up steps', '0'], ['Dropout', '0'], ['Weight decay', '0.01']])
  await expect(preset).toHaveValue('head-only')
  await page.getByLabel('Epochs', { exact: true }).fill('2')
  await expect(preset.locator('option:checked')).toHaveText('Custom')
})

test('"Keep my data": refused, the page says the browser may clear it; granted, the browser keeps this site\'s data across a reload', async ({ studio, page, browser }) => {
  await studio.open()
  const keep = page.getByRole('button', { name: 'Keep my data' })
  await expect(keep).toBeVisible()
  // A fresh profile has no reason to be granted persistence: Chromium refuses.
  await keep.click()
  await expect(page.getByText('The browser may clear stored data under storage pressure.')).toBeVisible()
  expect(await page.evaluate(() => navigator.storage.persisted())).toBe(false)

  // The permission a person grants (or Chromium grants an installed or bookmarked site), set through DevTools.
  const { targetInfo } = await (await page.context().newCDPSession(page)).send('Target.getTargetInfo')
  const cdp = await browser.newBrowserCDPSession()
  await cdp.send('Browser.grantPermissions', { origin: new URL(page.url()).origin, permissions: ['durableStorage'], ...(targetInfo.browserContextId ? { browserContextId: targetInfo.browserContextId } : {}) })
  await keep.click()
  await expect(page.getByTestId('persisted')).toHaveText("Kept: the browser will not clear this site's data to free space.")
  expect(await page.evaluate(() => navigator.storage.persisted())).toBe(true)
  await page.reload()
  await expect(page.getByTestId('persisted')).toBeVisible({ timeout: 60_000 })
  await expect(keep).toHaveCount(0)
})
