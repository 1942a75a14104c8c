/** Types shared by the image-dataset engine: what is stored, and what the page is told. */

/** What the worker's createImageBitmap decodes in every browser the studio runs in; a GIF is
 *  read as its first frame. */
export type ImageMime = 'image/png' | 'image/jpeg' | 'image/webp' | 'image/gif'

/** One image as kept in storage: its encoded bytes (decoded only when a batch needs it). */
export interface StoredImage {
  bytes: Uint8Array
  mime: ImageMime
  /** Path inside the upload, for messages ("faces/smile.png"). */
  path: string
  /** Class index into ImageSetInfo.classes. */
  label: number
}

/** An image that was left out, and why. */
export interface ImageRejection {
  path: string
  reason: string
}

export interface ImageSetInfo {
  /** Class names (folder names) in label-index order, with counts of kept images. */
  classes: { name: string; count: number }[]
  /** Kept images. */
  count: number
  /** Class index of each kept image, in storage order. */
  labels: number[]
  /** Smallest and largest width and height seen. */
  minSide: number
  maxSide: number
  /** Images that could not be decoded (named), and other files left out. */
  undecodable: ImageRejection[]
  skipped: ImageRejection[]
  /** Where the classes came from when the upload had train/ and val/ folders, and what was left out. */
  layoutNote?: string
  /** Encoded bytes of the kept images. */
  storedBytes: number
}

/** Raw pixels, 4 bytes per pixel, row-major. */
export interface Rgba {
  width: number
  height: number
  data: Uint8ClampedArray | Uint8Array
}

/** Decodes encoded image bytes; the worker implements it with createImageBitmap and
 *  OffscreenCanvas, tests with a tiny fake. Throws for bytes that are not an image. */
export interface ImageDecoder {
  decode(bytes: Uint8Array, mime: ImageMime): Promise<Rgba>
}
