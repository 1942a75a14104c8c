#!/usr/bin/env node
// A MobileNetV2-class TensorFlow.js layers model and an image zip, as a new user would bring
// them (issue 15, point 10), made here because no model hub is reachable from these machines.
//   node scripts/make-mobilenet-fixture.mjs <out-dir> [--images N] [--classes C] [--size S]
// writes <out-dir>/model.json + group1-shard1of1.bin (weights uint8-quantised the way
// tensorflowjs_converter --quantize_uint8 writes them: a `quantization: {dtype: 'uint8', min,
// scale}` per weight, value = byte · scale + min) and <out-dir>/images.zip (N PNGs in C class
// folders). The network follows Keras' MobileNetV2 (alpha 1.0, 224×224×3): a stride-2 stem,
// 17 inverted-residual blocks (1×1 expand conv, BN, ReLU6, ZeroPadding2D where stride 2,
// depthwise 3×3, BN, ReLU6, 1×1 project conv, BN, Add when shapes allow), a 1×1 conv to
// 1280, global average pooling and a softmax classifier (256 classes: about 2.6 M parameters
// in all). Weights are seeded, not pretrained. Everything is deterministic for given options.
import { mkdir, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { parseArgs } from 'node:util'
import { fileURLToPath } from 'node:url'
import * as tf from '@tensorflow/tfjs'
import { zipSync } from 'fflate'
import { PNG } from 'pngjs'

const BLOCKS = [
  // expansion t, output channels c, repeats n, first stride s (Sandler et al. 2018, table 2)
  [1, 16, 1, 1],
  [6, 24, 2, 2],
  [6, 32, 3, 2],
  [6, 64, 4, 2],
  [6, 96, 3, 1],
  [6, 160, 3, 2],
  [6, 320, 1, 1],
]

/** The MobileNetV2 layers model (functional API, Keras' layer names). */
export function mobileNetV2({ size = 224, classes = 256, seed = 7 } = {}) {
  let k = 0
  const init = () => tf.initializers.heNormal({ seed: seed * 1000 + k++ })
  const bn = (name) => tf.layers.batchNormalization({ epsilon: 1e-3, momentum: 0.999, name })
  const relu6 = (name) => tf.layers.reLU({ maxValue: 6, name })
  const input = tf.input({ shape: [size, size, 3], name: 'input_1' })
  let x = tf.layers.zeroPadding2d({ padding: [[0, 1], [0, 1]], name: 'Conv1_pad' }).apply(input)
  x = tf.layers.conv2d({ filters: 32, kernelSize: 3, strides: 2, padding: 'valid', useBias: false, kernelInitializer: init(), name: 'Conv1' }).apply(x)
  x = bn('bn_Conv1').apply(x)
  x = relu6('Conv1_relu').apply(x)
  let cin = 32
  let id = 0
  for (const [t, c, n, s] of BLOCKS) {
    for (let r = 0; r < n; r++) {
      const stride = r === 0 ? s : 1
      const p = id === 0 ? 'expanded_conv_' : `block_${id}_`
      const input = x
      let h = x
      if (t !== 1) {
        h = tf.layers.conv2d({ filters: cin * t, kernelSize: 1, padding: 'same', useBias: false, kernelInitializer: init(), name: `${p}expand` }).apply(h)
        h = bn(`${p}expand_BN`).apply(h)
        h = relu6(`${p}expand_relu`).apply(h)
      }
      if (stride === 2) h = tf.layers.zeroPadding2d({ padding: [[0, 1], [0, 1]], name: `${p}pad` }).apply(h)
      // He init over the 9 taps one channel sees (tfjs' heNormal would count every channel).
      const dwInit = tf.initializers.randomNormal({ mean: 0, stddev: Math.sqrt(2 / 9), seed: seed * 1000 + k++ })
      h = tf.layers.depthwiseConv2d({ kernelSize: 3, strides: stride, padding: stride === 2 ? 'valid' : 'same', useBias: false, depthwiseInitializer: dwInit, name: `${p}depthwise` }).apply(h)
      h = bn(`${p}depthwise_BN`).apply(h)
      h = relu6(`${p}depthwise_relu`).apply(h)
      h = tf.layers.conv2d({ filters: c, kernelSize: 1, padding: 'same', useBias: false, kernelInitializer: init(), name: `${p}project` }).apply(h)
      h = bn(`${p}project_BN`).apply(h)
      if (stride === 1 && cin === c) h = tf.layers.add({ name: `${p}add` }).apply([input, h])
      x = h
      cin = c
      id++
    }
  }
  x = tf.layers.conv2d({ filters: 1280, kernelSize: 1, useBias: false, kernelInitializer: init(), name: 'Conv_1' }).apply(x)
  x = bn('Conv_1_bn').apply(x)
  x = relu6('out_relu').apply(x)
  x = tf.layers.globalAveragePooling2d({ name: 'global_average_pooling2d' }).apply(x)
  const out = tf.layers.dense({ units: classes, activation: 'softmax', kernelInitializer: tf.initializers.glorotUniform({ seed: seed * 1000 + k++ }), name: 'predictions' }).apply(x)
  return tf.model({ inputs: input, outputs: out, name: `mobilenetv2_1.00_${size}` })
}

/** Sets every batch norm's moving mean and variance to the statistics of its input on
 *  `images` ([b, H, W, 3] in [-1, 1]), in graph order, as training would have left them:
 *  without it random weights make the activations vanish within a few blocks. Statistics are
 *  per channel, so a small image size gives nearly the same ones as 224 px. */
export function calibrateBatchNorm(model, images) {
  const outputs = new Map()
  for (const layer of model.layers) {
    const node = layer.inboundNodes[0]
    const ins = node.inboundLayers.map((l) => outputs.get(l.name))
    const x = layer.getClassName() === 'InputLayer' ? images : ins.length === 1 ? ins[0] : ins
    if (layer.getClassName() === 'BatchNormalization') {
      const { mean, variance } = tf.moments(x, [0, 1, 2])
      const [gamma, beta] = layer.getWeights()
      layer.setWeights([gamma, beta, mean, variance])
    }
    outputs.set(layer.name, layer.getClassName() === 'InputLayer' ? images : layer.apply(x, { training: false }))
  }
  tf.dispose([...outputs.values()].filter((t) => t !== images))
}

/** Calibration pictures: discs of random colours on random backgrounds, [b, size, size, 3] in [-1, 1]. */
function calibrationImages(b, size, seed) {
  const rand = mulberry32(seed)
  const data = new Float32Array(b * size * size * 3)
  for (let n = 0; n < b; n++) {
    const fg = [rand(), rand(), rand()].map((v) => v * 2 - 1)
    const bg = [rand(), rand(), rand()].map((v) => v * 2 - 1)
    const cx = size * rand()
    const cy = size * rand()
    const r = size * (0.15 + 0.3 * rand())
    for (let y = 0; y < size; y++)
      for (let x = 0; x < size; x++) {
        const c = (x - cx) ** 2 + (y - cy) ** 2 < r * r ? fg : bg
        const o = ((n * size + y) * size + x) * 3
        for (let ch = 0; ch < 3; ch++) data[o + ch] = c[ch] + (rand() - 0.5) * 0.2
      }
  }
  return tf.tensor4d(data, [b, size, size, 3])
}

/** uint8 quantisation as tensorflowjs_converter does it: per weight, min and scale = range / 255. */
export function quantizeUint8(values) {
  let min = Infinity
  let max = -Infinity
  for (const v of values) {
    if (v < min) min = v
    if (v > max) max = v
  }
  const scale = max > min ? (max - min) / 255 : 1
  const bytes = new Uint8Array(values.length)
  for (let i = 0; i < values.length; i++) bytes[i] = Math.max(0, Math.min(255, Math.round((values[i] - min) / scale)))
  return { bytes, min, scale }
}

/** model.json + one .bin shard (uint8-quantised weights) for `model`: Map name → bytes. */
export async function quantizedModelFiles(model) {
  let art = null
  await model.save(tf.io.withSaveHandler(async (a) => ((art = a), { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } })))
  const floats = new Float32Array(art.weightData)
  const parts = []
  const weights = []
  let offset = 0
  for (const spec of art.weightSpecs) {
    const n = spec.shape.reduce((a, b) => a * b, 1)
    const q = quantizeUint8(floats.subarray(offset, offset + n))
    offset += n
    parts.push(q.bytes)
    weights.push({ name: spec.name, shape: spec.shape, dtype: 'float32', quantization: { dtype: 'uint8', min: q.min, scale: q.scale } })
  }
  const bin = new Uint8Array(parts.reduce((a, p) => a + p.length, 0))
  let at = 0
  for (const p of parts) (bin.set(p, at), (at += p.length))
  const json = { format: 'layers-model', generatedBy: 'keras v2.12.0', convertedBy: 'TensorFlow.js Converter v4.22.0', modelTopology: art.modelTopology, weightsManifest: [{ paths: ['group1-shard1of1.bin'], weights }] }
  return new Map([
    ['model.json', new TextEncoder().encode(JSON.stringify(json))],
    ['group1-shard1of1.bin', bin],
  ])
}

