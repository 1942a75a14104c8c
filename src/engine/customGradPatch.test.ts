import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { describe, expect, it } from 'vitest'
import * as tf from '@tensorflow/tfjs'

// patches/@tensorflow+tfjs-core+4.22.0.patch (patches/README.md): customGrad's tape inputs
// under names, not integer keys. A fresh `npm ci` must have applied it (package.json postinstall).
describe('tfjs-core customGrad patch', () => {
  it('is applied to the bundles the app and Node load', () => {
    const require = createRequire(import.meta.url)
    const dist = require.resolve('@tensorflow/tfjs-core/dist/engine.js').replace(/engine\.js$/, '')
    for (const f of ['engine.js', 'tf-core.node.js']) {
      const src = readFileSync(dist + f, 'utf8')
      expect(src, f).toContain("inputMap['x' + i] = input;")
      expect(src, f).toContain("gradMap['x' + i] = ")
      expect(src, f).not.toContain('inputMap[i] = input;')
    }
  })

  it('puts a custom op on the tape under named inputs, with the gradients of its own gradFunc', async () => {
    await tf.setBackend('cpu')
    // f(a, b) = a·b elementwise, gradFunc [dy·b, dy·a]: d/da Σ f = b, d/db Σ f = a.
    const mul = tf.customGrad(((a: tf.Tensor, b: tf.Tensor, save: tf.GradSaveFunc) => {
      save([a, b])
      return { value: tf.mul(a, b), gradFunc: (dy: tf.Tensor, [sa, sb]: tf.Tensor[]) => [tf.mul(dy, sb!), tf.mul(dy, sa!)] }
    }) as unknown as Parameters<typeof tf.customGrad>[0])
    const a = tf.tensor1d([1, 2, 3])
    const b = tf.tensor1d([4, -5, 0.5])
    const engine = tf.engine() as unknown as { state: { activeTape: { inputs: Record<string, tf.Tensor> }[] | null } }
    let keys: string[][] = []
    const [ga, gb] = tf.grads((x: tf.Tensor, w: tf.Tensor) => {
      const y = tf.sum(mul(x, w))
      keys = (engine.state.activeTape ?? []).map((n) => Object.keys(n.inputs))
      return y
    })([a, b])
    // The custom op's node (the others are tf ops of one input named x).
    expect(keys.filter((k) => k.length === 2)).toEqual([['x0', 'x1']])
    expect(keys.flat().some((k) => /^\d+$/.test(k))).toBe(false)
    expect(Array.from(await ga!.data())).toEqual([4, -5, 0.5])
    expect(Array.from(await gb!.data())).toEqual([1, 2, 3])
    tf.dispose([a, b, ga!, gb!])
  })
})
