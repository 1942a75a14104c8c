import type { Page } from '@playwright/test'
import { mulberry32 } from '../src/engine/data/rng'
import { expect, smallSpamHam, test } from './fixtures'
import type { StudioPage } from './pages/studio'

// Hostile input through the page: no uncaught error, no worker crash, and the page stays
// usable after each case (Train enabled, the shipped sample still offered).

function watch(page: Page) {
  const errors: string[] = []
  let workers = 0
  page.on('pageerror', (e) => errors.push(e.message))
  page.on('worker', () => workers++)
  return { errors, workers: () => workers }
}

async function stillUsable(studio: StudioPage, page: Page, what: string) {
  await expect(studio.trainButton, `${what}: Train enabled`).toBeEnabled({ timeout: 60_000 })
  await expect(page.getByLabel('Sample dataset').locator('option', { hasText: 'Spam or ham (600 e-mails)' }), `${what}: sample listed`).toHaveCount(1)
  await expect(page.getByText(/training worker failed/i), `${what}: worker alive`).toHaveCount(0)
}

const bytes = (rand: () => number, n: number) => Buffer.from(Array.from({ length: n }, () => Math.floor(rand() * 256)))

test('random bytes, truncated files and a 5 MB cell are refused or read, never crash', async ({ studio, page }) => {
  const seen = watch(page)
  await studio.open()
  const workersAtStart = seen.workers()
  const rand = mulberry32(20261123)
  const valid = smallSpamHam(40)
  const validJsonl = valid
    .trim()
    .split('\n')
    .slice(1, 30)
    .map((_, i) => JSON.stringify({ text: `example ${i} about ${i % 2 ? 'whales' : 'money'}`, label: i % 2 ? 'ham' : 'spam' }))
    .join('\n')
  const cases: { name: string; body: Buffer }[] = [
    { name: 'noise.csv', body: bytes(rand, 4096) },
    { name: 'noise.txt', body: bytes(rand, 20_000) },
    { name: 'noise.jsonl', body: bytes(rand, 2048) },
    { name: 'noise.json', body: bytes(rand, 512) },
    { name: 'empty.csv', body: Buffer.alloc(0) },
    { name: 'nul.csv', body: Buffer.alloc(1000, 0) },
    { name: 'cut-mid-quote.csv', body: Buffer.from(valid.slice(0, Math.floor(valid.length * 0.6)).replace(/"[^"]*$/, '"half a quoted fiel')) },
    { name: 'cut-utf8.csv', body: Buffer.concat([Buffer.from('text,label\n"caf'), Buffer.from([0xc3])]) },
    { name: 'cut.jsonl', body: Buffer.from(validJsonl.slice(0, Math.floor(validJsonl.length * 0.7))) },
    { name: 'cut.json', body: Buffer.from('[{"text": "a whale", "label": "ham"}, {"text": "buy now", "lab') },
    { name: 'huge-cell.csv', body: Buffer.from(`text,label\n"${'whale '.repeat(Math.ceil((5 * 1024 * 1024) / 6))}",ham\n${valid.split('\n').slice(1).join('\n')}`) },
    { name: 'many-columns.csv', body: Buffer.from(Array.from({ length: 3 }, () => Array.from({ length: 5000 }, (_, i) => `c${i}`).join(',')).join('\n')) },
  ]
  for (const c of cases) {
    await test.step(c.name, async () => {
      await studio.uploadDataset(c.name, c.body)
      // Either it is read (the summary names it) or refused with an alert; both are fine.
      await expect(page.getByTestId('dataset-summary').filter({ hasText: c.name }).or(studio.alerts.filter({ hasText: c.name })).first()).toBeVisible({ timeout: 60_000 })
      await stillUsable(studio, page, c.name)
    })
  }
  expect(seen.errors).toEqual([])
  expect(seen.workers()).toBe(workersAtStart) // no worker was restarted after a crash
})

test('labels and text with HTML and script are shown as text, never run', async ({ studio, page }) => {
  const seen = watch(page)
  await studio.open()
  const evil = ['<img src=x onerror="window.__pwned=1">', '<script>window.__pwned=1</script>', '"><svg onload=window.__pwned=1>']
  const rows = ['text,label']
  for (let i = 0; i < 60; i++) rows.push(`"${evil[i % 3]!.replace(/"/g, '""')} row ${i} <b>bold</b>","${evil[i % 3]!.replace(/"/g, '""')}"`)
  await studio.uploadDataset('evil.csv', rows.join('\n') + '\n')
  await studio.waitForDataset('evil.csv')
  // Long HTML-looking labels may be guessed as text: say which column is which, as a person would.
  await page.getByLabel('Text column').selectOption('text')
  await page.getByRole('group', { name: 'Label column(s)' }).getByLabel('label', { exact: true }).check()
  await page.getByRole('button', { name: 'Use these columns' }).click()
  await expect(page.getByTestId('class-balance')).toContainText('<img src=x onerror="window.__pwned=1">')
  await expect(page.getByTestId('class-balance')).toContainText('<script>window.__pwned=1</script>')
  await page.getByText('First rows').click()
  await expect(page.locator('.preview')).toContainText('<b>bold</b>')
  expect(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned)).toBeUndefined()
  expect(await page.locator('.flow img[src="x"], .flow svg[onload], .flow b').count()).toBe(0)
  await stillUsable(studio, page, 'evil.csv')
  expect(seen.errors).toEqual([])
})

test('malformed preset links never break the page (30 seeded random queries)', async ({ studio, page }) => {
  const seen = watch(page)
  const rand = mulberry32(7)
  const pick = <T,>(xs: readonly T[]) => xs[Math.floor(rand() * xs.length)]!
  const shorts = ['v', 'm', 'ff', 'ue', 'hf', 'r', 'la', 'ld', 'lt', 'as', 'lr', 'bs', 'ep', 'o', 'mo', 'cn', 'ac', 's', 'wu', 'se', 'sg', 'pp', 'wd', 'do', 'ls', 'vs', 'es', 'mn', 'rb', 'sl', 'sd', 'b', 'zz', '', '__proto__', 'constructor']
  const values = ['', '-1', '0', '1e308', '-1e308', 'NaN', 'Infinity', '1e-400', '0x10', '%', '%ZZ', '%00', 'lora', 'head', '<script>alert(1)</script>', '"\'', '☃', 'a'.repeat(3000), '9'.repeat(40), 'true', '[]', '{}', ',,,', 'qkv,qkv,nope', '..', '1.5.6']
  for (let i = 0; i < 30; i++) {
    const parts = Array.from({ length: 1 + Math.floor(rand() * 8) }, () => {
      const kind = rand()
      if (kind < 0.1) return pick(values) // a bare token
      if (kind < 0.2) return `${pick(shorts)}=${pick(values)}=${pick(values)}`
      return `${pick(shorts)}=${rand() < 0.5 ? encodeURIComponent(pick(values)) : pick(values)}`
    })
    const query = parts.join(rand() < 0.2 ? '&&' : '&')
    await test.step(`link ${i}: ?${query.slice(0, 80)}`, async () => {
      await page.goto(`/?${query}`)
      await expect(studio.badge).toBeVisible({ timeout: 90_000 })
      await expect(page.getByTestId('dataset-summary')).toBeVisible({ timeout: 60_000 })
      await stillUsable(studio, page, `link ${i}`)
    })
  }
  expect(seen.errors).toEqual([])
})
