import AxeBuilder from '@axe-core/playwright'
import { expect, test } from './fixtures'

test('every control has a label tied to it and is reachable by keyboard', async ({ studio, page }) => {
  await studio.open()
  const results = await new AxeBuilder({ page }).withRules(['label', 'button-name', 'select-name', 'aria-input-field-name', 'label-title-only']).analyze()
  expect(results.violations.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`)).toEqual([])
  // Tab reaches the Train button.
  let reached = false
  for (let i = 0; i < 200 && !reached; i++) {
    await page.keyboard.press('Tab')
    reached = await page.evaluate(() => document.activeElement?.textContent === 'Train')
  }
  expect(reached).toBe(true)
})
