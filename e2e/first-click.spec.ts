import { expect, test } from './fixtures'

// The promise of the studio: open the page, click Train, watch a pretrained model beat its
// baseline — with the embedded defaults, on whatever backend the studio picks.
test('first click: the default run trains, the loss falls, and it beats the base model', async ({ studio, page }) => {
  await test.step('open the page: sample data, pretrained model and a backend badge', async () => {
    await studio.open()
    await expect(studio.badge).toContainText(/Backend: (WebGPU|WebGL|WebAssembly|CPU)/)
    await expect(studio.badge).toContainText('—') // the reason is always shown
    await expect(page.getByTestId('dataset-rows')).toHaveText('600')
    await expect(page.getByTestId('model-title')).toContainText('pretrained')
  })

  const clickedAt = Date.now()
  await test.step('click Train and see steps arrive on the chart', async () => {
    // Long tasks are counted from the click on: page start-up is not training.
    await page.evaluate(() => ((window as unknown as { __longTasks: number[] }).__longTasks.length = 0))
    await studio.trainButton.click()
    await expect.poll(() => studio.lossPoints(), { timeout: 60_000 }).toBeGreaterThan(0)
    test.info().annotations.push({ type: 'first chart point after (ms)', description: String(Date.now() - clickedAt) })
    await expect(page.getByTestId('progress')).toContainText(/Step \d+ \/ \d+ · epoch \d+ \/ \d+ · [\d.,]+ samples\/s · about .* left/)
  })

  await test.step('the run finishes and says so in words', async () => {
    await studio.waitFinished(300_000)
    // The line to beat is named: the best of the majority class, the zero-shot LM and the untrained head.
    await expect(studio.status).toContainText(/Training complete — \d+ epochs, best validation accuracy [\d.]+% \(line to beat: (majority class \(\w+\)|zero-shot LM|untrained head) [\d.]+%\)/)
    await expect(page.getByTestId('val-chart')).toContainText(/line to beat, (majority class \(\w+\)|zero-shot LM|untrained head): [\d.]+%/)
    test.info().annotations.push({ type: 'run finished after (ms)', description: String(Date.now() - clickedAt) })
  })

  await test.step('the training loss fell and fine-tuning beat the baseline', async () => {
    const { steps, epochs, baseline, result } = (await studio.series()) as unknown as {
      steps: { loss: number }[]
      epochs: { valAcc: number }[]
      baseline: { metrics: { accuracy: number } }
      result: { summary: { best: { accuracy: number } } }
    }
    const k = Math.max(1, Math.floor(steps.length / 4))
    const mean = (xs: { loss: number }[]) => xs.reduce((a, b) => a + b.loss, 0) / xs.length
    expect(mean(steps.slice(-k))).toBeLessThan(mean(steps.slice(0, k)))
    expect(epochs.length).toBeGreaterThan(0)
    expect(result.summary.best.accuracy).toBeGreaterThan(baseline.metrics.accuracy + 0.1)
    await expect(page.getByTestId('compare')).toBeVisible()
    await expect(page.getByTestId('compare').locator('caption')).toContainText(/the line to beat, (majority class \(\w+\)|zero-shot LM|untrained head) \(.*majority class [\d.]+%.*untrained head [\d.]+%/)
  })

  await test.step('the page stayed responsive while training: report the longest main-thread task', async () => {
    const longest = await page.evaluate(() => Math.max(0, ...(window as unknown as { __longTasks: number[] }).__longTasks))
    test.info().annotations.push({ type: 'longest main-thread task (ms)', description: longest.toFixed(0) })
    console.log(`longest main-thread task during the run: ${longest.toFixed(0)} ms`)
    // Generous bound: this catches a frozen page (training on the UI thread), not jank.
    expect(longest).toBeLessThan(1000)
  })
})
