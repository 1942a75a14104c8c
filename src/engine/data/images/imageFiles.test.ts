import { zipSync } from 'fflate'
import { describe, expect, it } from 'vitest'
import { DEFAULT_IMAGE_LIMITS, mimeFromName, planImageFiles, unsafePath } from './imageFiles'
import { listZip, readImageZip } from './zipImages'

const e = (path: string, size = 100) => ({ path, size })

describe('planImageFiles', () => {
  it('takes the class from the first folder, sorted, and skips clutter and non-images', () => {
    const r = planImageFiles('up', [e('dogs/1.png'), e('cats/a.JPG'), e('cats/b.webp'), e('cats/notes.txt'), e('readme.png'), e('__MACOSX/cats/._a.JPG'), e('cats/.DS_Store')])
    if (!r.ok) throw new Error(r.error.message)
    expect(r.plan.classes).toEqual(['cats', 'dogs'])
    expect(r.plan.images).toEqual([
      { path: 'dogs/1.png', mime: 'image/png', label: 1 },
      { path: 'cats/a.JPG', mime: 'image/jpeg', label: 0 },
      { path: 'cats/b.webp', mime: 'image/webp', label: 0 },
    ])
    expect(r.plan.skipped.map((s) => s.path)).toEqual(['cats/notes.txt', 'readme.png'])
  })

  it('takes a GIF like a PNG (the worker decodes its first frame), with other files still skipped', () => {
    const r = planImageFiles('up.zip', [e('dogs/1.gif'), e('cats/a.GIF'), e('cats/b.png'), e('cats/clip.mp4')])
    if (!r.ok) throw new Error(r.error.message)
    expect(r.plan.images).toEqual([
      { path: 'dogs/1.gif', mime: 'image/gif', label: 1 },
      { path: 'cats/a.GIF', mime: 'image/gif', label: 0 },
      { path: 'cats/b.png', mime: 'image/png', label: 0 },
    ])
    expect(r.plan.skipped).toEqual([{ path: 'cats/clip.mp4', reason: 'not a PNG, JPEG, WebP or GIF image' }])
  })

  it('strips one common top folder (a zipped folder of class folders)', () => {
    const r = planImageFiles('z', [e('emoji/faces/1.png'), e('emoji/food/2.png')])
    if (!r.ok) throw new Error(r.error.message)
    expect(r.plan.classes).toEqual(['faces', 'food'])
  })

  it('strips every folder the images share ("my data/images/cats/1.png")', () => {
    const r = planImageFiles('deep.zip', [e('my data/images/red/1.png'), e('my data/images/blue/1.png'), e('my data/readme.txt')])
    if (!r.ok) throw new Error(r.error.message)
    expect(r.plan.classes).toEqual(['blue', 'red'])
  })

  it('takes the classes from inside train/ when the upload has train/, val/ and test/ folders, and says what it left out', () => {
    const r = planImageFiles('ds.zip', [
      e('ds/train/red/1.png'), e('ds/train/red/2.png'), e('ds/train/blue/1.png'),
      e('ds/val/red/3.png'), e('ds/val/blue/2.png'), e('ds/test/blue/3.png'),
    ])
    if (!r.ok) throw new Error(r.error.message)
    expect(r.plan.classes).toEqual(['blue', 'red'])
    expect(r.plan.images).toEqual([
      { path: 'ds/train/red/1.png', mime: 'image/png', label: 1 },
      { path: 'ds/train/red/2.png', mime: 'image/png', label: 1 },
      { path: 'ds/train/blue/1.png', mime: 'image/png', label: 0 },
    ])
    expect(r.plan.skipped).toEqual([])
    expect(r.plan.layoutNote).toBe('The classes are the folders inside "train" (blue, red). The 1 image in "test" and 2 images in "val" were left out: the studio holds out its own validation images from "train".')
  })

  it('pools split folders when none is a training folder', () => {
    const r = planImageFiles('vt.zip', [e('val/cat/1.png'), e('val/dog/1.png'), e('test/cat/2.png'), e('test/dog/2.png')])
    if (!r.ok) throw new Error(r.error.message)
    expect(r.plan.classes).toEqual(['cat', 'dog'])
    expect(r.plan.images.map((i) => i.path)).toEqual(['val/cat/1.png', 'val/dog/1.png', 'test/cat/2.png', 'test/dog/2.png'])
    expect(r.plan.layoutNote).toBe('The classes are the folders inside "test" and "val" (cat, dog).')
  })

  it('keeps class folders that merely include a split name ("test" beside "cat")', () => {
    const r = planImageFiles('z', [e('cat/1.png'), e('test/1.png')])
    if (!r.ok) throw new Error(r.error.message)
    expect(r.plan.classes).toEqual(['cat', 'test'])
    expect(r.plan.layoutNote).toBeUndefined()
  })

  it('refuses paths that climb out of the folder, naming the entry', () => {
    const r = planImageFiles('evil.zip', [e('cats/1.png'), e('cats/../../etc/passwd.png')])
    expect(r.ok).toBe(false)
    if (!r.ok) {
      expect(r.error.message).toContain('cats/../../etc/passwd.png')
      expect(r.error.field).toBe('cats/../../etc/passwd.png')
    }
    expect(unsafePath('/abs/x.png')).toMatch(/absolute/)
    expect(unsafePath('C:\\x.png')).toMatch(/absolute/)
    expect(unsafePath('a\\..\\b.png')).toMatch(/\.\./)
    expect(unsafePath('a/b..c.png')).toBeUndefined()
  })

  it('enforces the file-count, total-size and ratio limits', () => {
    const limits = { ...DEFAULT_IMAGE_LIMITS, maxFiles: 2, maxTotalBytes: 1000 }
    expect(planImageFiles('a', [e('x/1.png'), e('x/2.png'), e('y/3.png')], limits)).toMatchObject({ ok: false, error: { message: expect.stringMatching(/3 files; the limit is 2/) } })
    expect(planImageFiles('b', [e('x/1.png', 600), e('y/2.png', 600)], limits)).toMatchObject({ ok: false, error: { message: expect.stringMatching(/more than/) } })
    const bomb = planImageFiles('c', [{ path: 'x/1.png', size: 50 * 1024 * 1024, compressedSize: 50_000 }, e('y/2.png')])
    expect(bomb).toMatchObject({ ok: false, error: { message: expect.stringMatching(/zip bomb/) } })
  })

  it('needs two classes', () => {
    const r = planImageFiles('one', [e('cats/1.png'), e('cats/2.png')])
    expect(r).toMatchObject({ ok: false, error: { field: 'cats' } })
  })

  it('knows the image types', () => {
    expect(mimeFromName('a.PNG')).toBe('image/png')
    expect(mimeFromName('a.jpeg')).toBe('image/jpeg')
    expect(mimeFromName('a.gif')).toBe('image/gif')
    expect(mimeFromName('a.bmp')).toBeUndefined()
  })
})

