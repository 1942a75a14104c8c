/** A stand-in image format for Node tests (no createImageBitmap there): bytes 'IMG', width,
 *  height, then RGBA. Anything else fails to decode, like a corrupt file would. */
import type { ImageDecoder, Rgba } from './types'

export function fakeImage(width: number, height: number, rgba: (i: number) => [number, number, number, number]): Uint8Array {
  const out = new Uint8Array(5 + width * height * 4)
  out.set([73, 77, 71, width, height])
  for (let i = 0; i < width * height; i++) out.set(rgba(i), 5 + i * 4)
  return out
}

export const fakeDecoder: ImageDecoder = {
  async decode(bytes): Promise<Rgba> {
    if (bytes[0] !== 73 || bytes[1] !== 77 || bytes[2] !== 71) throw new Error('not an image')
    const width = bytes[3] as number
    const height = bytes[4] as number
    return { width, height, data: bytes.slice(5, 5 + width * height * 4) }
  },
}
