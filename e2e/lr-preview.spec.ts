import { readFileSync } from 'node:fs'
import { expect, test } from './fixtures'

// The learning-rate preview counts the steps the run takes. Language modelling steps over
// token windows, not rows: the preview once said 20 steps for a Moby-Dick run of 152.
test('on Moby-Dick text the learning-rate preview shows the run\u2019s own step count', async ({ studio, page }) => {
  await studio.open()
  const text = readFileSync(new URL('../public/samples/moby-dick-excerpt.txt', import.meta.url), 'utf8')
  const part = text.slice(0, text.indexOf('\n', 30_000)) // a few chapters: hundreds of windows, a few dozen rows
  await studio.uploadDataset('moby-dick-part.txt', part, 'text/plain')
  await studio.waitForDataset('moby-dick-part.txt')
  await expect(page.getByTestId('dataset-summary')).toContainText('language modelling')
  await page.getByLabel('Epochs', { exact: true }).fill('1')
  await page.getByLabel('Sequence length', { exact: true }).fill('32')
  await page.getByLabel('Batch size', { exact: true }).fill('8')
  const caption = page.getByText(/Learning rate over the run \(\d+ optimizer steps/)
  // The worker answers the settings with its plan: windows of 32 tokens, so far more steps than rows/8.
  const rows = Number((await page.getByTestId('dataset-summary').innerText()).match(/([\d,]+) rows?/)?.[1]?.replace(/,/g, '') ?? NaN)
  await expect.poll(async () => Number(/\((\d+) optimizer steps/.exec(await caption.innerText())?.[1]), { timeout: 30_000 }).toBeGreaterThan(Math.ceil(rows / 8) * 2)
  const preview = Number(/\((\d+) optimizer steps/.exec(await caption.innerText())?.[1])
  await expect(studio.trainButton).toBeEnabled({ timeout: 30_000 })
  await studio.trainButton.click()
  await expect(page.getByTestId('progress')).toContainText(new RegExp(`Step \\d+ / ${preview} `), { timeout: 90_000 })
  await page.getByRole('button', { name: 'Stop', exact: true }).click()
  await expect(studio.trainButton).toBeEnabled({ timeout: 60_000 })
})
