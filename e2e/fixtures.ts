import { readFileSync } from 'node:fs'
import { expect, test as base, type Locator, type Page } from '@playwright/test'
import { StudioPage } from './pages/studio'

/** Records main-thread long tasks from the first script on, so a test can report them. */
const recordLongTasks = () => {
  const w = window as unknown as { __longTasks: number[] }
  w.__longTasks = []
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) w.__longTasks.push(e.duration)
  }).observe({ type: 'longtask', buffered: true })
}

/** Records Content-Security-Policy violations in the page (read them with cspViolations()). */
const recordCspViolations = () => {
  const w = window as unknown as { __cspViolations: string[] }
  w.__cspViolations = []
  document.addEventListener('securitypolicyviolation', (e) => w.__cspViolations.push(`${e.violatedDirective} ${e.blockedURI}`))
}

export const cspViolations = (page: Page): Promise<string[]> => page.evaluate(() => (window as unknown as { __cspViolations: string[] }).__cspViolations)

/** Opens the settings' "Advanced" disclosure on a first visit, as a person who had left it
 *  open would see it, unless a spec asks for the beginner view (workspace.spec.ts). */
const openAdvanced = () => {
  if (localStorage.getItem('studio.advancedOpen') === null) localStorage.setItem('studio.advancedOpen', '1')
}

export const test = base.extend<{ studio: StudioPage; advancedOpen: boolean }>({
  advancedOpen: [true, { option: true }],
  studio: async ({ page, advancedOpen }, use) => {
    await page.addInitScript(recordLongTasks)
    await page.addInitScript(recordCspViolations)
    if (advancedOpen) await page.addInitScript(openAdvanced)
    await use(new StudioPage(page))
  },
})

export { expect } from '@playwright/test'

/** A ConfirmDelete as a keyboard user meets it (ui/common/ConfirmDelete.tsx): Delete asks, with
 *  Keep focused (`whileAsking` then checks what it needs); Escape answers Keep, the question goes
 *  and focus is back on Delete; then Delete asks again and the question is left open, unanswered. */
export async function deleteAsksFirst(page: Page, del: Locator, question: Locator, whileAsking?: () => Promise<void>): Promise<void> {
  await del.click()
  await expect(question).toBeVisible()
  await expect(question.getByRole('button', { name: 'Keep' })).toBeFocused()
  await whileAsking?.()
  await page.keyboard.press('Escape')
  await expect(question).toHaveCount(0)
  await expect(del).toBeFocused()
  await del.click()
  await expect(question).toBeVisible()
}

/** A ConfirmDelete that waits (its `waits`: ui/common/ConfirmDelete.tsx), as a keyboard,
 *  mouse and screen-reader user meets it: aria-disabled, not disabled, so it stays focusable;
 *  the reason is its accessible description and is written beside it (inside `around`); and
 *  Enter, Space and a click each leave it as it is, no question asked. Each activation is
 *  checked on its own: an opened question would take Delete off the page and focus to Keep. */
export async function deleteWaits(page: Page, del: Locator, reason: string, around: Locator): Promise<void> {
  await expect(del).toHaveAttribute('aria-disabled', 'true')
  await expect(del).not.toHaveAttribute('disabled')
  await expect(del).toHaveAccessibleDescription(reason)
  await expect(around).toContainText(reason)
  const asked = around.getByRole('button', { name: 'Delete for good' })
  for (const press of [() => page.keyboard.press('Enter'), () => page.keyboard.press('Space'), () => del.click({ force: true })]) {
    await del.focus()
    await press()
    await expect(del).toBeFocused()
    await expect(asked).toHaveCount(0)
  }
}

/** A small real dataset for quick runs: the first rows of the shipped spam/ham sample,
 *  re-quoted so the file stays valid CSV. */
export function smallSpamHam(rows: number): string {
  const text = readFileSync(new URL('../public/samples/spam-ham.csv', import.meta.url), 'utf8')
  const quote = (c: string) => `"${c.replace(/"/g, '""')}"`
  return csvRows(text).slice(0, rows + 1).map((r) => r.map(quote).join(',')).join('\n') + '\n'
}

/** RFC 4180 records (quoted fields, doubled quotes, newlines inside quotes). Written here
 *  rather than taken from the app's parser, so the test data does not depend on the code
 *  under test. */
export function csvRows(text: string): string[][] {
  const rows: string[][] = []
  let row: string[] = []
  let cell = ''
  let quoted = false
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!
    if (quoted) {
      if (c !== '"') cell += c
      else if (text[i + 1] === '"') (cell += '"'), i++
      else quoted = false
    } else if (c === '"') quoted = true
    else if (c === ',') row.push(cell), (cell = '')
    else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++
      row.push(cell), rows.push(row), (row = []), (cell = '')
    } else cell += c
  }
  if (cell !== '' || row.length) row.push(cell), rows.push(row)
  return rows
}
