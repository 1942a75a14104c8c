import { expect, test } from './fixtures'

// The emoji CNN's narrowest pointwise conv (b0.pw, 32 → 64 channels) caps LoRA's rank at 32
// (public/models/emoji-cnn/model.json: stem 32, blocks 64, 96, 96, 192, 192, 192, 256).
// Its width is 256, so the old check let 48 through and the run's own setup failed on the
// Method control. Now the page checks the model's limits as the setting changes.
const PW = [[32, 64], [64, 96], [96, 96], [96, 192], [192, 192], [192, 192], [192, 256]] as const
const CLASSES = 5 // the OpenMoji sample: animals, faces, flags, food, travel
const loraTrainable = (r: number) => PW.reduce((n, [i, o]) => n + r * (i + o), 0) + 256 * CLASSES + CLASSES

test('LoRA rank 48 on the emoji CNN: the LoRA rank control says 32 works, Train refuses until it is changed', async ({ studio, page, baseURL }) => {
  await studio.open()
  await studio.loadEmojiSampleAndCnn(baseURL!)
  const rankControl = page.locator('[data-setting="loraRank"]')
  const methodControl = page.locator('[data-setting="method"]')

  await test.step('choose LoRA, rank 48', async () => {
    await page.getByLabel('Method', { exact: true }).selectOption({ label: 'LoRA' })
    const rank = page.getByLabel('LoRA rank', { exact: true })
    await rank.fill('48')
    await rank.blur()
  })

  await test.step('the message is on LoRA rank, names the layer and a rank that works; Method is fine', async () => {
    await expect(rankControl.locator('.problem')).toHaveText('LoRA rank 48 is larger than layer b0.pw allows (its kernel is 32 wide on its narrower side); set LoRA rank to 32 or less (4–16 is typical).')
    await expect(page.getByLabel('LoRA rank', { exact: true })).toHaveAccessibleDescription(/set LoRA rank to 32 or less/)
    await expect(methodControl.locator('.problem')).toHaveCount(0)
  })

  await test.step('Train refuses', async () => {
    await expect(studio.trainButton).toBeDisabled()
    await expect(studio.status).toContainText('Fix the setting marked in step 3 to train.')
  })

  await test.step('rank 32, the value it named: the message goes, the plan counts LoRA on the seven pointwise convs, Train is ready', async () => {
    const rank = page.getByLabel('LoRA rank', { exact: true })
    await rank.fill('32')
    await rank.blur()
    await expect(rankControl.locator('.problem')).toHaveCount(0)
    await expect(page.getByTestId('param-counts').locator('strong')).toHaveText(loraTrainable(32).toLocaleString('en-US'))
    await expect(studio.trainButton).toBeEnabled()
  })
})
