/**
 * A GIF in an image zip is an image like a PNG: the worker's createImageBitmap decodes it (its
 * first frame), so it is kept, not skipped as "not an image". The GIFs are written here byte by
 * byte (a 2×2 single-frame GIF of one colour), zipped with class folders and uploaded through
 * the page.
 */
import { zipSync } from 'fflate'
import { png } from './pngFile'
import { expect, test } from './fixtures'

/** A 2×2 GIF89a of one colour: a two-entry colour table, the image's four pixels all index 0.
 *  LZW with minimum code size 2: clear (4), 0, 6 (= "00"), 0 in 3 bits, then end (5) in 4 bits
 *  (the table reached 8 entries), packed low bit first: 0x84 0x51. */
function gif([r, g, b]: readonly [number, number, number]): Uint8Array {
  return Uint8Array.from([
    ...Buffer.from('GIF89a', 'ascii'),
    2, 0, 2, 0, 0x80, 0, 0, // 2×2, a global colour table of 2 entries
    r, g, b, 0, 0, 0,
    0x2c, 0, 0, 0, 0, 2, 0, 2, 0, 0, // the image: at 0,0, 2×2, no local table
    2, 2, 0x84, 0x51, 0, // LZW minimum code size 2; one block of 2 bytes; end
    0x3b,
  ])
}

test('an image zip of GIFs (and one PNG) is read in full: every image kept, none skipped', async ({ studio, page }) => {
  const files: Record<string, Uint8Array> = {}
  for (const [cls, rgb] of [['warm', [200, 60, 20]], ['cold', [20, 60, 200]]] as const) {
    for (let i = 0; i < 10; i++) files[`shapes/${cls}/${i}.gif`] = gif([rgb[0], rgb[1] + i, rgb[2]])
  }
  files['shapes/cold/extra.png'] = png(2, 2, [20, 80, 200])
  await studio.open()
  await studio.uploadDataset('shapes.zip', Buffer.from(zipSync(files)), 'application/zip')
  await studio.waitForDataset('shapes.zip')
  await expect(page.getByTestId('dataset-rows')).toHaveText('21')
  await expect(page.getByTestId('dataset-summary')).not.toContainText('not used')
  await expect(studio.alerts.filter({ hasText: 'could not be decoded' })).toHaveCount(0)
})
