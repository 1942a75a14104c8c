import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { png } from './pngFile'
import { expect, test } from './fixtures'

// A picked folder of class folders with two files the studio cannot use: the summary counts
// both beside the images kept, and names each with its reason, the image that could not be
// decoded included (it was once only in the alert, while the summary said "1 file was not used"
// beside "2 rejected").

test('a picked folder with a broken image and a stray file: the summary counts and names both beside the images kept', async ({ studio, page }) => {
  const dir = mkdtempSync(join(tmpdir(), 'studio-unused-'))
  try {
    for (const [cls, rgb] of [['warm', [200, 60, 20]], ['cold', [20, 60, 200]]] as const) {
      mkdirSync(join(dir, 'pics', cls), { recursive: true })
      for (let i = 0; i < 12; i++) writeFileSync(join(dir, 'pics', cls, `${i}.png`), png(16, 16, [rgb[0], rgb[1] + i, rgb[2]]))
    }
    writeFileSync(join(dir, 'pics', 'cold', 'broken.png'), 'not a png at all')
    writeFileSync(join(dir, 'pics', 'notes.txt'), 'not an image')
    await studio.open()
    await page.getByLabel('A folder of images (one subfolder per class)').setInputFiles(join(dir, 'pics'))
    await studio.waitForDataset('pics')
    await expect(studio.alerts.filter({ hasText: 'broken.png' }).last()).toContainText('1 image in pics could not be decoded')
    await expect(page.getByTestId('dataset-rows')).toHaveText('24')
    await expect(page.getByTestId('dataset-rejected')).toHaveText('2')
    const warnings = page.getByTestId('dataset-warnings') // paths inside the picked folder, as the alert names them
    await expect(warnings).toContainText('2 files were not used — could not be decoded as PNG: cold/broken.png; not a PNG, JPEG, WebP or GIF image: notes.txt. Replace or remove the image that could not be decoded.')
    await expect(warnings).not.toContainText('1 file was not used')
    await page.getByText('Why files were rejected').click()
    await expect(page.getByTestId('rejected-reasons').getByRole('listitem')).toHaveCount(2)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})
