/**
 * Instruction tuning, preference tuning and learning without labels through the page (issue
 * 17): real files uploaded through the file inputs (small slices of the shipped samples in
 * public/samples/lm/), trained by the worker's one loop with the built-in LM, and checked
 * against what the rows themselves say, not against the code under test.
 */
import { mkdirSync, readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { expect, test } from './fixtures'
import type { Page } from '@playwright/test'
import AxeBuilder from '@axe-core/playwright'

const lm = (f: string) => readFileSync(new URL(`../public/samples/lm/${f}`, import.meta.url), 'utf8')
const lines = (f: string, from: number, to: number) => lm(f).trim().split('\n').slice(from, to).join('\n') + '\n'
const panel = (page: Page) => page.locator('#objectives')

/** Serious and critical axe violations inside the objectives panel, one line each. */
async function axeProblems(page: Page): Promise<string[]> {
  const { violations } = await new AxeBuilder({ page }).include('#objectives').withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']).analyze()
  return violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => `${v.impact} ${v.id}: ${v.help} — ${v.nodes.map((n) => n.target.join(' ')).slice(0, 5).join(', ')}`)
}

/** The README's pictures of the panel, rewritten only when asked (as e2e/workspace.spec.ts):
 *  `UPDATE_SCREENSHOTS=1 npx playwright test e2e/lm-objectives.spec.ts`. */
async function readmeScreenshot(page: Page, name: string) {
  if (process.env.UPDATE_SCREENSHOTS !== '1') return
  const dir = fileURLToPath(new URL('../docs/', import.meta.url))
  mkdirSync(dir, { recursive: true })
  await page.setViewportSize({ width: 1280, height: 1400 })
  await page.addStyleTag({ content: 'header.top { position: static !important; }' }) // the sticky run bar would cover the panel
  await panel(page).screenshot({ path: `${dir}${name}` })
}

async function upload(page: Page, label: RegExp, name: string, text: string) {
  await panel(page).getByLabel(label).setInputFiles({ name, mimeType: 'application/jsonl', buffer: Buffer.from(text) })
}

