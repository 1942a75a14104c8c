import { expect, test } from './fixtures'

// Image augmentation end to end: the preview is drawn in the worker by the training loop's own
// augmentation code with the page's settings (off: the images as loaded), and an image run
// with augmentation on trains to completion on the emoji CNN and says what it applied.
test('image augmentation: the preview shows what the settings do, and an augmented image run trains', async ({ studio, page }) => {
  test.setTimeout(300_000)
  await studio.open('ep=1&m=head&lr=0.01')
  const box = page.getByTestId('augment-preview')
  const note = page.getByTestId('augment-note')
  /** RGBA of every preview canvas whose name ends with `suffix`, in page order. */
  const pixels = (suffix: string) => box.locator(`canvas[aria-label$="${suffix}"]`).evaluateAll((cs) => cs.map((c) => Array.from((c as HTMLCanvasElement).getContext('2d')!.getImageData(0, 0, 64, 64).data)))
  const preview = async (expectNote: RegExp) => {
    await page.getByRole('button', { name: 'Preview augmentation' }).click()
    await expect(note).toContainText(expectNote)
    await expect(box.locator('canvas[aria-label$=", augmented"]')).toHaveCount(6)
    return { loaded: await pixels(', as loaded'), augmented: await pixels(', augmented') }
  }

  await test.step('load the OpenMoji sample and the built-in emoji CNN', async () => {
    await page.getByLabel('Sample dataset').selectOption('emoji-openmoji.zip')
    await studio.waitForDataset('emoji-openmoji.zip')
    await page.getByRole('button', { name: /^Emoji CNN/ }).click()
    await expect(page.getByTestId('model-title')).toContainText('Emoji CNN', { timeout: 120_000 })
  })

  await test.step('augmentation off (the default): the preview says so and shows the images unchanged', async () => {
    const off = await preview(/Augmentation is off/)
    expect(off.loaded).toHaveLength(6)
    expect(off.augmented).toEqual(off.loaded)
  })

  const first = await test.step('flips, shift and crop, rotation and colour jitter on: every previewed image changes', async () => {
    await page.getByLabel('Random flips', { exact: true }).check()
    await page.getByLabel('Shift and crop', { exact: true }).fill('0.2')
    await page.getByLabel('Rotation', { exact: true }).fill('15')
    await page.getByLabel('Colour jitter', { exact: true }).fill('0.3')
    await expect(page).toHaveURL(/af=1/)
    const on = await preview(/horizontal flips, shift\/crop up to 20 %, rotation up to ±15°, colour jitter ±30 %/)
    await expect(note).toContainText('training step 2')
    on.augmented.forEach((a, i) => expect(a, `image ${i + 1} augmented`).not.toEqual(on.loaded[i]))
    return on
  })

  await test.step('the next preview shows the next training step: other draws of the same images', async () => {
    const next = await preview(/training step 3/)
    expect(next.loaded).toEqual(first.loaded)
    next.augmented.forEach((a, i) => expect(a, `image ${i + 1}, step 3 vs step 2`).not.toEqual(first.augmented[i]))
  })

  await test.step('train the head with augmentation on: the run completes and says what was applied', async () => {
    await expect(studio.trainButton).toBeEnabled({ timeout: 30_000 })
    await studio.trainButton.click()
    await studio.waitFinished(240_000)
    await expect(studio.status).toContainText('Training images were augmented (horizontal flips, shift/crop up to 20 %, rotation up to ±15°, colour jitter ±30 %); validation images were not.')
  })
})
