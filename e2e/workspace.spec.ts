import { mkdirSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import AxeBuilder from '@axe-core/playwright'
import type { Page } from '@playwright/test'
import { deleteAsksFirst, expect, smallSpamHam, test } from './fixtures'

// The beginner view: "Advanced" starts folded, as on a first visit.
test.use({ advancedOpen: false })

/** The run the README's wide picture shows: the sample and the built-in model at the default
 *  method (the last block trains), three epochs over 32 tokens. */
const README_RUN = 'ep=3&sl=32&wu=0&lr=0.003'

// The README's pictures are rewritten only when asked: `UPDATE_SCREENSHOTS=1 npx playwright
// test e2e/workspace.spec.ts` (a normal run checks the same pages but leaves docs/ alone).
const UPDATE_SCREENSHOTS = process.env.UPDATE_SCREENSHOTS === '1'
async function readmeScreenshot(page: Page, name: string) {
  if (!UPDATE_SCREENSHOTS) return
  const dir = fileURLToPath(new URL('../docs/', import.meta.url))
  mkdirSync(dir, { recursive: true })
  await page.screenshot({ path: `${dir}${name}` })
}

async function axeViolations(page: Page): Promise<string[]> {
  const { violations } = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']).analyze()
  return violations.map((v) => `${v.impact} ${v.id}: ${v.nodes.map((n) => n.target.join(' ')).slice(0, 3).join(', ')}`)
}

const scrollTo = (page: Page, where: 'bottom' | 'middle') =>
  page.evaluate((w) => window.scrollTo(0, w === 'bottom' ? document.documentElement.scrollHeight : document.documentElement.scrollHeight / 2), where)

test('wide screen (1280×800): run bar always in view, steps with their state, settings beside the live loss chart', async ({ studio, page }) => {
  await page.setViewportSize({ width: 1280, height: 800 })
  await studio.open()

  await test.step('Train, the status, and the backend are in view at load, without scrolling', async () => {
    expect(await page.evaluate(() => window.scrollY)).toBe(0)
    await expect(studio.trainButton).toBeInViewport({ ratio: 1 })
    await expect(studio.status).toHaveText('Ready: click Train.')
    await expect(studio.badge).toBeInViewport()
  })

  await test.step('the steps column says what is done and what is not yet', async () => {
    const nav = page.getByRole('navigation', { name: 'Steps' })
    await expect(nav).toBeInViewport()
    await expect(nav.getByRole('link')).toHaveCount(8)
    await expect(page.getByTestId('step-data')).toHaveAttribute('data-state', 'done')
    await expect(page.getByTestId('step-model')).toHaveAttribute('data-state', 'done')
    await expect(page.getByTestId('step-settings')).toHaveAttribute('data-state', 'done')
    await expect(page.getByTestId('step-train')).toContainText('not yet')
    await expect(page.getByTestId('step-export')).toContainText('not yet')
  })

  await test.step('a hyperparameter and the loss chart share the view; Train stays in view', async () => {
    await nav(page, 'Method and settings')
    const lr = page.getByLabel('Learning rate', { exact: true })
    await expect(lr).toBeInViewport({ ratio: 1 })
    await expect(page.getByTestId('loss-chart')).toBeInViewport({ ratio: 1 })
    await expect(studio.trainButton).toBeInViewport({ ratio: 1 })
    expect(await page.evaluate(() => window.scrollY)).toBeGreaterThan(300)
    await expect(page.getByRole('navigation', { name: 'Steps' }).getByRole('link', { name: /Method and settings/ })).toHaveAttribute('aria-current', 'step')
  })

  await test.step('a setting that makes training impossible marks its step as needing attention', async () => {
    const batch = page.getByLabel('Batch size', { exact: true })
    await batch.fill('512') // more than the 480 training examples of the sample
    await expect(page.getByTestId('step-settings')).toHaveAttribute('data-state', 'attention')
    await expect(page.getByTestId('step-settings')).toContainText('needs attention')
    await expect(studio.trainButton).toBeDisabled()
    await expect(studio.status).toContainText('Fix the setting marked in step 3')
    await batch.fill('16')
    await expect(page.getByTestId('step-settings')).toHaveAttribute('data-state', 'done')
  })

  await test.step('Train stays in view at the middle and the bottom of the page', async () => {
    for (const where of ['middle', 'bottom'] as const) {
      await scrollTo(page, where)
      await expect(studio.trainButton).toBeInViewport({ ratio: 1 })
      await expect(studio.status).toBeInViewport()
    }
    expect(await page.evaluate(() => window.scrollY)).toBeGreaterThan(2000)
  })

  await test.step('keyboard focus is visible and never hidden under the sticky bar', async () => {
    await page.evaluate(() => window.scrollTo(0, 0))
    await page.locator('body').click({ position: { x: 640, y: 790 } })
    const barHeight = await page.locator('header.top').evaluate((el) => el.getBoundingClientRect().bottom)
    for (let i = 0; i < 45; i++) {
      await page.keyboard.press('Tab')
      const f = await page.evaluate(() => {
        const el = document.activeElement as HTMLElement | null
        if (!el || el === document.body) return null
        const r = el.getBoundingClientRect()
        const style = getComputedStyle(el)
        return { inBar: !!el.closest('header.top'), top: r.top, bottom: r.bottom, visible: el.matches(':focus-visible'), outline: style.outlineStyle, what: el.outerHTML.slice(0, 80) }
      })
      if (!f) continue
      expect(f.visible && f.outline !== 'none', `focus ring on ${f.what}`).toBe(true)
      if (!f.inBar) expect(f.top, `${f.what} is not under the bar`).toBeGreaterThanOrEqual(barHeight - 1)
      expect(f.bottom, `${f.what} is on screen`).toBeLessThanOrEqual(800 + 1) // subpixel layout: 800.2 seen for a control scrolled into view
    }
  })

  await test.step('axe finds nothing at this width, in light and in dark mode', async () => {
    expect(await axeViolations(page)).toEqual([])
    const lightBg = await page.evaluate(() => getComputedStyle(document.documentElement).backgroundColor)
    await page.emulateMedia({ colorScheme: 'dark' })
    const darkBg = await page.evaluate(() => getComputedStyle(document.documentElement).backgroundColor)
    expect(lightBg).toBe('rgb(248, 250, 252)')
    expect(darkBg).toBe('rgb(15, 23, 42)')
    expect(await axeViolations(page)).toEqual([])
    await page.emulateMedia({ colorScheme: 'light' })
  })
})

/** Clicks a step in the steps column, as a person would. */
async function nav(page: Page, name: string) {
  await page.getByRole('navigation', { name: 'Steps' }).getByRole('link', { name: new RegExp(name) }).click()
}

test('simple by default: five basics, Advanced folded and remembered, changes listed while folded, all in the link', async ({ studio, page }) => {
  await page.setViewportSize({ width: 1280, height: 800 })
  await studio.open()
  const advanced = page.getByTestId('advanced-settings')
  const changed = page.getByTestId('changed-settings')

  await test.step('the beginner view: preset, method, learning rate, epochs and batch size, each with its help', async () => {
    for (const label of ['Preset', 'Method', 'Learning rate', 'Epochs', 'Batch size']) {
      const control = page.getByLabel(label, { exact: true })
      await expect(control, label).toBeVisible()
      const help = await control.getAttribute('aria-describedby')
      expect(help, `${label} has help`).toBeTruthy()
      await expect(page.locator(`[id="${help!.split(' ')[0]}"]`), `${label}'s help text`).toContainText(/\w{4,}.*\w{4,}/)
    }
    await expect(advanced).not.toHaveAttribute('open')
    for (const label of ['Seed', 'Optimizer', 'Weight decay', 'Warm-up steps', 'Backend']) await expect(page.getByLabel(label, { exact: true }), label).toBeHidden()
    await expect(changed).toContainText('Every advanced setting is at its default.')
  })

  await test.step('changed advanced settings stay listed when folded, with a count', async () => {
    await advanced.getByText(/^Advanced settings/).click()
    await expect(advanced).toHaveAttribute('open')
    await page.getByLabel('Seed', { exact: true }).fill('7')
    await page.getByLabel('Warm-up steps', { exact: true }).fill('25')
    await page.getByLabel('Learning rate', { exact: true }).fill('0.003')
    await advanced.getByText(/^Advanced settings/).click()
    await expect(advanced).not.toHaveAttribute('open')
    await expect(page.getByLabel('Seed', { exact: true })).toBeHidden()
    await expect(changed).toContainText('2 advanced settings changed from the default')
    await expect(changed.getByRole('listitem')).toHaveText(['Warm-up steps: 25 steps', 'Seed: 7'])
    await expect(advanced.locator('summary')).toContainText('2 changed')
  })

  await test.step('the shareable link holds every setting, basic and advanced', async () => {
    const q = new URL(page.url()).searchParams
    expect(q.get('sd')).toBe('7')
    expect(q.get('wu')).toBe('25')
    expect(q.get('lr')).toBe('0.003')
  })

  await test.step('Advanced remembers being open across a reload', async () => {
    await advanced.getByText(/^Advanced settings/).click()
    await expect(advanced).toHaveAttribute('open')
    // The toggle event (which stores the choice) is dispatched a task after the click.
    await expect.poll(() => page.evaluate(() => localStorage.getItem('studio.advancedOpen'))).toBe('1')
    await page.reload()
    await expect(studio.trainButton).toBeEnabled({ timeout: 60_000 })
    await expect(page.getByTestId('advanced-settings')).toHaveAttribute('open')
    await expect(page.getByLabel('Seed', { exact: true })).toHaveValue('7')
  })
})

test('phone (390 px): one usable column, Train always in view, axe clean; README screenshot', async ({ studio, page }) => {
  await page.setViewportSize({ width: 390, height: 844 })
  await studio.open()
  await expect(studio.trainButton).toBeInViewport({ ratio: 1 })

  await test.step('one column: nothing wider than the screen, panels and charts stacked', async () => {
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390)
    const boxes = await Promise.all(['#data', '#settings', '[data-testid="loss-chart"]', '#train'].map((s) => page.locator(s).boundingBox()))
    for (const b of boxes) {
      expect(b!.x).toBeGreaterThanOrEqual(0)
      expect(b!.x + b!.width).toBeLessThanOrEqual(390)
    }
    for (let i = 1; i < boxes.length; i++) expect(boxes[i]!.y).toBeGreaterThan(boxes[i - 1]!.y)
    // Every setting open still fits the width.
    await page.getByText(/^Advanced settings/).click()
    await expect(page.getByLabel('Seed', { exact: true })).toBeVisible()
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390)
    await page.getByText(/^Advanced settings/).click()
  })

  await readmeScreenshot(page, 'screenshot-phone.png')

  await test.step('a setting can be changed and Train stays in view while scrolling', async () => {
    const lr = page.getByLabel('Learning rate', { exact: true })
    await lr.fill('0.002')
    await expect(lr).toHaveValue('0.002')
    for (const where of ['middle', 'bottom'] as const) {
      await scrollTo(page, where)
      await expect(studio.trainButton).toBeInViewport({ ratio: 1 })
    }
  })

  await test.step('axe finds nothing at this width, light and dark', async () => {
    expect(await axeViolations(page)).toEqual([])
    await page.emulateMedia({ colorScheme: 'dark' })
    expect(await axeViolations(page)).toEqual([])
  })
})

