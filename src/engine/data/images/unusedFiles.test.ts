import { describe, expect, it } from 'vitest'
import { unusedFilesNote } from './unusedFiles'

describe('the files an image upload left out, in the summary (unusedFilesNote)', () => {
  it('counts every file left out, the undecodable image too, and names each under its reason', () => {
    const note = unusedFilesNote({
      undecodable: [{ path: 'pics/cold/broken.png', reason: 'could not be decoded as PNG' }],
      skipped: [{ path: 'pics/notes.txt', reason: 'not a PNG, JPEG, WebP or GIF image' }],
    })
    expect(note).toBe('2 files were not used — could not be decoded as PNG: pics/cold/broken.png; not a PNG, JPEG, WebP or GIF image: pics/notes.txt. Replace or remove the image that could not be decoded.')
  })

  it('one file of one reason; many of one reason named up to five, the rest counted; nothing left out: no note', () => {
    expect(unusedFilesNote({ undecodable: [], skipped: [{ path: 'cat.png', reason: 'not inside a class folder' }] })).toBe('1 file was not used — not inside a class folder: cat.png.')
    const empty = Array.from({ length: 7 }, (_, i) => ({ path: `a/${i}.png`, reason: 'the file is empty' }))
    expect(unusedFilesNote({ undecodable: empty, skipped: [] })).toBe('7 files were not used — could not be decoded (the file is empty): a/0.png, a/1.png, a/2.png, a/3.png, a/4.png and 2 more. Replace or remove the images that could not be decoded.')
    expect(unusedFilesNote({ undecodable: [], skipped: [] })).toBeNull()
  })
})
