import { expect, smallSpamHam, test } from './fixtures'
import type { StudioPage } from './pages/studio'
import type { Page } from '@playwright/test'

// The built-in model's shape (public/models/tiny-lm/model.json): 4 blocks of width 128,
// MLP 512, and a 2-class head on the pooled features.
const D = 128
const FF = 512
const CLASSES = 2
const head = D * CLASSES + CLASSES
const block = 2 * D /* ln1 */ + (D * 3 * D + 3 * D) /* qkv */ + (D * D + D) /* proj */ + 2 * D /* ln2 */ + (D * FF + FF) /* fc */ + (FF * D + D) /* out */
const finalNorm = 2 * D
/** LoRA adds A [in, r] and B [r, out] to each targeted projection of each block. */
const lora = (r: number) => 4 * (r * (D + 3 * D) /* qkv */ + r * (D + D) /* proj */)

const shownTrainable = async (page: Page) => {
  const text = (await page.getByTestId('param-counts').locator('strong').textContent()) ?? ''
  return Number(text.replace(/,/g, ''))
}

/** Reads the Evaluate panel: the base model's and the fine-tuned model's validation accuracy (%). */
async function accuracies(page: Page): Promise<{ base: number; tuned: number }> {
  const row = page.getByTestId('compare').getByRole('row', { name: /^Accuracy/ })
  const cells = row.getByRole('cell')
  const pct = async (i: number) => Number(((await cells.nth(i).textContent()) ?? '').replace('%', ''))
  return { base: await pct(0), tuned: await pct(1) }
}

/** A quick run's settings, typed into the settings panel like a person would. */
async function quickRun(page: Page, values: Record<string, string>) {
  for (const [label, value] of Object.entries(values)) {
    const input = page.getByLabel(label, { exact: true })
    await input.fill(value)
    await input.blur()
  }
}

async function trainAndCheck(studio: StudioPage, page: Page) {
  await studio.trainButton.click()
  await studio.waitFinished(300_000)
  await expect(studio.status).toContainText('Training complete')
  await expect(page.getByTestId('compare')).toBeVisible()
  const { base, tuned } = await accuracies(page)
  expect(Number.isFinite(base) && Number.isFinite(tuned)).toBe(true)
  expect(tuned).toBeGreaterThan(base)
  await expect(page.getByRole('alert')).toHaveCount(0)
}

test.beforeEach(async ({ studio }) => {
  await studio.open()
  await studio.uploadDataset('methods-spam-ham.csv', smallSpamHam(200))
  await studio.waitForDataset('methods-spam-ham.csv')
})

test('LoRA rank 4: the trainable count is exactly LoRA plus the head, and it beats the baseline', async ({ studio, page }) => {
  await test.step('choose LoRA with rank 4 in the settings panel', async () => {
    await page.getByLabel('Method', { exact: true }).selectOption({ label: 'LoRA' })
    await page.getByLabel('LoRA rank', { exact: true }).fill('4')
    await expect(page.getByLabel('LoRA targets', { exact: true })).toHaveValue('qkv,proj')
  })
  await test.step('the model panel counts LoRA A/B for qkv and proj in 4 blocks, plus the head', async () => {
    await expect.poll(() => shownTrainable(page)).toBe(lora(4) + head)
    await expect(page.getByTestId('block-toggles').getByRole('checkbox')).toHaveCount(6)
    for (const box of await page.getByTestId('block-toggles').getByRole('checkbox').all()) {
      await expect(box).toBeChecked() // LoRA keeps every body unit frozen
      await expect(box).toBeDisabled()
    }
  })
  await test.step('a quick run beats the baseline shown in the Evaluate panel', async () => {
    await quickRun(page, { Epochs: '4', 'Sequence length': '48', 'Learning rate': '0.005', 'Warm-up steps': '0' })
    await trainAndCheck(studio, page)
  })
})

