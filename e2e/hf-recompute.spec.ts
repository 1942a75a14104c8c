// Recomputing activations (the "Recompute activations" setting, engine/hf/recompute.ts) changes
// how much a Hugging Face model's training step holds, never its numbers: in the built app, a
// tiny GPT-2 loaded by repo id and tuned with LoRA (dropout on, so the recomputed blocks must
// draw the masks the first pass drew) gives the same validation loss at every epoch with the
// setting off and on, and the run history keeps which run recomputed.
import { readFileSync } from 'node:fs'
import { expect, test } from './fixtures'
import { loadFromHub, serveHub, tinyGpt2Files } from './hfHub'

const REPO = 'studio-e2e/tiny-gpt2-recompute'

test('LoRA with dropout on a Hugging Face GPT-2: the same validation losses with activations recomputed as without', async ({ studio, page }) => {
  serveHub(page, new Map([[REPO, tinyGpt2Files({ d: 16, layers: 2, positions: 64 })]]))
  await studio.open()
  await loadFromHub(page, REPO)

  const text = readFileSync(new URL('../public/samples/moby-dick-excerpt.txt', import.meta.url), 'utf8')
  await studio.uploadDataset('whale-part.txt', text.slice(0, text.indexOf('\n', 4_000)), 'text/plain')
  await studio.waitForDataset('whale-part.txt')
  await page.getByLabel('Method', { exact: true }).selectOption({ label: 'LoRA' })
  await page.getByLabel('LoRA rank', { exact: true }).fill('4')
  await page.getByLabel('LoRA dropout', { exact: true }).fill('0.2')
  await page.getByLabel('Learning rate', { exact: true }).fill('0.02')
  await page.getByLabel('Sequence length', { exact: true }).fill('32')
  await page.getByLabel('Batch size', { exact: true }).fill('4')
  await page.getByLabel('Epochs', { exact: true }).fill('2')
  await page.getByLabel('Warm-up steps', { exact: true }).fill('0')
  const recompute = page.getByLabel('Recompute activations', { exact: true })
  await expect(recompute).not.toBeChecked()

  const run = async () => {
    await expect(studio.trainButton).toBeEnabled()
    await studio.trainButton.click()
    await studio.waitFinished(150_000)
    return (await studio.series()).epochs.map((e) => e.valLoss)
  }
  const kept = await run()
  await recompute.check()
  const again = await run()
  test.info().annotations.push({ type: 'validation losses', description: `kept ${kept.map((x) => x.toFixed(6)).join(', ')}; recomputed ${again.map((x) => x.toFixed(6)).join(', ')}` })
  expect(kept).toHaveLength(2)
  expect(again).toHaveLength(2)
  // the runs trained (an untrained 50,257-way model is near ln V = 10.8)
  expect(kept[1]!).toBeLessThan(kept[0]!)
  for (let e = 0; e < 2; e++) expect(Math.abs(again[e]! - kept[e]!), `epoch ${e + 1}`).toBeLessThan(1e-5 * kept[e]!)
})