// The README's wide picture shows a run that beats its line to beat, so this test checks that
// it does before the picture is taken: the default sample and model, a few epochs.
test('README picture (1280×800): a run on the sample beats its line to beat, the top of the workspace after it', async ({ studio, page }) => {
  await page.setViewportSize({ width: 1280, height: 800 })
  await studio.open(README_RUN)
  await expect(page.getByTestId('dataset-rows')).toHaveText('600')
  const started = Date.now()
  await studio.trainButton.click()
  await studio.waitFinished(180_000)
  test.info().annotations.push({ type: 'run (ms)', description: String(Date.now() - started) })
  const text = await studio.status.innerText()
  test.info().annotations.push({ type: 'result', description: text })
  const m = /Training complete — \d+ epochs?, best validation accuracy ([\d.]+)% \(line to beat: .+? ([\d.]+)%\)/.exec(text)
  expect(m, text).not.toBeNull()
  expect(Number(m![1]), 'the pictured run beats its line to beat').toBeGreaterThan(Number(m![2]) + 5)
  await expect(page.getByTestId('val-chart')).toContainText(/line to beat/)
  // The picture: the notices dismissed, the top of the workspace.
  const dismiss = page.locator('.messages button.link')
  while ((await dismiss.count()) > 0) await dismiss.first().click()
  await page.evaluate(() => window.scrollTo(0, 0))
  await readmeScreenshot(page, 'screenshot-wide.png')
})

