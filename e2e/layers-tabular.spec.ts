import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import * as tf from '@tensorflow/tfjs'
import { strFromU8, unzipSync } from 'fflate'
import { modelFiles } from '../src/engine/models/testModels'
import { expect, test } from './fixtures'

// A person's own Keras-style MLP (three numbers in → two ReLU layers → softmax over three
// classes), made and trained a little here with TensorFlow.js and written to a folder as
// model.json + .bin, and a CSV of the same kind of rows. Both are chosen through the page:
// the table fine-tunes their model (not the studio's own MLP), its output layer kept and
// measured before training, and the export is their network with the tuned weights.
let dir = ''
const modelPaths: string[] = []
const rows = 200

/** The rule: high when a + b > 0.4, else mid when a > c, else low (a, b, c in [-1, 1]). */
const kindOf = (a: number, b: number, c: number) => (a + b > 0.4 ? 'high' : a - c > 0 ? 'mid' : 'low')

function table(): string {
  let s = 7
  const rnd = () => ((s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31)
  const lines = ['age,score,income,kind']
  for (let i = 0; i < rows; i++) {
    const [a, b, c] = [rnd() * 2 - 1, rnd() * 2 - 1, rnd() * 2 - 1] as [number, number, number]
    lines.push(`${(40 + 20 * a).toFixed(3)},${(0.5 * b).toFixed(4)},${(50000 + 30000 * c).toFixed(1)},${kindOf(a, b, c)}`)
  }
  return lines.join('\n') + '\n'
}

test.beforeAll(async () => {
  await tf.setBackend('cpu')
  const init = (k: number) => tf.initializers.glorotUniform({ seed: 100 + k })
  const m = tf.sequential({ name: 'my_mlp' })
  m.add(tf.layers.dense({ inputShape: [3], units: 12, activation: 'relu', kernelInitializer: init(1), name: 'hidden1' }))
  m.add(tf.layers.dense({ units: 12, activation: 'relu', kernelInitializer: init(2), name: 'hidden2' }))
  m.add(tf.layers.dense({ units: 3, activation: 'softmax', kernelInitializer: init(3), name: 'out' }))
  // Their own training: a few rows, each column scaled to [-1, 1] their way.
  let s = 99
  const rnd = () => ((s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31)
  const xs: number[][] = []
  const ys: number[] = []
  for (let i = 0; i < 40; i++) {
    const [a, b, c] = [rnd() * 2 - 1, rnd() * 2 - 1, rnd() * 2 - 1] as [number, number, number]
    xs.push([a, b, c])
    ys.push(['high', 'low', 'mid'].indexOf(kindOf(a, b, c))) // classes in sorted order
  }
  const x = tf.tensor2d(xs)
  const y = tf.oneHot(tf.tensor1d(ys, 'int32'), 3)
  m.compile({ optimizer: tf.train.adam(0.01), loss: 'categoricalCrossentropy' })
  await m.fit(x, y, { epochs: 15, batchSize: 8, shuffle: false, verbose: 0 })
  tf.dispose([x, y])
  dir = mkdtempSync(join(tmpdir(), 'keras-mlp-'))
  for (const [name, bytes] of await modelFiles(m, 1)) {
    writeFileSync(join(dir, name), bytes)
    modelPaths.push(join(dir, name))
  }
  writeFileSync(join(dir, 'people.csv'), table())
  m.dispose()
})

test("a person's own layers MLP is fine-tuned on their table, refused at the wrong width, and exported as their network", async ({ studio, page }) => {
  test.setTimeout(300_000)
  await studio.open('m=full&ep=15&lr=0.01&bs=16')
  await test.step('choose the CSV and their model.json + .bin: the table now trains their model', async () => {
    await page.getByLabel(/Your own file/).setInputFiles(join(dir, 'people.csv'))
    await studio.waitForDataset('people.csv')
    await expect(page.getByTestId('dataset-summary')).toContainText('tabular classification')
    await expect(page.getByTestId('model-title')).toContainText('Tabular MLP for 3 numeric columns')
    await page.getByText('Load a model', { exact: true }).click()
    await page.getByLabel(/Model files \(model\.json/).setInputFiles(modelPaths)
    await expect(page.getByTestId('model-title')).toContainText('my_mlp', { timeout: 60_000 })
    // what the studio feeds it, in words
    await expect(page.getByTestId('model-input')).toContainText("people.csv's numeric feature columns in file order (age, score, income), each standardised")
    await expect(page.getByText(/Its output layer out \(3 class probabilities \(softmax\)\) is kept as the head.*its score before training is the line to beat when better than always answering the majority class/)).toBeVisible()
    await expect(studio.alerts).toHaveCount(0)
  })
  await test.step('two feature columns: refused with both numbers and the columns, and the page keeps its state', async () => {
    await page.getByRole('group', { name: 'Feature columns' }).getByLabel('income').uncheck()
    await page.getByRole('button', { name: 'Use these columns' }).click()
    await expect(page.getByText(/my_mlp reads rows of 3 numbers, but people\.csv gives it 2 feature columns/).first()).toBeVisible({ timeout: 30_000 })
    await expect(page.getByText(/\(age, score\)\. Not fed: income/).first()).toBeVisible()
    await expect(studio.trainButton).toBeDisabled()
    await expect(page.getByTestId('model-title')).toContainText('my_mlp')
    await page.getByRole('group', { name: 'Feature columns' }).getByLabel('income').check()
    await page.getByRole('button', { name: 'Use these columns' }).click()
    await expect(studio.trainButton).toBeEnabled({ timeout: 30_000 })
    await expect(page.getByText(/reads rows of 3 numbers, but/)).toHaveCount(0)
  })
  await test.step('train: their model before training is the line to beat, and the run beats it', async () => {
    await studio.trainButton.click()
    await studio.waitFinished(240_000)
    const text = (await studio.status.textContent()) ?? ''
    test.info().annotations.push({ type: 'result', description: text })
    // named as their model, not "checkpoint head" or "untrained head"
    const m = /best validation accuracy ([\d.]+)% \(line to beat: my_mlp as loaded ([\d.]+)%\)/.exec(text)
    expect(m, text).not.toBeNull()
    expect(Number(m![1])).toBeGreaterThan(Number(m![2]))
    await expect(page.getByTestId('compare')).toContainText("my_mlp's own output layer out, before fine-tuning")
    await expect(page.getByTestId('val-chart')).toContainText(/line to beat, my_mlp as loaded: [\d.]+%/)
    await expect(page.getByTestId('model-title')).toContainText('my_mlp')
    await expect(studio.alerts).toHaveCount(0)
  })
  await test.step('the playground answers a row with their model before and after', async () => {
    await page.getByRole('button', { name: 'Predict' }).click()
    await expect(page.getByTestId('prediction-before')).toContainText('my_mlp as loaded (its own output layer out)', { timeout: 30_000 })
    await expect(page.getByTestId('prediction-after').getByRole('listitem')).toHaveCount(3)
  })
  await test.step('export: their network with the tuned weights, which TensorFlow.js loads', async () => {
    const download = page.waitForEvent('download')
    await page.getByLabel('Merged model').check()
    await page.getByRole('button', { name: 'Download model (.zip)' }).click()
    const d = await download
    expect(d.suggestedFilename()).toBe('my_mlp-finetuned-tfjs.zip')
    const files = unzipSync(new Uint8Array(readFileSync((await d.path())!)))
    expect(Object.keys(files).sort()).toEqual(['README.md', 'card.json', 'model.json', 'weights.bin'])
    const json = JSON.parse(strFromU8(files['model.json']!))
    const original = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8'))
    const shapes = (j: { weightsManifest: { weights: { name: string; shape: number[] }[] }[] }) => j.weightsManifest[0]!.weights.map((w) => `${w.name} ${w.shape.join('×')}`)
    expect(shapes(json)).toEqual(shapes(original))
    const model = await tf.loadLayersModel(tf.io.fromMemory({ modelTopology: json.modelTopology, weightSpecs: json.weightsManifest[0].weights, weightData: files['weights.bin']!.slice().buffer }))
    expect(model.layers.filter((l) => l.getClassName() !== 'InputLayer').map((l) => l.name)).toEqual(['hidden1', 'hidden2', 'out'])
    const bin = readFileSync(modelPaths.find((p) => p.endsWith('.bin'))!)
    expect(Buffer.compare(Buffer.from(files['weights.bin']!), bin)).not.toBe(0) // tuned
    expect(strFromU8(files['README.md']!)).toContain('| income |')
    model.dispose()
  })
})