test('instruction tuning: the preview marks only the answer tokens, chat rows with bad roles are named, a LoRA run beats the model before tuning and the TRL recipe downloads', async ({ studio, page }) => {
  await studio.open('m=lora&ep=4&bs=8&lr=0.01&sl=48&wu=0&do=0')
  await panel(page).getByRole('radio', { name: /Instruction tuning/ }).check()
  await test.step('a chat file: bad rows named, the mask covers the assistant turn only', async () => {
    const good = lines('afinn-chat.jsonl', 0, 4).trim().split('\n')
    const bad = [
      JSON.stringify({ messages: [{ role: 'user', content: 'awful' }, { role: 'robot', content: 'negative' }] }),
      JSON.stringify({ messages: [{ role: 'user', content: 'lovely' }] }),
    ]
    await upload(page, /^Training file/, 'chat.jsonl', [...good.slice(0, 2), ...bad, ...good.slice(2)].join('\n') + '\n')
    const data = page.getByTestId('lm-data')
    await expect(data).toContainText('chat.jsonl: 4 rows (chat')
    await expect(page.getByTestId('lm-problems')).toContainText('Row 3')
    await expect(page.getByTestId('lm-problems')).toContainText('"robot"')
    await expect(page.getByTestId('lm-problems')).toContainText('Row 4')
    const first = JSON.parse(good[0]!) as { messages: { role: string; content: string }[] }
    const row = page.getByTestId('mask-preview').locator('.mask-row').first()
    const trained = (await row.locator('[data-trained="true"]').allTextContents()).join('')
    expect(trained).toBe(` ${first.messages.at(-1)!.content}<eos>`) // the assistant's answer and its end, nothing else
    const context = (await row.locator('[data-trained="false"]').allTextContents()).join('')
    expect(context).toContain(`User: ${first.messages[1]!.content}\nAssistant:`) // the user turn and the header are context
    // 48 tokens cannot hold the system message: its start is cut and the rows are counted, never the answer.
    expect(context.startsWith('<bos>')).toBe(true)
    expect(context).not.toContain(first.messages[0]!.content)
    await expect(data).toContainText('4 rows longer than the sequence length: the start of the prompt is cut, never the answer')
  })
  await test.step('a CSV: the two columns chosen on the page', async () => {
    const rows = lines('afinn-instructions.jsonl', 0, 5).trim().split('\n').map((l) => JSON.parse(l) as { prompt: string; completion: string })
    const q = (x: string) => `"${x.replace(/"/g, '""')}"`
    const csv = ['id,question,answer', ...rows.map((r, i) => `${i + 1},${q(r.prompt)},${q(r.completion)}`)].join('\n') + '\n'
    await upload(page, /^Training file/, 'pairs.csv', csv)
    await expect(page.getByTestId('lm-data')).toContainText('pairs.csv: 5 rows')
    await expect(panel(page).getByRole('combobox', { name: 'Prompt column' })).toHaveValue('id') // no column named prompt: the first two
    await panel(page).getByRole('combobox', { name: 'Completion column' }).selectOption('answer')
    await expect(panel(page).getByRole('combobox', { name: 'Completion column' })).toHaveValue('answer')
    await panel(page).getByRole('combobox', { name: 'Prompt column' }).selectOption('question')
    await expect(panel(page).getByRole('combobox', { name: 'Prompt column' })).toHaveValue('question')
    const row = page.getByTestId('mask-preview').locator('.mask-row').first()
    await expect.poll(async () => (await row.locator('[data-trained="true"]').allTextContents()).join('')).toBe(`${rows[0]!.completion}<eos>`)
    await expect(row).toContainText('positive or negative?')
    expect(await axeProblems(page)).toEqual([]) // the column choices explain themselves
    await expect(panel(page).getByRole('combobox', { name: 'Completion column' })).toHaveAccessibleDescription(/only these tokens .* count in the loss/)
  })
  await test.step('prompt/completion files train and beat the model before tuning on the held-out rows', async () => {
    await upload(page, /^Training file/, 'instructions.jsonl', lines('afinn-instructions.jsonl', 0, 64))
    await upload(page, /^Held-out file/, 'held-out.jsonl', lines('afinn-instructions-validation.jsonl', 0, 32))
    await expect(page.getByTestId('lm-data')).toContainText('instructions.jsonl: 64 rows; held out: held-out.jsonl, 32')
    const row = page.getByTestId('mask-preview').locator('.mask-row').first()
    const firstRow = JSON.parse(lines('afinn-instructions.jsonl', 0, 1)) as { prompt: string; completion: string }
    expect((await row.locator('[data-trained="true"]').allTextContents()).join('')).toBe(`${firstRow.completion}<eos>`)
    await page.getByTestId('lm-train').click()
    await studio.waitFinished(120_000)
    const message = (await page.getByTestId('lm-result').innerText()).trim()
    const m = /best validation answer loss ([\d.]+), perplexity ([\d,.]+) \(line to beat: model before tuning ([\d.]+), ([\d,.]+)\)/.exec(message) // perplexities in the thousands have separators
    expect(m, message).not.toBeNull()
    const [tuned, base] = [Number(m![1]), Number(m![3])]
    expect(base).toBeGreaterThan(3) // the base model never answers in this format
    expect(tuned).toBeLessThan(base - 1)
  })
  await test.step('the playground answers a held-out prompt before and after, the same way the rows were written', async () => {
    const held = JSON.parse(lines('afinn-instructions-validation.jsonl', 11, 12)) as { prompt: string } // "cheering", never trained on
    await panel(page).getByLabel('Prompt', { exact: true }).fill(held.prompt)
    await panel(page).getByRole('button', { name: 'Send' }).click()
    await expect(page.getByTestId('chat-tuned')).toContainText(/After tuning:\s+(positive|negative)\s*$/, { timeout: 30_000 })
    await expect(page.getByTestId('chat-base')).not.toContainText('…')
    await readmeScreenshot(page, 'screenshot-sft.png')
  })
  await test.step('the TRL recipe: train.py with SFTTrainer, the rows as train.jsonl, the launch command', async () => {
    const files: Record<string, string> = {}
    page.on('download', async (d) => (files[d.suggestedFilename()] = readFileSync((await d.path())!, 'utf8')))
    await panel(page).getByRole('button', { name: 'Download the TRL recipe' }).click()
    await expect.poll(() => Object.keys(files).sort().join(','), { timeout: 15_000 }).toBe('launch.sh,train.jsonl,train.py')
    expect(files['train.py']).toContain('SFTTrainer')
    expect(files['train.py']).toContain('completion_only_loss=True')
    expect(files['train.py']).toContain('learning_rate=0.01')
    expect(files['train.jsonl']!.trim().split('\n')).toHaveLength(64)
    expect(files['launch.sh']).toContain('accelerate launch')
  })
})

