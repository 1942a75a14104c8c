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

// The sample list said "Choose a sample…" while the sample it loaded was in use, as if no data
// were chosen: it names the loaded sample, and goes back to "Choose a sample…" for a file.
test('the Sample dataset list names the sample in use, and no sample once a file is loaded', async ({ studio, page }) => {
  await studio.open()
  const samples = page.getByLabel('Sample dataset')
  await expect(page.getByTestId('dataset-summary')).toContainText('spam-ham.csv')
  await expect(samples).toHaveValue('spam-ham.csv')
  await samples.selectOption('boston-housing.csv')
  await studio.waitForDataset('boston-housing.csv')
  await expect(samples).toHaveValue('boston-housing.csv')
  await studio.uploadDataset('mine.csv', 'text,label\nyes please,a\nno thanks,b\nyes indeed,a\nno way,b\n')
  await studio.waitForDataset('mine.csv')
  await expect(samples).toHaveValue('')
})
