import type * as tf from '@tensorflow/tfjs'

export interface FixtureOptions {
  images?: number
  classes?: number
  size?: number
  side?: number
}
export function mobileNetV2(opts?: { size?: number; classes?: number; seed?: number }): tf.LayersModel
export function calibrateBatchNorm(model: tf.LayersModel, images: tf.Tensor4D): void
export function quantizeUint8(values: ArrayLike<number>): { bytes: Uint8Array; min: number; scale: number }
export function quantizedModelFiles(model: tf.LayersModel): Promise<Map<string, Uint8Array>>
export function imageZip(opts?: { count?: number; classes?: number; side?: number; seed?: number }): Uint8Array
export function makeFixture(dir: string, opts?: FixtureOptions): Promise<{ params: number; model: string[]; zip: string }>