test('preference tuning: DPO on e-mail pairs raises held-out preference accuracy above the base model and the reward margin above 0, with its charts', async ({ studio, page }) => {
  await studio.open('m=lora&ep=3&bs=8&lr=0.005&sl=64&wu=0&do=0')
  await panel(page).getByRole('radio', { name: /Preference tuning/ }).check()
  // One bad pair among them: the same answer twice, so there is nothing to prefer.
  const same = JSON.stringify({ prompt: 'E-mail: Free money\nSpam or ham?\nAnswer:', chosen: ' spam', rejected: ' spam ' })
  await upload(page, /^Training file/, 'pairs.jsonl', lines('spam-ham-preferences.jsonl', 0, 64) + same + '\n')
  await upload(page, /^Held-out file/, 'held-out-pairs.jsonl', lines('spam-ham-preferences-validation.jsonl', 0, 48))
  await expect(page.getByTestId('lm-data')).toContainText('pairs.jsonl: 64 pairs; held out: held-out-pairs.jsonl, 48')
  await expect(page.getByTestId('lm-problems')).toContainText('Row 65: "chosen" and "rejected" are the same answer')
  const first = JSON.parse(lines('spam-ham-preferences.jsonl', 0, 1)) as { chosen: string; rejected: string }
  const row = page.getByTestId('mask-preview').locator('.mask-row').first()
  const trained = (await row.locator('[data-trained="true"]').allTextContents()).join('')
  expect(trained).toBe(`${first.chosen}<eos>${first.rejected}<eos>`) // the chosen, then the rejected answer
  await panel(page).getByLabel('DPO beta').fill('0.1')
  await page.getByTestId('lm-train').click()
  await studio.waitFinished(150_000)
  const summary = (await page.getByTestId('dpo-summary').innerText()).trim()
  const m = /Preference accuracy ([\d.]+)% before tuning → ([\d.]+)% after epoch 3; reward accuracy ([\d.]+)%, reward margin (-?\d+\.\d+)/.exec(summary)
  expect(m, summary).not.toBeNull()
  const [before, after, , margin] = m!.slice(1).map(Number) as [number, number, number, number]
  test.info().annotations.push({ type: 'dpo', description: summary })
  expect(after).toBeGreaterThan(before)
  expect(margin).toBeGreaterThan(0)
  await expect(page.getByTestId('dpo-charts')).toContainText('chosen log-probability')
  await expect(page.getByTestId('dpo-charts')).toContainText('Training batches') // per-step rewards as the loop trains
  await expect(page.getByTestId('dpo-charts')).toContainText("base model's preference accuracy")
  expect(await axeProblems(page)).toEqual([]) // the panel with its preview, charts and chat
  await readmeScreenshot(page, 'screenshot-dpo.png')
})

test('learning without labels: zero-shot labels with a confidence histogram, a threshold no row reaches is refused by name, and self-training the model\'s label scores beats the zero-shot labels on the labelled file', async ({ studio, page }) => {
  // The settings of pseudoLabelHost.test.ts (LoRA, 3 epochs at 0.002, seed 42), two rounds.
  await studio.open('m=lora&ep=3&bs=16&lr=0.002&sl=32&wu=0&do=0&sd=42')
  await panel(page).getByRole('radio', { name: /Learning without labels/ }).check()
  await panel(page).getByLabel('Unlabelled texts (CSV)').setInputFiles({ name: 'passages.csv', mimeType: 'text/csv', buffer: Buffer.from(lm('sea-or-government-unlabelled.csv')) })
  await panel(page).getByLabel(/Labelled validation file/).setInputFiles({ name: 'labelled.csv', mimeType: 'text/csv', buffer: Buffer.from(lm('sea-or-government-validation.csv')) })
  await panel(page).getByRole('textbox', { name: 'Class names' }).fill('sea, government')
  await panel(page).getByRole('button', { name: 'Label the texts zero-shot' }).click()
  await expect(page.getByTestId('pseudo')).toContainText('passages.csv: 400 texts labelled zero-shot as sea / government', { timeout: 60_000 })
  await expect(page.getByTestId('confidence-histogram')).toBeVisible()
  const zeroShot = Number((await page.getByTestId('zero-shot-accuracy').innerText()).replace('%', ''))
  const slider = panel(page).getByLabel(/Confidence threshold/)
  await slider.fill('1')
  await expect(page.getByTestId('pseudo-kept')).toContainText(/Kept 0 of 400.*No row reaches this threshold: lower it/)
  await expect(page.getByTestId('pseudo-train')).toBeDisabled()
  await slider.fill('0.5')
  await expect(page.getByTestId('pseudo-kept')).toContainText('Kept 400 of 400')
  await slider.fill('0.78') // about the most confident quarter of the unlabelled rows
  await expect(page.getByTestId('pseudo-kept')).toContainText(/Balanced: \d+ of each class train/)
  await panel(page).getByLabel('Self-training rounds').fill('2')
  await page.getByTestId('pseudo-train').click()
  await studio.waitFinished(150_000)
  const rounds = [1, 2].map(async (r) => Number((await page.getByTestId(`round-${r}-accuracy`).innerText()).replace('%', '')))
  const [round1, round2] = await Promise.all(rounds)
  test.info().annotations.push({ type: 'pseudo', description: `zero-shot ${zeroShot} %, round 1 ${round1} %, round 2 ${round2} %` })
  await expect(page.getByTestId('pseudo-rounds')).toContainText('base model, zero-shot')
  // The side-by-side table: the last round beats the zero-shot labels on the 200 labelled passages.
  expect(round2).toBeGreaterThan(zeroShot)
  expect(await axeProblems(page)).toEqual([])
  await readmeScreenshot(page, 'screenshot-pseudo.png')
})
