import { describe, expect, it } from 'vitest'
import * as tf from '@tensorflow/tfjs'
import { widenShapeFeedback } from './shapeFeedback'

describe('widenShapeFeedback', () => {
  it('leaves sizeFromShape returning the product of a shape, of any array kind', () => {
    widenShapeFeedback()
    widenShapeFeedback()
    const holey = new Array<number>(3)
    holey[0] = 2
    holey[1] = 3
    holey[2] = 4
    expect(tf.util.sizeFromShape([2, 3, 4])).toBe(24)
    expect(tf.util.sizeFromShape(holey)).toBe(24)
    expect(tf.util.sizeFromShape(structuredClone([16, 64]))).toBe(1024)
    expect(tf.util.sizeFromShape([])).toBe(1)
    expect(tf.util.sizeFromShape([7, 0])).toBe(0)
  })
})
