import { expect, type Page } from '@playwright/test'

/** The studio as a person sees it: find things by role and label, read what the page says. */
export class StudioPage {
  constructor(readonly page: Page) {}

  /** Opens the page and waits for its dataset and model; and for Train to be enabled unless
   *  `trainable` is false (a reload that keeps a dataset the default model cannot train on). */
  async open(query = '', { trainable = true }: { trainable?: boolean } = {}) {
    await this.page.goto(`/${query ? `?${query}` : ''}`)
    await expect(this.badge).toBeVisible({ timeout: 90_000 })
    await expect(this.page.getByTestId('dataset-summary')).toBeVisible({ timeout: 60_000 })
    await expect(this.page.getByTestId('model-title')).toBeVisible({ timeout: 60_000 })
    if (trainable) await expect(this.trainButton).toBeEnabled({ timeout: 30_000 })
  }

  get badge() {
    return this.page.getByTestId('backend-badge')
  }
  get trainButton() {
    return this.page.getByRole('button', { name: 'Train', exact: true })
  }
  get status() {
    return this.page.getByTestId('run-status')
  }
  get alerts() {
    return this.page.getByRole('alert')
  }

  async backend(): Promise<string | null> {
    return this.badge.getAttribute('data-backend')
  }

  /** Number of loss points the chart has received. */
  async lossPoints(): Promise<number> {
    return Number(await this.page.getByTestId('loss-chart').getAttribute('data-points'))
  }

  async uploadDataset(name: string, contents: string | Buffer, mimeType = 'text/csv') {
    await this.page.getByLabel(/Your own file/).setInputFiles({ name, mimeType, buffer: Buffer.isBuffer(contents) ? contents : Buffer.from(contents) })
  }

  async waitForDataset(name: string) {
    await expect(this.page.getByTestId('dataset-summary')).toContainText(name, { timeout: 60_000 })
  }

  /** Steps and losses as the store holds them (the chart's own data). */
  async series(): Promise<{ steps: { step: number; loss: number }[]; epochs: { valAcc?: number; valLoss: number }[] }> {
    return this.page.evaluate(() => (window as unknown as { __studio: () => { steps: { step: number; loss: number }[]; epochs: { valAcc?: number; valLoss: number }[] } }).__studio())
  }

  /** The OpenMoji sample and the built-in emoji CNN, loaded through the page as a person would. */
  async loadEmojiSampleAndCnn(baseURL: string) {
    await this.page.getByLabel('Sample dataset').selectOption('emoji-openmoji.zip')
    await this.waitForDataset('emoji-openmoji.zip')
    await this.page.getByText('Load a model', { exact: true }).click()
    await this.page.getByLabel('Model URL (model.json)').fill(`${baseURL}/models/emoji-cnn/model.json`)
    await this.page.getByRole('button', { name: 'Load model from URL' }).click()
    await expect(this.page.getByTestId('model-title')).toContainText('Emoji CNN', { timeout: 120_000 })
  }

  /** Waits for the run to end and fails unless it completed every epoch (not stopped,
   *  stopped early or diverged). */
  async waitFinished(timeout = 240_000) {
    const text = await this.waitEnded(timeout)
    expect(text, 'the run completed').toMatch(/^Training complete — /)
  }

  /** Waits for the run to end in any way and returns what the page says about it. */
  async waitEnded(timeout = 240_000): Promise<string> {
    await expect(this.status).toContainText(/Training complete|Stopped early|Training stopped|Training diverged/, { timeout })
    return (await this.status.innerText()).trim()
  }
}