test('Freeze early blocks, 2 frozen: blocks 2-3, the final norm and the head train, and it beats the baseline', async ({ studio, page }) => {
  await test.step('choose the method and 2 frozen blocks in the settings panel', async () => {
    await page.getByLabel('Method', { exact: true }).selectOption({ label: 'Freeze early blocks' })
    const frozen = page.getByLabel('Frozen blocks', { exact: true })
    await frozen.fill('2')
    await frozen.blur()
  })
  await test.step('the model panel counts blocks 2..3, the final norm and the head', async () => {
    await expect.poll(() => shownTrainable(page)).toBe(2 * block + finalNorm + head)
    const toggles = page.getByTestId('block-toggles')
    for (const name of ['Freeze embeddings', 'Freeze block 0', 'Freeze block 1']) await expect(toggles.getByLabel(name)).toBeChecked()
    for (const name of ['Freeze block 2', 'Freeze block 3', 'Freeze final norm']) await expect(toggles.getByLabel(name)).not.toBeChecked()
  })
  await test.step('a quick run beats the baseline shown in the Evaluate panel', async () => {
    await quickRun(page, { Epochs: '3', 'Sequence length': '48', 'Warm-up steps': '0' })
    await trainAndCheck(studio, page)
  })
})

test('Head only: the count is the head alone, and its share of the weights does not read 0.0%', async ({ page }) => {
  await page.getByLabel('Method', { exact: true }).selectOption({ label: 'Head only (linear probe)' })
  await expect.poll(() => shownTrainable(page)).toBe(head)
  // 258 of 1,072,130 weights is 0.024%: rounded to one decimal it read "(0.0%)", as if nothing trained.
  await expect(page.getByTestId('param-counts')).toHaveText('Trainable with these settings: 258 of 1,072,130 weights (0.02%).')
})

test('the block checkboxes switch to custom freezing and the count follows each click', async ({ page }) => {
  const toggles = page.getByTestId('block-toggles')
  // Default: 'Freeze early blocks' with 3 frozen, so block 3, the final norm and the head train.
  await expect.poll(() => shownTrainable(page)).toBe(block + finalNorm + head)
  await toggles.getByLabel('Freeze block 1').uncheck()
  await expect(page.getByLabel('Method', { exact: true })).toHaveValue('custom')
  await expect(page.getByLabel('Frozen units', { exact: true })).toHaveValue('emb,0,2')
  await expect.poll(() => shownTrainable(page)).toBe(2 * block + finalNorm + head)
  await toggles.getByLabel('Freeze final norm').check()
  await expect.poll(() => shownTrainable(page)).toBe(2 * block + head)
  await page.getByText(/^Layers \(/).click() // open the layer table
  await expect(page.getByRole('row', { name: /^lnf/ })).toContainText('frozen')
  await expect(page.getByRole('row', { name: /^h1\.attn\.qkv/ })).toContainText('trainable')
})

test('two label columns train two heads, with accuracy per task in the Evaluate panel', async ({ studio, page }) => {
  // The spam/ham rows plus a second label column the text also decides: short or long.
  const lines = smallSpamHam(160).trimEnd().split('\n')
  const csv = [`${lines[0]},category`, ...lines.slice(1).map((l) => `${l},${l.length > 320 ? 'long' : 'short'}`)].join('\n') + '\n'
  await studio.uploadDataset('two-labels.csv', csv)
  await studio.waitForDataset('two-labels.csv')
  await expect(page.getByTestId('dataset-summary')).toContainText('2 label columns')
  // Default method (3 of 4 blocks frozen): block 3, the final norm and one 2-class head per task.
  await expect.poll(() => shownTrainable(page)).toBe(block + finalNorm + 2 * head)
  await quickRun(page, { Epochs: '2', 'Sequence length': '48', 'Warm-up steps': '0', 'Task loss weights': '1,0.5' })
  await studio.trainButton.click()
  await studio.waitFinished(300_000)
  const table = page.getByTestId('task-metrics')
  await expect(table).toBeVisible()
  await expect(table.getByRole('row')).toHaveCount(3) // header + 2 tasks
  // Each task's own "Loss weight" cell holds the weight typed above, and its accuracies are percentages.
  await expect(table.getByRole('columnheader').nth(1)).toHaveText('Loss weight')
  const cells = (task: RegExp) => table.getByRole('row', { name: task }).getByRole('cell')
  await expect(cells(/^label/).nth(0)).toHaveText('1')
  await expect(cells(/^category/).nth(0)).toHaveText('0.5')
  for (const task of [/^label/, /^category/]) {
    await expect(cells(task).nth(1)).toHaveText(/^\d+\.\d%$/)
    await expect(cells(task).nth(2)).toHaveText(/^\d+\.\d%$/)
  }
  await expect(page.getByRole('alert')).toHaveCount(0)
})
