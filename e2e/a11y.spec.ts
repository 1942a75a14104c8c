import AxeBuilder from '@axe-core/playwright'
import type { Page } from '@playwright/test'
import { expect, smallSpamHam, test } from './fixtures'

const slowRun = 'ep=30&sl=32&bs=4&wu=0'

/** Serious and critical axe violations, one line each, so a failure names rule and element. */
async function seriousViolations(page: Page): Promise<string[]> {
  const { violations } = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']).analyze()
  return violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.impact} ${v.id}: ${v.help} — ${v.nodes.map((n) => n.target.join(' ')).slice(0, 5).join(', ')}`)
}

/** A description of the focused element, for comparing across Tab presses. */
const focused = (page: Page) =>
  page.evaluate(() => {
    const el = document.activeElement
    if (!el || el === document.body) return null
    const id = el.getAttribute('id') ?? ''
    return `${el.tagName.toLowerCase()}#${id}|${el.getAttribute('aria-label') ?? ''}|${(el.textContent ?? '').trim().slice(0, 40)}|${el.getAttribute('name') ?? ''}|${el.getAttribute('value') ?? ''}`
  })

test('axe finds no serious or critical violations when loaded, during a run and after it', async ({ studio, page }) => {
  await studio.open(slowRun)
  await test.step('loaded', async () => expect(await seriousViolations(page)).toEqual([]))

  await studio.uploadDataset('a11y.csv', smallSpamHam(60))
  await studio.waitForDataset('a11y.csv')
  await studio.trainButton.click()
  await expect.poll(() => studio.lossPoints(), { timeout: 60_000 }).toBeGreaterThan(0)
  await test.step('during a run', async () => expect(await seriousViolations(page)).toEqual([]))

  await page.getByRole('button', { name: 'Stop' }).click()
  expect(await studio.waitEnded()).toMatch(/^Training stopped — /)
  await test.step('after a run', async () => expect(await seriousViolations(page)).toEqual([]))
})

test('every control is reachable with Tab', async ({ studio, page }) => {
  await studio.open()
  // Every visible, enabled control on the page (not inside a closed <details>), described like `focused` does.
  const controls = await page.evaluate(() => {
    const sel = 'button, input, select, textarea, a[href], summary, [tabindex]:not([tabindex="-1"])'
    return [...document.querySelectorAll<HTMLElement>(sel)]
      .filter((el) => !(el as HTMLButtonElement).disabled && el.checkVisibility({ visibilityProperty: true }) && !el.closest('[inert]') && !el.closest('fieldset:disabled'))
      .filter((el) => !(el instanceof HTMLInputElement && el.type === 'radio' && !el.checked)) // a radio group is one Tab stop
      .map((el) => `${el.tagName.toLowerCase()}#${el.getAttribute('id') ?? ''}|${el.getAttribute('aria-label') ?? ''}|${(el.textContent ?? '').trim().slice(0, 40)}|${el.getAttribute('name') ?? ''}|${el.getAttribute('value') ?? ''}`)
  })
  expect(controls.length).toBeGreaterThan(10)
  const reached = new Set<string>()
  await page.locator('body').click({ position: { x: 1, y: 1 } })
  for (let i = 0; i < controls.length * 2 + 20; i++) {
    await page.keyboard.press('Tab')
    const f = await focused(page)
    if (f) reached.add(f)
  }
  expect(controls.filter((c) => !reached.has(c))).toEqual([])
})

test('a run can be started, paused, resumed and stopped with the keyboard alone', async ({ studio, page }) => {
  await studio.open(slowRun)
  await studio.uploadDataset('keys.csv', smallSpamHam(60))
  await studio.waitForDataset('keys.csv')

  await test.step('Tab to Train and press Enter', async () => {
    await page.locator('body').click({ position: { x: 1, y: 1 } })
    let onTrain = false
    for (let i = 0; i < 300 && !onTrain; i++) {
      await page.keyboard.press('Tab')
      onTrain = await page.evaluate(() => document.activeElement?.textContent === 'Train')
    }
    expect(onTrain).toBe(true)
    await page.keyboard.press('Enter')
    await expect.poll(() => studio.lossPoints(), { timeout: 60_000 }).toBeGreaterThan(0)
  })

  await test.step('focus moved to Pause; Space pauses and Space again resumes', async () => {
    await expect(page.getByRole('button', { name: 'Pause' })).toBeFocused()
    await page.keyboard.press('Space')
    await expect(studio.status).toHaveText('Paused.')
    await expect(page.getByRole('button', { name: 'Resume' })).toBeFocused()
    const held = await studio.lossPoints()
    await page.keyboard.press('Space')
    await expect.poll(() => studio.lossPoints(), { timeout: 30_000 }).toBeGreaterThan(held)
  })

  await test.step('Tab to Stop and press Enter; focus returns to Train', async () => {
    await page.keyboard.press('Tab')
    await expect(page.getByRole('button', { name: 'Stop' })).toBeFocused()
    await page.keyboard.press('Enter')
    await expect(studio.status).toContainText('Training stopped', { timeout: 30_000 })
    await expect(studio.trainButton).toBeFocused()
  })

  await test.step('Tab to the loss chart; the arrow keys, Home and End read its points aloud', async () => {
    const chart = page.getByTestId('loss-chart').getByRole('group')
    let onChart = false
    for (let i = 0; i < 300 && !onChart; i++) {
      await page.keyboard.press('Tab')
      onChart = await chart.evaluate((el) => el === document.activeElement)
    }
    expect(onChart).toBe(true)
    const readout = page.getByTestId('loss-chart').getByTestId('chart-readout')
    await expect(readout).toHaveAttribute('aria-live', 'polite')
    await expect(readout).toHaveText(/^step \d+: training loss \d+\.\d\d$/) // focus shows the latest point
    const stepOf = async () => Number(/^step (\d+)/.exec((await readout.textContent()) ?? '')?.[1])
    const last = await stepOf()
    await page.keyboard.press('Home')
    await expect.poll(stepOf).toBeLessThan(last)
    const first = await stepOf()
    await page.keyboard.press('ArrowRight')
    await expect.poll(stepOf).toBeGreaterThan(first)
    await page.keyboard.press('End')
    await expect.poll(stepOf).toBe(last)
    await page.keyboard.press('Escape')
    await expect(readout).toHaveText('')
  })
})
