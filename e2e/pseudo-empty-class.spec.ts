// A threshold that one class's rows do not reach (h2's walk-through): the page said "Kept 11 of
// 20: sea 11, government 0. Balanced: 11 of each class train." with Train enabled, and the round
// was then refused by the worker. The page now says so where the counts are, and Train waits.
import { readFileSync } from 'node:fs'
import type { Page } from '@playwright/test'
import { expect, test } from './fixtures'
import { loadFromHub, serveHub, tinyGpt2Files } from './hfHub'

const lines = (f: string, n: number) => readFileSync(new URL(`../public/samples/lm/${f}`, import.meta.url), 'utf8').trim().split('\n').slice(0, n + 1).join('\n') + '\n'
const panel = (page: Page) => page.locator('#objectives')
const REPO = 'studio-e2e/tiny-gpt2-empty-class'

test('a class no row reaches at the threshold is named with what to do, and Train waits until every class has rows', async ({ studio, page }) => {
  // this seeded GPT-2 labels 11 of the first 20 passages "sea" at confidence 0.6 or more, none "government"
  serveHub(page, new Map([[REPO, tinyGpt2Files({ d: 16, layers: 2, positions: 64 })]]))
  await studio.open('m=lora&ep=1&bs=8&wu=0')
  await loadFromHub(page, REPO)
  await panel(page).getByRole('radio', { name: /Learning without labels/ }).check()
  await panel(page).getByLabel('Unlabelled texts (CSV)').setInputFiles({ name: 'passages.csv', mimeType: 'text/csv', buffer: Buffer.from(lines('sea-or-government-unlabelled.csv', 20)) })
  await panel(page).getByRole('textbox', { name: 'Class names' }).fill('sea, government')
  await panel(page).getByRole('button', { name: 'Label the texts zero-shot' }).click()
  const kept = page.getByTestId('pseudo-kept')
  await expect(kept).toHaveText('Kept 11 of 20: sea 11, government 0. No row labelled "government" reaches this threshold, so the model could not learn that class: lower the threshold, or rephrase that class name.', { timeout: 60_000 })
  await expect(page.getByTestId('pseudo-train')).toBeDisabled()
  await expect(page.getByTestId('pseudo-train')).toHaveAccessibleDescription(/No row labelled "government" reaches this threshold/)
  // the lowest threshold keeps every row: both classes have rows, balancing says how many train
  await panel(page).getByLabel(/Confidence threshold/).fill('0.5')
  await expect(kept).toHaveText(/^Kept 20 of 20: sea \d+, government \d+\. Balanced: \d+ of each class train\.$/)
  const [, sea, gov, each] = /sea (\d+), government (\d+)\. Balanced: (\d+)/.exec(await kept.innerText())!
  expect(Number(sea) + Number(gov)).toBe(20)
  expect(Number(each)).toBe(Math.min(Number(sea), Number(gov)))
  await expect(page.getByTestId('pseudo-train')).toBeEnabled()
})
