import { expect, test } from './fixtures'

// A first visit, as a person with the developer console open sees it: the page loads with no
// console error and no request that fails (each would hide a real fault among noise).
test('opening the studio logs no console error and no failed request', async ({ studio, page, context }) => {
  const errors: string[] = []
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`${m.text()} (${m.location().url})`)
  })
  page.on('pageerror', (e) => errors.push(e.message))
  const failed: string[] = []
  context.on('response', (r) => {
    if (r.status() >= 400) failed.push(`${r.status()} ${r.url()}`)
  })
  await studio.open()
  await expect(studio.status).toHaveText('Ready: click Train.')
  expect(failed).toEqual([])
  expect(errors).toEqual([])
})
