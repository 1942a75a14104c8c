import * as tf from '@tensorflow/tfjs'
import { beforeAll, describe, expect, it } from 'vitest'
import { Head } from '../tuning/heads'
import { createOptimizer } from '../train/optimizers'
import { LayersBody, featureLayer, studioMetadata } from './layersBody'
import { residualModel, tinyImageModel } from './testModels'

beforeAll(async () => {
  await tf.setBackend('cpu')
})

const images = (n: number, seed: number) => tf.randomUniform([n, 16, 16, 3], 0, 255, 'float32', seed)

describe('LayersBody', () => {
  it('cuts at the last pooling layer and splits blocks at weighted layers with their norm and activation', () => {
    const body = new LayersBody(tinyImageModel())
    expect(featureLayer(body.full).name).toBe('pool')
    expect(body.featureDim).toBe(12)
    expect(body.config.nLayers).toBe(3)
    expect(body.params.map((p) => `${p.name}@${p.block}`)).toEqual(['conv1.kernel@0', 'conv1_bn.gamma@0', 'conv1_bn.beta@0', 'dw2.depthwise_kernel@1', 'dw2.bias@1', 'pw2.kernel@2', 'pw2.bias@2'])
    const rows = body.describeLayers(new Set([2]))
    expect(rows.find((r) => r.name === 'pw2')).toMatchObject({ type: 'Conv2D', outputShape: '[B, 8, 8, 12]', params: 108, trainable: true })
    expect(rows.find((r) => r.name === 'conv1')!.trainable).toBe(false)
    expect(rows.find((r) => r.name === 'preds')!.type).toMatch(/original head/)
    body.dispose()
  })

  it('never ends a block inside a residual connection', () => {
    const body = new LayersBody(residualModel())
    const blockOf = (layer: string) => body.params.find((p) => p.layer === layer)!.block
    expect(blockOf('res_a')).toBe(blockOf('res_b'))
    expect(blockOf('stem')).toBeLessThan(blockOf('res_a'))
    body.dispose()
  })

  it('prefix(n) then forwardFrom(n) equals the whole feature model for every n', async () => {
    for (const body of [new LayersBody(tinyImageModel()), new LayersBody(residualModel())]) {
      const x = tf.randomUniform([2, ...body.inputShape], 0, 255, 'float32', 5)
      const ref = await body.pool(body.features.predict(body.embed(x)) as tf.Tensor, null).data()
      for (let n = 0; n <= body.config.nLayers; n++) {
        const got = await body.pool(body.forwardFrom(body.prefix(x, n), n), null).data()
        Array.from(ref).forEach((v, i) => expect(got[i]).toBeCloseTo(v, 5))
      }
      body.dispose()
    }
  })

  it('head-only training on cached pooled features lowers the loss', async () => {
    const body = new LayersBody(tinyImageModel(4))
    // Two classes the features can tell apart: dark and bright images.
    const x = tf.concat([tf.mul(images(16, 1), 0.3), tf.add(tf.mul(images(16, 2), 0.3), 170)])
    const y = tf.tensor1d([...Array(16).fill(0), ...Array(16).fill(1)], 'int32')
    const features = tf.tidy(() => body.pool(body.forwardFrom(body.prefix(x, 0), 0), null)) // cached once
    const head = new Head({ name: 'task', kind: 'classification', inputDim: body.featureDim, numClasses: 2 }, 7)
    const vars = head.params.map((p) => p.variable)
    const opt = createOptimizer('adam', { weightDecay: 0, momentum: 0.9, decayMask: new Map(head.params.map((p) => [p.variable, p.decay] as const)) })
    const lossNow = async () => (await tf.tidy(() => head.loss(head.apply(features, false), y)).data())[0]!
    const start = await lossNow()
    for (let i = 0; i < 60; i++) {
      const g = tf.variableGrads(() => head.loss(head.apply(features, true), y), vars)
      opt.step(vars.map((v) => g.grads[v.name]!), vars, 0.05)
      tf.dispose([g.value, ...Object.values(g.grads)])
    }
    const end = await lossNow()
    expect(end).toBeLessThan(start * 0.5)
    head.dispose()
    opt.dispose()
    body.dispose()
  })

  it('fine-tuning the last block gives gradients to its weights only', async () => {
    const body = new LayersBody(tinyImageModel(5))
    const last = body.params.filter((p) => p.block === body.config.nLayers - 1).map((p) => p.variable)
    const x = images(4, 3)
    const cached = body.prefix(x, body.config.nLayers - 1)
    const { value, grads } = tf.variableGrads(() => tf.mean(tf.square(body.pool(body.forwardFrom(cached, body.config.nLayers - 1), null))) as tf.Scalar, last)
    expect(Object.keys(grads)).toHaveLength(last.length)
    for (const v of last) expect((await tf.abs(grads[v.name]!).sum().data())[0]).toBeGreaterThan(0)
    tf.dispose([value, cached, ...Object.values(grads)])
    body.dispose()
  })

  it('resizes RGBA pixels to the input size', () => {
    const body = new LayersBody(tinyImageModel())
    const px = body.pixelsToInput(new Uint8ClampedArray(32 * 20 * 4).fill(200), 32, 20)
    expect(px.shape).toEqual([1, 16, 16, 3])
    px.dispose()
    body.dispose()
  })
})

describe('studioMetadata', () => {
  const model = (meta: unknown, inputDim = 3) => {
    const m = tf.sequential({ layers: [tf.layers.dense({ inputShape: [inputDim], units: 4, activation: 'relu' }), tf.layers.dense({ units: 2, activation: 'softmax' })] })
    if (meta !== undefined) m.setUserDefinedMetadata(meta as {})
    return m
  }

  it('keeps well-formed fields and drops anything else a foreign file may carry', () => {
    const m = model({ title: 'T', classes: ['a', 'b'], features: ['x', 'y', 'z'], target: 7, typical: [1, 'two', 3], extra: { deep: true } })
    expect(studioMetadata(m)).toEqual({ title: 'T', classes: ['a', 'b'], features: ['x', 'y', 'z'] })
    m.dispose()
    const none = model(undefined)
    expect(studioMetadata(none)).toEqual({})
    none.dispose()
  })

  it('makes a tabular input of a vector model whose file names its feature columns', () => {
    const tab = new LayersBody(model({ features: ['x', 'y', 'z'], typical: [0.5, 1, 2], target: 'price' }))
    expect(tab.describeInput()).toMatchObject({ kind: 'tabular', features: ['x', 'y', 'z'], typical: [0.5, 1, 2], description: 'rows of 3 raw numbers: x, y, z; predicts price' })
    tab.dispose()
    const mismatch = new LayersBody(model({ features: ['x', 'y'] })) // 2 names for 3 inputs: not trusted
    expect(mismatch.describeInput().kind).toBe('text')
    mismatch.dispose()
  })

  it('says a plain Keras MLP reads rows of numbers, and only a model that embeds token ids reads sequences', () => {
    const mlp = new LayersBody(model(undefined))
    expect(mlp.describeInput().description).toBe('rows of 3 numbers (the file does not name the columns they come from)')
    mlp.dispose()
    const text = tf.sequential({ layers: [tf.layers.embedding({ inputDim: 50, outputDim: 4, inputLength: 6 }), tf.layers.globalAveragePooling1d(), tf.layers.dense({ units: 2 })] })
    const seq = new LayersBody(text)
    expect(seq.describeInput().description).toBe('sequences of 6 values (no tokenizer comes with a layers model)')
    seq.dispose()
  })
})
