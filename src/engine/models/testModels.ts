import * as tf from '@tensorflow/tfjs'

/** Test fixtures (not shipped code): small layers models saved to in-memory files, served
 *  by a fake fetch — the same files the e2e test serves over HTTP. */
export type ModelFiles = Map<string, Uint8Array> // file name → bytes

/** A tiny MobileNet-like image classifier: conv-bn-relu blocks, global pooling, dense softmax. */
export function tinyImageModel(seed = 1, size = 16, classes = 3): tf.LayersModel {
  const init = (k: number) => tf.initializers.glorotUniform({ seed: seed * 10 + k })
  const m = tf.sequential({ name: 'tiny_cnn' })
  m.add(tf.layers.conv2d({ inputShape: [size, size, 3], filters: 8, kernelSize: 3, strides: 2, padding: 'same', useBias: false, kernelInitializer: init(1), name: 'conv1' }))
  m.add(tf.layers.batchNormalization({ name: 'conv1_bn' }))
  m.add(tf.layers.reLU({ name: 'conv1_relu' }))
  m.add(tf.layers.depthwiseConv2d({ kernelSize: 3, padding: 'same', depthwiseInitializer: init(2), name: 'dw2' }))
  m.add(tf.layers.conv2d({ filters: 12, kernelSize: 1, kernelInitializer: init(3), name: 'pw2' }))
  m.add(tf.layers.reLU({ name: 'pw2_relu' }))
  m.add(tf.layers.globalAveragePooling2d({ name: 'pool' }))
  m.add(tf.layers.dropout({ rate: 0.1, name: 'drop' }))
  m.add(tf.layers.dense({ units: classes, activation: 'softmax', kernelInitializer: init(4), name: 'preds' }))
  return m
}

/** A functional model with a residual connection, to check blocks never split a skip. */
export function residualModel(seed = 2): tf.LayersModel {
  const init = (k: number) => tf.initializers.glorotUniform({ seed: seed * 10 + k })
  const input = tf.input({ shape: [8, 8, 3], name: 'img' })
  const a = tf.layers.conv2d({ filters: 4, kernelSize: 3, padding: 'same', activation: 'relu', kernelInitializer: init(1), name: 'stem' }).apply(input) as tf.SymbolicTensor
  const b = tf.layers.conv2d({ filters: 4, kernelSize: 3, padding: 'same', activation: 'relu', kernelInitializer: init(2), name: 'res_a' }).apply(a) as tf.SymbolicTensor
  const c = tf.layers.conv2d({ filters: 4, kernelSize: 3, padding: 'same', kernelInitializer: init(3), name: 'res_b' }).apply(b) as tf.SymbolicTensor
  const added = tf.layers.add({ name: 'res_add' }).apply([a, c]) as tf.SymbolicTensor
  const d = tf.layers.conv2d({ filters: 6, kernelSize: 1, activation: 'relu', kernelInitializer: init(4), name: 'top' }).apply(added) as tf.SymbolicTensor
  const p = tf.layers.globalAveragePooling2d({ name: 'gap' }).apply(d) as tf.SymbolicTensor
  const out = tf.layers.dense({ units: 2, activation: 'softmax', kernelInitializer: init(5), name: 'cls' }).apply(p) as tf.SymbolicTensor
  return tf.model({ inputs: input, outputs: out, name: 'residual' })
}

/** Saves a layers model as model.json + `shards` .bin files, as tensorflowjs writes them. */
export async function modelFiles(model: tf.LayersModel, shards = 2): Promise<ModelFiles> {
  let art: tf.io.ModelArtifacts | null = null
  await model.save(
    tf.io.withSaveHandler(async (a) => {
      art = a
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } }
    }),
  )
  const a = art as unknown as tf.io.ModelArtifacts
  const data = new Uint8Array(a.weightData as ArrayBuffer)
  const per = Math.ceil(data.length / shards)
  const paths = Array.from({ length: shards }, (_, i) => `group1-shard${i + 1}of${shards}.bin`)
  const files: ModelFiles = new Map()
  paths.forEach((p, i) => files.set(p, data.slice(i * per, (i + 1) * per)))
  const json = { format: 'layers-model', generatedBy: 'test', convertedBy: null, modelTopology: a.modelTopology, weightsManifest: [{ paths, weights: a.weightSpecs }] }
  files.set('model.json', new TextEncoder().encode(JSON.stringify(json)))
  return files
}

/** A graph-model model.json (inference-only format), enough to be recognised. */
export function graphModelFiles(): ModelFiles {
  const json = { format: 'graph-model', modelTopology: { node: [{ name: 'x', op: 'Placeholder' }] }, weightsManifest: [{ paths: [], weights: [] }] }
  return new Map([['model.json', new TextEncoder().encode(JSON.stringify(json))]])
}

/** A fetch over files under http://models.test/<dir>/, counting requests. */
export function fakeFetch(files: ModelFiles, base = 'http://models.test/m/'): { fetchFn: (url: string) => Promise<Response>; requests: string[] } {
  const requests: string[] = []
  const fetchFn = async (url: string) => {
    requests.push(url)
    const bytes = url.startsWith(base) ? files.get(url.slice(base.length)) : undefined
    if (!bytes) return new Response('not found', { status: 404 })
    return new Response(bytes.slice().buffer, { status: 200, headers: { 'content-length': String(bytes.length) } })
  }
  return { fetchFn, requests }
}

export function editJson(files: ModelFiles, edit: (json: Record<string, unknown>) => void): ModelFiles {
  const json = JSON.parse(new TextDecoder().decode(files.get('model.json'))) as Record<string, unknown>
  edit(json)
  return new Map(files).set('model.json', new TextEncoder().encode(JSON.stringify(json)))
}
