import { expect, test } from './fixtures'

// The first click on a laptop or tablet (one column below 1100 px): the charts sit far down the
// page, above the Train step, so Train in the run bar started a run whose chart was nowhere in
// sight. Train brings the charts into view there; on a wide screen they are beside the settings
// already, and the page does not move.
for (const { width, height, moves } of [
  { width: 1024, height: 700, moves: true },
  { width: 390, height: 844, moves: true },
  { width: 1280, height: 800, moves: false },
]) {
  test(`${width}×${height}: after Train the loss chart is in view, and so is Train`, async ({ studio, page }) => {
    await page.setViewportSize({ width, height })
    await studio.open('v=2&ep=1&sl=32&wu=0')
    const chart = page.getByTestId('loss-chart')
    if (moves) await expect(chart).not.toBeInViewport()
    await studio.trainButton.click()
    await expect(chart).toBeInViewport()
    await expect(studio.trainButton).toBeInViewport({ ratio: 1 })
    if (!moves) expect(await page.evaluate(() => window.scrollY)).toBe(0)
    await expect.poll(() => studio.lossPoints(), { timeout: 60_000 }).toBeGreaterThan(0)
    await expect(chart).toBeInViewport()
    await studio.waitEnded()
  })
}
