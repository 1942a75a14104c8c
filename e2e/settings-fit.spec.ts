import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import * as tf from '@tensorflow/tfjs'
import { modelFiles } from '../src/engine/models/testModels'
import { expect, test } from './fixtures'

// A person's own Keras-style MLP with two hidden layers (so 2 blocks), written here with
// TensorFlow.js as model.json + .bin, and a CSV of the rows it reads. Loaded through the page
// with step 3 untouched, the default "Freeze early blocks" with 3 frozen blocks does not fit it:
// the page sets Frozen blocks to what it takes, says so, and Train works on the first click.
// What the person or a link set is never changed: it is refused, with a button that fixes it.
let dir = ''
const modelPaths: string[] = []

function table(rows: number): string {
  let s = 11
  const rnd = () => ((s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31)
  const lines = ['age,score,income,kind']
  for (let i = 0; i < rows; i++) {
    const [a, b, c] = [rnd() * 2 - 1, rnd() * 2 - 1, rnd() * 2 - 1] as [number, number, number]
    const kind = a + b > 0.4 ? 'high' : a - c > 0 ? 'mid' : 'low'
    lines.push(`${(40 + 20 * a).toFixed(3)},${(0.5 * b).toFixed(4)},${(50000 + 30000 * c).toFixed(1)},${kind}`)
  }
  return lines.join('\n') + '\n'
}

test.beforeAll(async () => {
  await tf.setBackend('cpu')
  const init = (k: number) => tf.initializers.glorotUniform({ seed: 200 + k })
  const m = tf.sequential({ name: 'my_mlp' })
  m.add(tf.layers.dense({ inputShape: [3], units: 8, activation: 'relu', kernelInitializer: init(1), name: 'hidden1' }))
  m.add(tf.layers.dense({ units: 8, activation: 'relu', kernelInitializer: init(2), name: 'hidden2' }))
  m.add(tf.layers.dense({ units: 3, activation: 'softmax', kernelInitializer: init(3), name: 'out' }))
  dir = mkdtempSync(join(tmpdir(), 'fit-mlp-'))
  for (const [name, bytes] of await modelFiles(m, 1)) {
    writeFileSync(join(dir, name), bytes)
    modelPaths.push(join(dir, name))
  }
  writeFileSync(join(dir, 'people.csv'), table(160))
  m.dispose()
})

async function loadTableAndModel(page: import('@playwright/test').Page) {
  await page.getByLabel(/Your own file/).setInputFiles(join(dir, 'people.csv'))
  await expect(page.getByTestId('dataset-summary')).toContainText('people.csv', { timeout: 60_000 })
  await page.getByText('Load a model', { exact: true }).click()
  await page.getByLabel(/Model files \(model\.json/).setInputFiles(modelPaths)
  await expect(page.getByTestId('model-title')).toContainText('my_mlp', { timeout: 60_000 })
}

test('step 3 untouched: the defaults are fitted to a 2-block MLP, the page says so, and Train works on the first click', async ({ studio, page }) => {
  await studio.open()
  await expect(page.getByTestId('settings-fitted')).toHaveCount(0)
  await loadTableAndModel(page)
  await expect(page.getByTestId('settings-fitted')).toHaveText('Frozen blocks set to 2: my_mlp has 2 blocks.')
  await expect(page.getByLabel('Method', { exact: true })).toHaveValue('freeze')
  await expect(page.getByLabel('Frozen blocks', { exact: true })).toHaveValue('2')
  await expect(studio.alerts).toHaveCount(0)
  await expect(studio.trainButton).toBeEnabled({ timeout: 30_000 })
  await studio.trainButton.click()
  await studio.waitFinished(180_000)
  await expect(studio.alerts).toHaveCount(0)
})

test('Frozen blocks set by a link or on the page is refused, not changed, and its button applies the value the model takes', async ({ studio, page }) => {
  await studio.open('ff=3')
  await loadTableAndModel(page)
  const frozen = page.getByLabel('Frozen blocks', { exact: true })
  const control = page.locator('[data-setting="freezeFirst"]')
  const refusal = control.getByRole('alert')
  await expect(refusal).toContainText('The model has only 2 blocks; set Frozen blocks to 2 or less.')
  await expect(frozen).toHaveValue('3')
  await expect(page.getByTestId('settings-fitted')).toHaveCount(0)
  await expect(studio.trainButton).toBeDisabled()
  await control.getByRole('button', { name: 'Use Frozen blocks 2' }).click()
  await expect(frozen).toHaveValue('2')
  await expect(refusal).toHaveCount(0)
  await expect(control.getByRole('button', { name: /^Use / })).toHaveCount(0)
  await expect(studio.trainButton).toBeEnabled({ timeout: 30_000 })
  // the person types 3 themselves: refused again, still not changed
  await frozen.fill('3')
  await expect(refusal).toContainText('The model has only 2 blocks')
  await expect(control.getByRole('button', { name: 'Use Frozen blocks 2' })).toBeVisible()
  await expect(frozen).toHaveValue('3')
  await expect(studio.trainButton).toBeDisabled()
})