function mulberry32(seed) {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const COLOURS = { red: [205, 40, 45], green: [40, 160, 60], blue: [40, 70, 205], yellow: [225, 200, 40] }

/** A zip of `count` PNGs (`side`×`side`, photo-like sizes differ from the model's 224), in
 *  `classes` folders: a coloured disc of the class colour, shifted, sized and tinted at random,
 *  on a noisy light background. */
export function imageZip({ count = 400, classes = 4, side = 96, seed = 3 } = {}) {
  const names = Object.keys(COLOURS).slice(0, classes)
  const rand = mulberry32(seed)
  const entries = {}
  for (let i = 0; i < count; i++) {
    const name = names[i % names.length]
    const [r0, g0, b0] = COLOURS[name]
    const img = new PNG({ width: side, height: side })
    const cx = side * (0.3 + 0.4 * rand())
    const cy = side * (0.3 + 0.4 * rand())
    const rad = side * (0.28 + 0.14 * rand())
    const tint = () => Math.round((rand() - 0.5) * 40)
    const [r, g, b] = [r0 + tint(), g0 + tint(), b0 + tint()]
    for (let y = 0; y < side; y++)
      for (let x = 0; x < side; x++) {
        const inside = (x - cx) ** 2 + (y - cy) ** 2 < rad * rad
        const n = Math.round((rand() - 0.5) * 24)
        const px = inside ? [r + n, g + n, b + n] : [225 + n, 225 + n, 215 + n]
        img.data.set([...px.map((v) => Math.max(0, Math.min(255, v))), 255], (y * side + x) * 4)
      }
    entries[`shapes/${name}/${String(i).padStart(5, '0')}.png`] = PNG.sync.write(img, { colorType: 2 })
  }
  return zipSync(entries, { level: 0 })
}

/** Writes the model files and the zip into `dir`; returns their paths. */
export async function makeFixture(dir, { images = 400, classes = 4, size = 224, side = 96 } = {}) {
  await tf.setBackend('cpu')
  const model = mobileNetV2({ size })
  // Batch-norm statistics from a 64 px twin (same seeds, so the same weights): 12× cheaper than 224 px.
  const twin = mobileNetV2({ size: 64 })
  const calib = calibrationImages(16, 64, 11)
  calibrateBatchNorm(twin, calib)
  calib.dispose()
  model.setWeights(twin.getWeights())
  twin.dispose()
  const files = await quantizedModelFiles(model)
  const params = model.countParams()
  model.dispose()
  await mkdir(dir, { recursive: true })
  const out = { params, model: [], zip: path.join(dir, 'images.zip') }
  for (const [name, bytes] of files) {
    const p = path.join(dir, name)
    await writeFile(p, bytes)
    out.model.push(p)
  }
  await writeFile(out.zip, imageZip({ count: images, classes, side }))
  return out
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { images: { type: 'string' }, classes: { type: 'string' }, size: { type: 'string' }, side: { type: 'string' } } })
  const dir = positionals[0] ?? 'node_modules/.fixtures/mobilenet'
  const made = await makeFixture(dir, { images: Number(values.images ?? 400), classes: Number(values.classes ?? 4), size: Number(values.size ?? 224), side: Number(values.side ?? 96) })
  console.log(`${made.params.toLocaleString('en')} parameters → ${made.model.join(', ')}; ${made.zip}`)
}