test('runs side by side: differing settings, overlaid curves by step or epoch, linear or log; rename, reuse, delete', async ({ studio, page }) => {
  await page.setViewportSize({ width: 1280, height: 800 })
  await studio.open('m=head&ep=2&sl=16&bs=8&wu=0&lr=0.01')
  await studio.uploadDataset('runs.csv', smallSpamHam(48))
  await studio.waitForDataset('runs.csv')

  await test.step('two short runs with different learning rates', async () => {
    await studio.trainButton.click()
    await expect(page.getByTestId('progress')).toContainText(/about .* left|done/, { timeout: 60_000 })
    await studio.waitFinished(90_000)
    await expect(page.getByTestId('step-train')).toHaveAttribute('data-state', 'done')
    await page.getByLabel('Learning rate', { exact: true }).fill('0.03')
    await page.getByLabel('Epochs', { exact: true }).fill('3')
    await studio.trainButton.click()
    await expect(studio.status).toContainText('Training', { timeout: 30_000 })
    await studio.waitFinished(90_000)
    await expect(page.getByTestId('run-item')).toHaveCount(2, { timeout: 30_000 })
  })

  const items = page.getByTestId('run-item')
  await test.step('pick both: a table of the settings that differ, and both curves on each chart', async () => {
    for (const box of await items.getByRole('checkbox').all()) await box.check()
    const diff = page.getByTestId('runs-diff')
    await expect(diff).toBeVisible()
    await expect(diff.locator('tbody tr')).toHaveCount(2) // learning rate and epochs, nothing else
    await expect(diff.locator('tr[data-setting="learningRate"] td')).toHaveText(['0.03', '0.01']) // newest first
    await expect(diff.locator('tr[data-setting="epochs"] td')).toHaveText(['3', '2'])
    await expect(page.getByTestId('runs-chart-step')).toHaveAttribute('data-series', '2')
    await expect(page.getByTestId('runs-chart-step').locator('.recharts-line')).toHaveCount(2)
    await expect(page.getByTestId('runs-chart-epoch').locator('.recharts-line')).toHaveCount(2)
  })

  await test.step('by epoch and on a log scale', async () => {
    await page.getByRole('radio', { name: 'epoch' }).check()
    await expect(page.getByTestId('runs-chart-step')).toHaveCount(0)
    await expect(page.getByTestId('runs-chart-train-epoch').locator('.recharts-line')).toHaveCount(2)
    await expect(page.getByTestId('runs-chart-train-epoch').locator('.recharts-line-dot, .recharts-dot')).toHaveCount(5) // 3 + 2 epochs
    await page.getByLabel('Log scale').check()
    await expect(page.getByTestId('runs-chart-train-epoch')).toHaveAttribute('data-scale', 'log')
    await expect(page.getByTestId('runs-chart-epoch').locator('.recharts-line')).toHaveCount(2)
  })

  await test.step('rename a run; the name is kept after a reload', async () => {
    const older = items.nth(1)
    await older.getByRole('button', { name: /^Rename run / }).click()
    await older.getByLabel(/^New name for run /).fill('slow and steady')
    await older.getByRole('button', { name: 'Save run name' }).click()
    await expect(items.nth(1)).toContainText('slow and steady')
    await page.reload()
    await expect(page.getByTestId('run-item').nth(1)).toContainText('slow and steady', { timeout: 60_000 })
  })

  await test.step('start a new run from the older run\'s settings with one click', async () => {
    await expect(studio.trainButton).toBeEnabled({ timeout: 60_000 })
    await expect(page.getByLabel('Learning rate', { exact: true })).toHaveValue('0.03')
    await page.getByRole('button', { name: 'Start a new run from the settings of slow and steady' }).click()
    await expect(page.getByLabel('Learning rate', { exact: true })).toHaveValue('0.01')
    await expect(page.getByLabel('Epochs', { exact: true })).toHaveValue('2')
    expect(new URL(page.url()).searchParams.get('lr')).toBe('0.01')
    await expect(studio.trainButton).toBeInViewport({ ratio: 1 })
  })

  await test.step('delete a run: it asks first, naming the 2 checkpoints it holds (2 epochs, the last 2 kept); Escape keeps it, also in storage', async () => {
    const del = page.getByRole('button', { name: 'Delete run slow and steady' })
    const question = page.getByRole('group', { name: /^Delete run slow and steady and its 2 checkpoints \(\d+(\.\d+)? (kB|MB)\)\? Its settings, curves and checkpoints cannot be brought back\.$/ })
    // 2 from the first run, 2 or 3 (the last 2 and maybe the best) from the second
    await expect.poll(() => page.getByTestId('checkpoint-row').count()).toBeGreaterThanOrEqual(4)
    const checkpoints = await page.getByTestId('checkpoint-row').count()
    await deleteAsksFirst(page, del, question)
    await page.reload()
    await expect(page.getByTestId('run-item')).toHaveCount(2, { timeout: 60_000 })
    await expect(page.getByTestId('run-list')).toContainText('slow and steady')
    await expect(page.getByTestId('checkpoint-row')).toHaveCount(checkpoints)
  })

  await test.step('"Delete for good" deletes the run and its checkpoints', async () => {
    const checkpoints = await page.getByTestId('checkpoint-row').count()
    await page.getByRole('button', { name: 'Delete run slow and steady' }).click()
    await page.getByRole('button', { name: 'Delete for good' }).click()
    await expect(page.getByTestId('run-item')).toHaveCount(1)
    await expect(page.getByTestId('run-list')).not.toContainText('slow and steady')
    await expect(page.getByTestId('checkpoint-row')).toHaveCount(checkpoints - 2)
    await expect(page.getByRole('heading', { name: 'Runs', exact: true })).toBeFocused()
  })
})
