/// <reference lib="webworker" />
/** Image decoding for the worker: createImageBitmap + OffscreenCanvas. Null where either
 *  is missing (Node tests, old browsers), so callers can say so instead of crashing. */
import type { ImageDecoder, ImageMime, Rgba } from '../engine/data/images/types'

export function browserImageDecoder(): ImageDecoder | null {
  if (typeof createImageBitmap !== 'function' || typeof OffscreenCanvas === 'undefined') return null
  return {
    async decode(bytes: Uint8Array, mime: ImageMime): Promise<Rgba> {
      const bitmap = await createImageBitmap(new Blob([bytes as Uint8Array<ArrayBuffer>], { type: mime }))
      try {
        const { width, height } = bitmap
        const canvas = new OffscreenCanvas(width, height)
        const ctx = canvas.getContext('2d', { willReadFrequently: true })
        if (!ctx) throw new Error('no 2d context')
        ctx.drawImage(bitmap, 0, 0)
        return { width, height, data: ctx.getImageData(0, 0, width, height).data }
      } finally {
        bitmap.close()
      }
    },
  }
}
