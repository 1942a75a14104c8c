// The Pooling setting for a Hugging Face encoder in the page (issue 16.2): a tiny BERT from files
// on disk, the mean of the token states chosen with the keyboard (its help says which exports
// each choice allows), a head-only run that records the pooling it trained, a continued run that
// keeps the checkpoint's pooling although the page has moved back to [CLS], a [CLS] run after
// which that checkpoint restores with its mean-pooled head, and the "Merged
// model" export: the encoder plus studio_head.safetensors, since no Hugging Face class reads a
// mean-pooled head. The setting is locked while a run goes (each change of its lock recorded as it happens), and axe finds nothing serious.
import AxeBuilder from '@axe-core/playwright'
import { unzipSync } from 'fflate'
import { readFileSync } from 'node:fs'
import { BERT_CONFIG, bertTokenizerFiles, inputFile, reviews, tinyBert } from './hfBert'
import { expect, test } from './fixtures'

const MEAN = 'Mean of token states (sentence encoders such as MiniLM)'

test('a BERT encoder with mean pooling: chosen with the keyboard, recorded with the run, kept by a resume, exported with the studio’s head', async ({ studio, page }) => {
  await studio.open()
  await studio.uploadDataset('reviews.csv', reviews(48))
  await studio.waitForDataset('reviews.csv')
  const section = page.locator('details.model-load')
  if ((await section.getAttribute('open')) === null) await section.locator('summary').first().click()
  await page.getByLabel('Hugging Face model files').setInputFiles([inputFile('config.json', JSON.stringify(BERT_CONFIG)), inputFile('model.safetensors', tinyBert(16)), ...bertTokenizerFiles()])
  await expect(page.getByTestId('model-title')).toContainText('chosen files — pretrained', { timeout: 60_000 })
  // a plain BertModel with no sentence-transformers files: "as the checkpoint says" is [CLS]
  await expect(page.getByText(/An encoder: it fine-tunes for classification and regression, reading the \[CLS\] token \(no sentence-transformers files say otherwise/)).toBeVisible()

  const pooling = page.getByLabel('Pooling', { exact: true })
  await test.step('the Pooling control: in the advanced method settings, explained, reached and set with the keyboard', async () => {
    const advanced = page.getByTestId('advanced-settings')
    if ((await advanced.getAttribute('open')) === null) await advanced.locator('summary').click()
    await expect(advanced).toHaveAttribute('open')
    await expect(pooling).toHaveValue('auto')
    await expect(page.locator(`#${await pooling.getAttribute('aria-describedby')}`)).toContainText(/AutoModelForSequenceClassification loads.*studio_head\.safetensors/)
    // Tab from the control before it lands on it; the arrow keys choose
    await page.getByLabel('Head-first epochs', { exact: true }).focus()
    for (let i = 0; i < 6 && !(await pooling.evaluate((el) => el === document.activeElement)); i++) await page.keyboard.press('Tab')
    await expect(pooling).toBeFocused()
    await page.keyboard.press('ArrowDown')
    await page.keyboard.press('ArrowDown')
    await expect(pooling).toHaveValue('mean')
    await expect(page.getByTestId('changed-settings')).toContainText(`Pooling: ${MEAN}`)
    const { violations } = await new AxeBuilder({ page }).include('#settings').withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']).analyze()
    expect(violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`)).toEqual([])
  })

  let val: number[] = []
  await test.step('a head-only run on the mean: locked while it goes, recorded with its pooling', async () => {
    await page.getByLabel('Method', { exact: true }).selectOption({ label: 'Head only (linear probe)' })
    await page.getByLabel('Learning rate', { exact: true }).fill('0.01')
    await page.getByLabel('Sequence length', { exact: true }).fill('16')
    await page.getByLabel('Batch size', { exact: true }).fill('8')
    await page.getByLabel('Epochs', { exact: true }).fill('2')
    await page.getByLabel('Warm-up steps', { exact: true }).fill('0')
    await expect(studio.trainButton).toBeEnabled()
    // Each change of the control's disabled state is recorded as it happens: a 2-epoch head-only
    // run on 48 rows can end before a polling check sees the lock.
    const id = (await pooling.getAttribute('id'))!
    await page.evaluate((id) => {
      const seen: string[] = []
      ;(window as unknown as { poolingLock: string[] }).poolingLock = seen
      new MutationObserver((records) => {
        for (const r of records) if ((r.target as Element).id === id) seen.push((r.target as HTMLSelectElement).disabled ? 'locked' : 'open')
      }).observe(document.body, { subtree: true, attributes: true, attributeFilter: ['disabled'] })
    }, id)
    await studio.trainButton.click()
    await studio.waitFinished(60_000)
    await expect(pooling).toBeEnabled()
    expect(await page.evaluate(() => (window as unknown as { poolingLock: string[] }).poolingLock)).toEqual(['locked', 'open'])
    val = (await studio.series()).epochs.map((e) => e.valLoss)
    expect(val).toHaveLength(2)
    await expect(page.getByRole('region', { name: 'Runs', exact: true })).toContainText(`Head only (linear probe), learning rate 0.01, pooling ${MEAN}`)
  })

  await test.step('continued from its epoch-1 checkpoint with the page back on [CLS]: the checkpoint’s mean head trains on, to the same validation loss', async () => {
    await pooling.selectOption('cls')
    await page.getByRole('button', { name: 'Continue training from Epoch 1' }).click()
    await studio.waitFinished(60_000)
    const again = (await studio.series()).epochs.map((e) => e.valLoss)
    expect(again).toHaveLength(2)
    expect(again[1]!).toBeCloseTo(val[1]!, 4)
    await expect(page.getByRole('region', { name: 'Runs', exact: true })).toContainText(`pooling ${MEAN}`)
    await expect(page.getByRole('region', { name: 'Runs', exact: true })).not.toContainText('pooling [CLS]')
    // the page shows the settings the continued run trains with
    await expect(pooling).toHaveValue('mean')
  })

  await test.step('a [CLS] run, then the mean run’s epoch-2 checkpoint restored: its head reads the mean again', async () => {
    await pooling.selectOption('cls')
    await page.getByLabel('Epochs', { exact: true }).fill('1')
    await studio.trainButton.click()
    await studio.waitFinished(60_000)
    await expect(page.getByRole('region', { name: 'Runs', exact: true })).toContainText('pooling [CLS] (as BertForSequenceClassification)')
    // the [CLS] run trained one epoch: both epoch-2 checkpoints are the mean run's (first and continued)
    const rows = page.getByTestId('checkpoint-row').filter({ has: page.getByRole('button', { name: 'Restore Epoch 2' }) })
    await expect(rows).toHaveCount(2)
    const row = rows.first()
    await row.getByRole('button', { name: 'Restore Epoch 2' }).click()
    await expect(row).toContainText('in use')
  })

  await test.step('"Merged model": the encoder as BertModel and the mean-pooled head in the studio’s format', async () => {
    await page.getByLabel('Merged model (Hugging Face)').check()
    // a head whose pooling the body forgot would be exported as BertForSequenceClassification's and refused
    const download = page.waitForEvent('download', { timeout: 30_000 })
    await page.getByRole('button', { name: 'Download model (.zip)' }).click()
    const file = await download
    expect(file.suggestedFilename()).toBe('chosen-files-merged.zip')
    const files = unzipSync(new Uint8Array(readFileSync((await file.path())!)))
    expect(Object.keys(files).sort()).toEqual(['README.md', 'config.json', 'model.safetensors', 'studio_head.safetensors', 'tokenizer.json', 'tokenizer_config.json'])
    expect(JSON.parse(Buffer.from(files['config.json']!).toString('utf8'))).toMatchObject({ architectures: ['BertModel'], hidden_size: 16 })
    const head = Buffer.from(files['studio_head.safetensors']!)
    const header = JSON.parse(head.subarray(8, 8 + Number(head.readBigUInt64LE(0))).toString('utf8')) as Record<string, { shape: number[] }>
    expect(header['head.task.kernel']!.shape).toEqual([16, 2])
    expect(header['head.task.bias']!.shape).toEqual([2])
    expect(Buffer.from(files['README.md']!).toString('utf8')).toMatch(/mean of the last hidden states over real tokens.*AutoModelForSequenceClassification does not load it/)
  })
})
