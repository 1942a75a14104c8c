import AxeBuilder from '@axe-core/playwright'
import { readFileSync } from 'node:fs'
import { strFromU8, strToU8, unzipSync, zipSync } from 'fflate'
import { deleteAsksFirst, deleteWaits, expect, smallSpamHam, test } from './fixtures'

// Three quick epochs; keep the last 2 checkpoints plus the best.
const quick = 'ep=3&sl=32&bs=16&wu=0&kl=2'

test('checkpoints appear after epochs; restore, rename and delete them', async ({ studio, page }) => {
  await studio.open(quick)
  await studio.uploadDataset('ck.csv', smallSpamHam(60))
  await studio.waitForDataset('ck.csv')
  const rows = page.getByTestId('checkpoint-row')
  await expect(page.getByTestId('no-checkpoints')).toBeVisible()

  await test.step('a checkpoint is listed after each epoch, pruned to the last 2 plus the best', async () => {
    await studio.trainButton.click()
    await expect(rows.first()).toBeVisible({ timeout: 120_000 })
    await studio.waitFinished()
    const { epochs } = await studio.series()
    expect(epochs).toHaveLength(3)
    const best = 1 + epochs.reduce((b, e, i) => (e.valLoss < epochs[b]!.valLoss ? i : b), 0)
    const expected = [...new Set([3, 2, best])].sort()
    await expect.poll(async () => (await rows.evaluateAll((r) => r.map((x) => Number(x.getAttribute('data-epoch'))))).sort()).toEqual(expected)
    await expect(rows.filter({ hasText: 'best' })).toHaveCount(1)
    await expect(page.getByTestId('run-list').getByTestId('run-item')).toHaveCount(1)
    await expect(page.getByTestId('run-item')).toContainText('finished')
  })

  await test.step('restore puts that epoch’s weights in use: Evaluate shows its accuracy', async () => {
    const row = rows.filter({ has: page.getByText('Epoch 2', { exact: true }) })
    const acc = (await row.locator('td').nth(4).innerText()).match(/accuracy ([\d.]+%)/)![1]!
    await page.getByRole('button', { name: 'Restore Epoch 2' }).click()
    await expect(page.getByRole('status').filter({ hasText: 'Restored "Epoch 2"' })).toBeVisible()
    await expect(page.getByTestId('tuned-accuracy')).toHaveText(acc)
    await expect(row).toContainText('in use')
  })

  await test.step('rename (labelled input) survives a reload', async () => {
    await page.getByRole('button', { name: 'Rename Epoch 2' }).click()
    await page.getByLabel('New name for Epoch 2').fill('my <b>keeper</b>')
    await page.getByRole('button', { name: 'Save name' }).click()
    await expect(page.getByTestId('checkpoint-name').filter({ hasText: 'my <b>keeper</b>' })).toBeVisible() // as text, not HTML
    await page.reload()
    await expect(page.getByTestId('checkpoint-name').filter({ hasText: 'my <b>keeper</b>' })).toBeVisible({ timeout: 60_000 })
  })

  await test.step('delete asks first (naming it, its epoch and size); Escape and Keep keep it, also in storage', async () => {
    const before = await rows.count()
    const del = page.getByRole('button', { name: 'Delete Epoch 3' })
    const question = page.getByRole('group', { name: /^Delete checkpoint Epoch 3 \(epoch 3 of 3(, the best of its run)?, \d+(\.\d+)? (B|kB|MB)\)\? Its weights and optimizer state cannot be brought back\.$/ })
    await deleteAsksFirst(page, del, question, async () => {
      await expect(rows).toHaveCount(before)
      const asking = await new AxeBuilder({ page }).include('#checkpoints').withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']).analyze()
      expect(asking.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`)).toEqual([])
    })
    // asked and not answered: nothing was sent to storage either
    await page.reload()
    await expect(page.getByTestId('checkpoint-name').filter({ hasText: /^Epoch 3$/ })).toHaveCount(1, { timeout: 60_000 })
    await expect(rows).toHaveCount(before)
    await del.click()
    await question.getByRole('button', { name: 'Keep' }).click()
    await expect(question).toHaveCount(0)
    await expect(rows).toHaveCount(before)
  })

  await test.step('"Delete for good" removes it, also after a reload; focus goes to the panel heading', async () => {
    const before = await rows.count()
    await page.getByRole('button', { name: 'Delete Epoch 3' }).click()
    await page.getByRole('button', { name: 'Delete for good' }).click()
    await expect(rows).toHaveCount(before - 1)
    await expect(page.getByRole('heading', { name: 'Checkpoints and runs' })).toBeFocused()
    await page.reload()
    await expect(page.getByTestId('checkpoint-name').first()).toBeVisible({ timeout: 60_000 })
    await expect(rows).toHaveCount(before - 1)
    await expect(page.getByTestId('checkpoint-name').filter({ hasText: /^Epoch 3$/ })).toHaveCount(0)
  })

  await test.step('storage use is shown, and the runs view overlays curves with a log scale', async () => {
    await expect(page.getByTestId('storage')).toContainText(/Storage used: .* of /)
    await expect(page.getByTestId('storage')).toContainText(/checkpoints take \d/)
    await page.getByTestId('run-item').getByRole('checkbox').check()
    await expect(page.getByTestId('runs-chart-step')).toHaveAttribute('data-series', '1')
    await expect(page.getByTestId('runs-chart-epoch').locator('.recharts-line')).toHaveCount(1)
    await page.getByLabel('Log scale').check()
    await expect(page.getByTestId('runs-chart-step').locator('.recharts-line')).toHaveCount(1)
  })

  await test.step('the filled panel keeps every control labelled', async () => {
    await page.getByRole('button', { name: /^Rename / }).first().click() // the inline rename input too
    const results = await new AxeBuilder({ page }).include('#checkpoints').withRules(['label', 'button-name', 'aria-input-field-name', 'label-title-only']).analyze()
    expect(results.violations.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`)).toEqual([])
  })
})

test('while a run trains, Delete of its checkpoints and record waits and says why; the in-use checkpoint’s question says its weights stay loaded', async ({ studio, page }) => {
  await studio.open('ep=1&sl=32&bs=4&wu=0')
  await studio.uploadDataset('waits.csv', smallSpamHam(40))
  await studio.waitForDataset('waits.csv')
  const rows = page.getByTestId('checkpoint-row')
  const firstRun = rows.filter({ has: page.locator('td', { hasText: /^1 \/ 1$/ }) })
  const training = rows.filter({ has: page.locator('td', { hasText: /^\d+ \/ 30$/ }) })
  const waits = 'Its run is training: delete it once the run has stopped or finished.'

  await test.step('a restored checkpoint’s question says its weights stay loaded', async () => {
    await studio.trainButton.click()
    await studio.waitFinished()
    await page.getByRole('button', { name: 'Restore Epoch 1' }).click()
    await expect(firstRun).toContainText('in use')
    await page.getByRole('button', { name: 'Delete Epoch 1' }).click()
    const question = page.getByRole('group', { name: /^Delete checkpoint Epoch 1 / })
    await expect(question).toHaveAccessibleName(/^Delete checkpoint Epoch 1 \(epoch 1 of 1, the best of its run, [^)]+\)\? Its weights and optimizer state cannot be brought back\. It is in use: its weights stay loaded for evaluation and the playground until you train, restore another checkpoint, load a model, adapter or \.zip, or apply an α other than 1\.$/)
    await question.getByRole('button', { name: 'Keep' }).click()
  })

  await test.step('a second run, paused after its first checkpoint: its Delete buttons wait and say why; the first run’s do not', async () => {
    await page.getByLabel('Epochs', { exact: true }).fill('30')
    await studio.trainButton.click()
    await expect(training.first()).toBeVisible({ timeout: 120_000 })
    await page.getByRole('button', { name: 'Pause' }).click()
    await expect(studio.status).toHaveText('Paused.')
    await expect(firstRun, 'the run started from the base weights: Epoch 1 is no longer in use').not.toContainText('in use')
    const del = training.first().getByRole('button', { name: /^Delete Epoch \d+$/ })
    await deleteWaits(page, del, waits, training.first())
    await expect(firstRun.getByRole('button', { name: 'Delete Epoch 1' })).toBeEnabled()
    await expect(firstRun).not.toContainText(waits)
    const runs = page.getByTestId('run-item')
    const live = runs.filter({ hasText: '· running ·' }).getByRole('button', { name: /^Delete run / })
    await deleteWaits(page, live, 'This run is training: delete it once it has stopped or finished.', runs.filter({ hasText: '· running ·' }))
    await expect(runs.filter({ hasText: '· finished ·' }).getByRole('button', { name: /^Delete run / })).toBeEnabled()
    const axe = await new AxeBuilder({ page }).include('#checkpoints').withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']).analyze()
    expect(axe.violations.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`)).toEqual([])
  })

  await test.step('stopped, its Delete buttons no longer wait', async () => {
    await page.getByRole('button', { name: 'Stop' }).click()
    await expect(studio.status).toContainText('Training stopped', { timeout: 30_000 })
    await expect(training.first().getByRole('button', { name: /^Delete Epoch \d+$/ })).toBeEnabled()
    await expect(page.getByTestId('delete-waits')).toHaveCount(0)
    await expect(page.getByTestId('run-item').getByRole('button', { name: /^Delete run / })).toHaveCount(2)
    for (const b of await page.getByTestId('run-item').getByRole('button', { name: /^Delete run / }).all()) await expect(b).toBeEnabled()
  })
})

test('a restored checkpoint is “in use” only while its weights are loaded: not after the same model URL loads again, a .zip import or another α', async ({ studio, page, baseURL }) => {
  await studio.open('ep=1&sl=32&bs=16&wu=0')
  await studio.uploadDataset('inuse.csv', smallSpamHam(48))
  await studio.waitForDataset('inuse.csv')
  const url = `${baseURL}/models/tiny-lm/model.json`
  const loadUrl = async () => {
    const section = page.locator('details.model-load')
    if ((await section.getAttribute('open')) === null) await section.locator('summary').first().click()
    await page.getByLabel('Model URL (model.json)').fill(url)
    await page.getByRole('button', { name: 'Load model from URL' }).click()
  }
  await loadUrl()
  await studio.trainButton.click()
  await studio.waitFinished()
  const d = page.waitForEvent('download')
  await page.getByLabel('Adapter only').check()
  await page.getByRole('button', { name: 'Download model (.zip)' }).click()
  const dl = await d
  const adapter = { name: dl.suggestedFilename(), mimeType: 'application/zip', buffer: readFileSync((await dl.path())!) }
  const row = page.getByTestId('checkpoint-row').filter({ has: page.getByText('Epoch 1', { exact: true }) })
  const restore = async () => {
    await page.getByRole('button', { name: 'Restore Epoch 1' }).click()
    await expect(row).toContainText('in use')
  }

  await test.step('the same model URL loaded again: its base weights are in use, not the checkpoint’s', async () => {
    await restore()
    await loadUrl()
    await expect.soft(row).not.toContainText('in use')
  })

  await test.step('an adapter-only .zip imported onto the model: its weights are in use, not the checkpoint’s', async () => {
    await restore()
    await page.getByLabel('Load a fine-tuned model (.zip)').setInputFiles(adapter)
    await expect(page.getByTestId('imported-model')).toContainText(`${adapter.name} (adapter)`, { timeout: 60_000 })
    await expect.soft(row).not.toContainText('in use')
  })

  await test.step('another interpolation α applied to the restored weights: θ(α) is in use, not the checkpoint’s', async () => {
    await restore()
    await page.getByLabel(/^Interpolation α/).fill('0.5')
    await expect(page.getByTestId('alpha-metrics')).toContainText('At α = 0.50', { timeout: 60_000 })
    await expect.soft(row).not.toContainText('in use')
  })
})

test('a restored checkpoint is no longer “in use” once the same model files are loaded again', async ({ studio, page }) => {
  await studio.open('ep=1&sl=32&bs=16&wu=0')
  await studio.uploadDataset('inuse-files.csv', smallSpamHam(48))
  await studio.waitForDataset('inuse-files.csv')
  const tinyLm = (name: string) => ({ name, mimeType: 'application/octet-stream', buffer: readFileSync(new URL(`../public/models/tiny-lm/${name}`, import.meta.url)) })
  const loadFiles = async () => {
    const section = page.locator('details.model-load')
    if ((await section.getAttribute('open')) === null) await section.locator('summary').first().click()
    await page.getByLabel(/Model files \(model\.json/).setInputFiles([tinyLm('model.json'), tinyLm('weights.bin')])
  }
  await loadFiles()
  await studio.trainButton.click()
  await studio.waitFinished()
  const row = page.getByTestId('checkpoint-row').filter({ has: page.getByText('Epoch 1', { exact: true }) })
  await page.getByRole('button', { name: 'Restore Epoch 1' }).click()
  await expect(row).toContainText('in use')
  await loadFiles()
  await expect(row).not.toContainText('in use')
})

test('a restore forgets what described other weights (an import’s record, the sweep, best and kept α) and offers its own weights to the interpolation and Export, also at another α', async ({ studio, page }) => {
  await studio.open('ep=2&sl=32&bs=16&wu=0')
  await studio.uploadDataset('restore-alpha.csv', smallSpamHam(48))
  await studio.waitForDataset('restore-alpha.csv')
  await studio.trainButton.click()
  await studio.waitFinished()
  const exportButton = page.getByRole('button', { name: 'Download model (.zip)' })
  const interpolation = page.getByTestId('interpolate')
  const keepBest = page.getByRole('button', { name: /^Keep best α/ })
  const imported = page.getByTestId('imported-model')
  const d = page.waitForEvent('download')
  await page.getByLabel('Adapter only').check()
  await exportButton.click()
  const dl = await d
  const adapter = { name: dl.suggestedFilename(), mimeType: 'application/zip', buffer: readFileSync((await dl.path())!) }
  const row = page.getByTestId('checkpoint-row').filter({ has: page.getByText('Epoch 1', { exact: true }) })
  const restore = async () => {
    await page.getByRole('button', { name: 'Restore Epoch 1' }).click()
    await expect(page.getByRole('status').filter({ hasText: 'Restored "Epoch 1"' }).last()).toBeVisible()
    await expect(row).toContainText('in use')
  }

  await test.step('after a sweep and a kept α of the run’s weights, a restore: no sweep, no best α to keep, α back at 1', async () => {
    await page.getByRole('button', { name: 'Sweep α from 0 to 1' }).click()
    await expect(page.getByTestId('sweep-chart')).toHaveAttribute('data-points', '11', { timeout: 120_000 })
    await expect(keepBest).toHaveAccessibleName(/^Keep best α \([01]\.\d\)$/)
    await keepBest.click()
    await expect(page.getByTestId('alpha-metrics')).toContainText(/At α = [01]\.\d\d: /)
    await restore()
    await expect.soft(page.getByTestId('sweep-chart')).toHaveCount(0)
    await expect.soft(keepBest).toHaveAccessibleName('Keep best α')
    await expect.soft(keepBest).toBeDisabled()
    await expect.soft(page.getByTestId('alpha-metrics')).toHaveText('Move the slider to measure the model at another α.')
    await expect.soft(page.getByLabel(/^Interpolation α/)).toHaveValue('1')
    await expect.soft(page.getByText('Interpolated at the kept α (α = 1.00)')).toBeVisible()
    await expect.soft(exportButton).toBeEnabled()
  })

  await test.step('another α applied to the restored weights: no longer “in use”, yet θ(α) of them still blends and exports', async () => {
    await page.getByLabel(/^Interpolation α/).fill('0.5')
    await expect(page.getByTestId('alpha-metrics')).toContainText('At α = 0.50', { timeout: 60_000 })
    await expect(row).not.toContainText('in use')
    await expect.soft(interpolation).toBeVisible()
    await expect.soft(exportButton).toBeEnabled()
  })

  await test.step('an import’s record goes once a checkpoint is restored: its weights are no longer loaded', async () => {
    await page.getByLabel('Load a fine-tuned model (.zip)').setInputFiles(adapter)
    await expect(imported).toContainText(`${adapter.name} (adapter)`, { timeout: 60_000 })
    await restore()
    await expect.soft(imported).toHaveCount(0)
    await expect.soft(interpolation).toBeVisible()
    await expect.soft(exportButton).toBeEnabled()
  })
})

test('a run the worker refuses before it sets the weights back to the base (“Continue training” of another model’s run) leaves a finished run’s result, and then the restored checkpoint, in use and offered to Export and the blend', async ({ studio, page, baseURL }) => {
  await studio.open('ep=2&sl=32&bs=16&wu=0')
  await studio.uploadDataset('refused.csv', smallSpamHam(48))
  await studio.waitForDataset('refused.csv')
  const rows = page.getByTestId('checkpoint-row')
  const epochOf = (text: string) => rows.filter({ has: page.locator('td', { hasText: text }) })
  await studio.trainButton.click() // the built-in Tiny LM, 2 epochs: its Epoch 1 offers Continue training
  await studio.waitFinished()
  const section = page.locator('details.model-load')
  if ((await section.getAttribute('open')) === null) await section.locator('summary').first().click()
  await page.getByLabel('Model URL (model.json)').fill(`${baseURL}/models/tiny-lm/model.json`)
  await page.getByRole('button', { name: 'Load model from URL' }).click()
  await expect(page.getByTestId('model-title')).toBeVisible()
  await page.getByLabel('Epochs', { exact: true }).fill('1')
  await expect(studio.trainButton).toBeEnabled()
  await studio.trainButton.click() // the same weights under the URL's id: another model to the checkpoints
  await expect(epochOf('1 / 1')).toHaveCount(1, { timeout: 120_000 })
  await studio.waitFinished()
  const exportButton = page.getByRole('button', { name: 'Download model (.zip)' })
  const refusal = studio.alerts.filter({ hasText: /Checkpoint "Epoch 1" was trained from .*tiny-lm, but .*model\.json is loaded\. Load that model first\./ })

  await test.step('refused, it leaves the finished run shown: its result, charts, Export and blend', async () => {
    await expect(exportButton).toBeEnabled()
    await expect(page.getByTestId('interpolate')).toBeVisible()
    const finished = await page.getByTestId('run-status').innerText()
    const charts = await studio.series()
    await epochOf('1 / 2').getByRole('button', { name: 'Continue training from Epoch 1' }).click()
    await expect(refusal).toBeVisible({ timeout: 60_000 })
    await expect(studio.trainButton).toBeEnabled()
    await expect.soft(page.getByTestId('run-status')).toHaveText(finished)
    expect.soft(await studio.series()).toEqual(charts)
    await expect.soft(exportButton).toBeEnabled()
    await expect.soft(page.getByTestId('interpolate')).toBeVisible()
    await refusal.getByRole('button', { name: 'Dismiss message' }).click()
    await expect(refusal).toHaveCount(0)
  })

  const restoredRow = epochOf('1 / 1')
  await restoredRow.getByRole('button', { name: 'Restore Epoch 1' }).click()
  await expect(restoredRow).toContainText('in use')
  await expect(exportButton).toBeEnabled()
  await expect(page.getByTestId('interpolate')).toBeVisible()

  await epochOf('1 / 2').getByRole('button', { name: 'Continue training from Epoch 1' }).click()
  await expect(refusal).toBeVisible({ timeout: 60_000 })
  await expect(studio.trainButton).toBeEnabled()
  await expect.soft(restoredRow).toContainText('in use')
  await expect.soft(exportButton).toBeEnabled()
  await expect.soft(page.getByTestId('interpolate')).toBeVisible()
})

test('an adapter-only .zip that fails after the weights were set back to the base leaves no restored checkpoint “in use”, and nothing to export or blend', async ({ studio, page }) => {
  await studio.open('ep=1&sl=32&bs=16&wu=0')
  await studio.uploadDataset('bad-adapter.csv', smallSpamHam(48))
  await studio.waitForDataset('bad-adapter.csv')
  await studio.trainButton.click()
  await studio.waitFinished()
  const exportButton = page.getByRole('button', { name: 'Download model (.zip)' })
  const d = page.waitForEvent('download')
  await page.getByLabel('Adapter only').check()
  await exportButton.click()
  const dl = await d
  // the same adapter (made for this base model: its fingerprint matches), said to be for images
  const files = unzipSync(readFileSync((await dl.path())!))
  const tuning = JSON.parse(strFromU8(files['tuning.json']!)) as { task: string }
  expect(tuning.task).toBe('text-classification')
  files['tuning.json'] = strToU8(JSON.stringify({ ...tuning, task: 'image-classification' }))
  const wrongTask = { name: 'image-adapter.zip', mimeType: 'application/zip', buffer: Buffer.from(zipSync(files)) }

  const row = page.getByTestId('checkpoint-row').filter({ has: page.getByText('Epoch 1', { exact: true }) })
  await page.getByRole('button', { name: 'Restore Epoch 1' }).click()
  await expect(row).toContainText('in use')
  await expect(exportButton).toBeEnabled()
  await expect(page.getByTestId('interpolate')).toBeVisible()

  await page.getByLabel('Load a fine-tuned model (.zip)').setInputFiles(wrongTask)
  await expect(studio.alerts.first()).toContainText('image-adapter.zip holds fine-tuned weights for image-classification, which do not apply to the loaded', { timeout: 60_000 })
  await expect.soft(row).not.toContainText('in use')
  await expect.soft(exportButton).toBeDisabled()
  await expect.soft(page.getByTestId('interpolate')).toHaveCount(0)
})