describe('readImageZip', () => {
  it('lists entries without inflating and unpacks only the planned images', () => {
    const zip = zipSync({ 'cats/1.png': new Uint8Array([1, 2, 3]), 'dogs/2.png': new Uint8Array([4]), 'dogs/x.txt': new Uint8Array([5]) })
    expect(listZip(zip).map((x) => x.path).sort()).toEqual(['cats/1.png', 'dogs/2.png', 'dogs/x.txt'])
    const r = readImageZip('pets.zip', zip)
    if (!r.ok) throw new Error(r.error.message)
    expect([...r.files.keys()].sort()).toEqual(['cats/1.png', 'dogs/2.png'])
    expect([...r.files.get('cats/1.png')!]).toEqual([1, 2, 3])
  })

  it('refuses a zip bomb before inflating it', () => {
    const zeros = new Uint8Array(20 * 1024 * 1024)
    const zip = zipSync({ 'a/big.png': zeros, 'b/1.png': new Uint8Array([1]) }, { level: 9 })
    expect(zip.length).toBeLessThan(100_000)
    const r = readImageZip('bomb.zip', zip)
    expect(r).toMatchObject({ ok: false, error: { file: 'bomb.zip', message: expect.stringMatching(/zip bomb/) } })
  })

  it('says when the bytes are not a zip', () => {
    const r = readImageZip('fake.zip', new TextEncoder().encode('hello, not a zip'))
    expect(r).toMatchObject({ ok: false, error: { message: expect.stringMatching(/not a readable \.zip/) } })
  })
})
