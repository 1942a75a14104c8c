// A Hugging Face model folder chosen from disk with its tokenizer missing or broken, as a person
// meets it (h2's walk-through): the alert names the chosen files and the one to add, and says the
// file once ("tokenizer.json: tokenizer.json: is not JSON" before); the built-in model stays, and
// the alerts go once the whole folder loads.
import { expect, test } from './fixtures'
import { tinyGpt2Files } from './hfHub'

const FILES = tinyGpt2Files({ d: 16, layers: 1, positions: 32 })
const file = (name: string, buffer = FILES.get(name)!) => ({ name, mimeType: 'application/octet-stream', buffer })

test('model files without tokenizer.json, then with a broken one: each alert says what to choose, naming the file once', async ({ studio, page }) => {
  await studio.open()
  const title = await page.getByTestId('model-title').innerText()
  const section = page.locator('details.model-load')
  if ((await section.getAttribute('open')) === null) await section.locator('summary').first().click()
  const input = page.getByLabel('Hugging Face model files')

  await input.setInputFiles([file('config.json'), file('model.safetensors')])
  await expect(studio.alerts.filter({ hasText: 'tokenizer.json' })).toHaveText([
    "tokenizer.json is not among the chosen files (config.json, model.safetensors): choose it with the model's other files (hold Ctrl or Shift); it sits beside config.json in the model's repository. The studio reads tokenizers only in the tokenizer.json format.Dismiss",
  ])
  await studio.alerts.getByRole('button', { name: 'Dismiss message' }).click()

  await input.setInputFiles([file('config.json'), file('model.safetensors'), file('tokenizer.json', Buffer.from('{"version": "1.0", "model": '))])
  await expect(studio.alerts.filter({ hasText: 'tokenizer.json' })).toHaveText(['tokenizer.json: is not JSON. Choose the tokenizer.json from the model repository.Dismiss'])
  await expect(page.getByTestId('model-title')).toHaveText(title)

  // the whole folder: the model loads, and the alerts of the attempts before it go (they stayed
  // above the loaded model until dismissed one by one)
  await input.setInputFiles(['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json'].map((f) => file(f)))
  await expect(page.getByTestId('model-title')).toContainText('chosen files — pretrained', { timeout: 60_000 })
  await expect(studio.alerts.filter({ hasText: 'tokenizer.json' })).toHaveCount(0)
})
