import { expect, test } from './fixtures'

// A failed command's alert says where it failed in words: the worker names the command by its
// message type, and the page showed that code as it was ("loadModel: junk.zip is not a zip file").
test('a model file that is not a zip: the alert says "Loading the model", not the command name', async ({ studio, page }) => {
  await studio.open()
  await page.getByLabel('Load a fine-tuned model (.zip)').setInputFiles({ name: 'junk.zip', mimeType: 'application/zip', buffer: Buffer.from('not a zip at all') })
  const alert = studio.alerts.filter({ hasText: 'junk.zip' })
  await expect(alert).toContainText('Loading the model: junk.zip is not a zip file')
  await expect(alert).not.toContainText('loadModel')
})
