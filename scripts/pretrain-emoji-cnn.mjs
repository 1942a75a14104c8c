#!/usr/bin/env node
// Pretrains the built-in "emoji-cnn" TinyCnn and writes public/models/emoji-cnn/.
//   npm run pretrain:emoji-cnn                  # default 20-minute budget
//   npm run pretrain:emoji-cnn -- --minutes 5   # other budget
//   npm run pretrain:emoji-cnn -- --quick       # a few steps on a few images into a temp dir (CI)
//   options: --out DIR, --steps N, --backend wasm|cpu,
//            --init DIR (continue from a model written before; the pretraining head starts fresh)
// Task: the emoji's category (Smileys & Emotion, Animals & Nature, …, 9 classes) from its
// picture, in two drawing styles: Google's Noto Emoji (Apache-2.0) and Twitter's Twemoji
// (CC-BY 4.0), 64-px PNGs from the emoji-datasource-* npm packages, categories from
// emoji-datasource's emoji.json. Validation holds out 15% of the emoji (both styles of
// each), so it measures generalisation to emoji the model never saw.
// Runs in Node on tfjs' wasm backend (the model avoids ops whose gradients wasm lacks).
import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { PNG } from 'pngjs'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const require = createRequire(import.meta.url)
const { values: opts } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    minutes: { type: 'string' },
    steps: { type: 'string' },
    out: { type: 'string' },
    backend: { type: 'string', default: 'wasm' },
    init: { type: 'string' },
  },
})
const quick = opts.quick
const minutes = Number(opts.minutes ?? (quick ? 0.5 : 20))
const outDir = opts.out ? path.resolve(opts.out) : quick ? await mkdtemp(path.join(os.tmpdir(), 'emoji-cnn-')) : path.join(root, 'public/models/emoji-cnn')
const SIZE = 32
const VAL_FRACTION = 0.15
const STYLES = [
  { set: 'google', pkg: 'emoji-datasource-google', name: 'Noto Emoji (Google)', licence: 'Apache-2.0', url: 'https://github.com/googlefonts/noto-emoji' },
  { set: 'twitter', pkg: 'emoji-datasource-twitter', name: 'Twemoji (Twitter)', licence: 'CC-BY 4.0', url: 'https://github.com/twitter/twemoji' },
]
const cfg = {
  steps: Number(opts.steps ?? (quick ? 3 : 100_000)),
  batchSize: quick ? 8 : 64,
  learningRate: 3e-3,
  minLearningRate: 1e-4,
  warmupSteps: quick ? 1 : 100,
  weightDecay: 0.02,
  clipNorm: 1,
  labelSmoothing: 0.1,
  headDropout: 0.1,
  augment: true,
  maxShift: 3,
  evalEvery: quick ? 0 : 300,
  seed: 1,
  timeBudgetMs: minutes * 60_000,
}
const started = Date.now()
const log = (...a) => console.log(`[${((Date.now() - started) / 1000).toFixed(0).padStart(5)} s]`, ...a)

// The studio's TypeScript engine, loaded through tsx so this stays a plain `node` script.
const { register } = await import('tsx/esm/api')
register()
const tf = await import('@tensorflow/tfjs')
if (opts.backend === 'wasm') await import('@tensorflow/tfjs-backend-wasm')
const { TinyCnn, EMOJI_CNN_CONFIG } = await import('../src/engine/models/tinyCnn.ts')
const { serializeTinyCnn, checkCnnModelJson, tinyCnnFromParts } = await import('../src/engine/models/cnnFile.ts')
const { toPremultiplied } = await import('../src/engine/data/imageInput.ts')
const { pretrainCnn } = await import('../src/engine/train/pretrainCnn.ts')
const { Head } = await import('../src/engine/tuning/heads.ts')
const { mulberry32, shuffleInPlace } = await import('../src/engine/data/rng.ts')

await tf.setBackend(opts.backend)
await tf.ready()
log(`backend ${tf.getBackend()}, output ${outDir}`)

// ---- data -------------------------------------------------------------------------------
const emoji = JSON.parse(await readFile(require.resolve('emoji-datasource/emoji.json'), 'utf8'))
const usable = emoji
  .filter((e) => e.category !== 'Component' && STYLES.every((s) => e[`has_img_${s.set}`]))
  .sort((a, b) => a.sort_order - b.sort_order)
const classes = [...new Set(usable.map((e) => e.category))]
// Stratified split by emoji: both styles of an emoji land on the same side.
const rand = mulberry32(20261123)
const trainEmoji = []
const valEmoji = []
for (const c of classes) {
  const members = shuffleInPlace(
    usable.filter((e) => e.category === c),
    rand,
  )
  const nVal = Math.max(1, Math.round(members.length * VAL_FRACTION))
  valEmoji.push(...members.slice(0, nVal))
  trainEmoji.push(...members.slice(nVal))
}
const pick = (list, n) => (quick ? shuffleInPlace([...list], rand).slice(0, n) : list)

function imageSet(list) {
  const n = list.length * STYLES.length
  const premul = new Float32Array(n * SIZE * SIZE * 3)
  const alpha = new Float32Array(n * SIZE * SIZE)
  const labels = new Int32Array(n)
  let i = 0
  for (const e of list) {
    for (const s of STYLES) {
      const file = path.join(path.dirname(require.resolve(`${s.pkg}/package.json`)), 'img', s.set, '64', e.image)
      const png = PNG.sync.read(require('node:fs').readFileSync(file))
      const px = toPremultiplied({ width: png.width, height: png.height, data: png.data }, SIZE)
      premul.set(px.premul, i * SIZE * SIZE * 3)
      alpha.set(px.alpha, i * SIZE * SIZE)
      labels[i] = classes.indexOf(e.category)
      i++
    }
  }
  return { n, size: SIZE, premul, alpha, labels }
}
const trainList = pick(trainEmoji, 24)
const valList = pick(valEmoji, 12)
const train = imageSet(trainList)
const val = imageSet(valList)
log(`${classes.length} classes; train ${train.n} images (${trainList.length} emoji × ${STYLES.length} styles), val ${val.n}`)

// ---- train ------------------------------------------------------------------------------
let model = new TinyCnn(EMOJI_CNN_CONFIG, undefined, cfg.seed)
let previous = /** @type {any} */ (null) // card of the run continued from, if any
if (opts.init) {
  const dir = path.resolve(opts.init)
  const json = checkCnnModelJson(JSON.parse(await readFile(path.join(dir, 'model.json'), 'utf8')), path.join(dir, 'model.json'))
  model.dispose()
  model = tinyCnnFromParts(json, new Uint8Array(await readFile(path.join(dir, /** @type {string} */ (json.weightsManifest[0]?.paths[0])))))
  previous = json.card
  log(`continuing from ${dir} (${previous?.training?.steps ?? '?'} steps before)`)
}
const head = new Head({ name: 'emoji-category', kind: 'classification', inputDim: model.featureDim, numClasses: classes.length }, cfg.seed + 11)
log(`TinyCnn with ${model.parameterCount()} parameters (+ ${head.params.reduce((n, p) => n + p.variable.size, 0)} in the pretraining head)`)
const result = await pretrainCnn(model, head, train, val, cfg, (e) => {
  const v = e.val ? `  val loss ${e.val.loss.toFixed(3)} acc ${(100 * e.val.accuracy).toFixed(1)}%` : ''
  log(`step ${e.step}/${e.totalSteps}  loss ${e.loss.toFixed(3)}  lr ${e.learningRate.toExponential(2)}${v}`)
})
log(`done: ${result.steps} steps, val accuracy ${(100 * result.val.accuracy).toFixed(1)}% (loss ${result.val.loss.toFixed(3)})`)

// Per-class validation accuracy for the card.
const perClass = classes.map((name, c) => {
  let n = 0
  let ok = 0
  for (let i = 0; i < val.n; i++) {
    if (val.labels[i] !== c) continue
    n++
    if (result.val.preds[i] === c) ok++
  }
  return { class: name, images: n, accuracy: n ? ok / n : null }
})

// ---- write ------------------------------------------------------------------------------
const cpu = os.cpus()[0]?.model ?? 'unknown CPU'
const card = {
  name: 'emoji-cnn',
  title: 'Emoji CNN (170k parameters, 32×32 RGB)',
  architecture:
    `MobileNet-style CNN: 3×3 stem (${EMOJI_CNN_CONFIG.stemChannels} ch, im2col matmul) + 2×2 average pool, ` +
    `${EMOJI_CNN_CONFIG.blocks.length} depthwise-separable blocks (depthwise 3×3 → ReLU6 → pointwise 1×1 → channel LayerNorm → ReLU6, ` +
    `residual where shapes match; stride 2 = 2×2 average pool at the block input), final channel LayerNorm, global average pooling. ` +
    `Channels ${EMOJI_CNN_CONFIG.blocks.map((b) => b.channels).join('→')}; features ${model.featureDim}. No BatchNorm (stateless, so frozen prefixes cache exactly).`,
  parameters: model.parameterCount(),
  input: `[B, ${SIZE}, ${SIZE}, 3] RGB in [-1, 1] (pixel / 127.5 − 1), transparency composited on white, area-downscaled`,
  task: `Emoji category (${classes.length} classes) from the picture; the pretraining head is not shipped`,
  classes,
  data: {
    emoji: usable.length,
    trainImages: train.n,
    valImages: val.n,
    split: `${Math.round(VAL_FRACTION * 100)}% of the emoji of each category held out (both styles of a held-out emoji are in validation)`,
    sources: [
      ...STYLES.map((s) => ({ name: s.name, package: `${s.pkg}@${require(`${s.pkg}/package.json`).version}`, images: '64-px PNG', licence: s.licence, url: s.url })),
      { name: 'Categories', package: `emoji-datasource@${require('emoji-datasource/package.json').version}`, licence: 'MIT', url: 'https://github.com/iamcal/emoji-data' },
    ],
    attribution: 'Twemoji graphics by Twitter, Inc and other contributors, licensed CC-BY 4.0. Noto Emoji by Google, licensed Apache-2.0.',
  },
  training: {
    steps: result.steps,
    imagesSeen: result.imagesSeen,
    batchSize: cfg.batchSize,
    optimizer: `AdamW (weight decay ${cfg.weightDecay} on kernels), peak lr ${cfg.learningRate}, warm-up of min(${cfg.warmupSteps} steps, a tenth of the plan), cosine to ${cfg.minLearningRate}, clip ${cfg.clipNorm}; the step plan is refit to the ${minutes}-minute budget every 25 steps from the measured pace`,
    labelSmoothing: cfg.labelSmoothing,
    augmentation: `random shift ±${cfg.maxShift} px, horizontal mirror, light grey background 0.75–1.0`,
    seconds: Math.round(result.elapsedMs / 1000),
    machine: `${os.cpus().length}× ${cpu}, Node ${process.version}, tfjs ${tf.version.tfjs} ${tf.getBackend()} backend`,
    script: 'npm run pretrain:emoji-cnn',
    quick,
    ...(previous ? { continuedFrom: { steps: previous.training?.steps, imagesSeen: previous.training?.imagesSeen, seconds: previous.training?.seconds, valAccuracy: previous.results?.valAccuracy } } : {}),
  },
  results: {
    valAccuracy: Number(result.val.accuracy.toFixed(4)),
    valLoss: Number(result.val.loss.toFixed(4)),
    chance: Number((1 / classes.length).toFixed(4)),
    majorityClass: Number((Math.max(...perClass.map((c) => c.images)) / val.n).toFixed(4)),
    perClass,
  },
  intendedUse:
    'A small pretrained image body to fine-tune in the studio on icon-like pictures (emoji, pictograms, simple drawings) at 32×32. ' +
    'Its features know colour, shape and layout of flat icons; they are weak on photographs and anything that needs fine detail.',
  limitations:
    'Trained on about 3,000 images in two styles; categories overlap (a person doing a sport is "People & Body" or "Activities"), so accuracy is bounded well below 100%.',
}
const { json, weights } = await serializeTinyCnn(model, card, { pretrainClasses: classes })
await mkdir(outDir, { recursive: true })
await writeFile(path.join(outDir, 'model.json'), JSON.stringify(json, null, 1) + '\n')
await writeFile(path.join(outDir, 'weights.bin'), new Uint8Array(weights))
await writeFile(path.join(outDir, 'card.json'), JSON.stringify(card, null, 2) + '\n')
await writeFile(path.join(outDir, 'card.md'), cardMarkdown(card))
log(`wrote ${outDir}/model.json, weights.bin (${weights.byteLength} bytes), card.json, card.md`)
model.dispose()
head.dispose()

function cardMarkdown(c) {
  const pct = (x) => (x === null ? '–' : `${(100 * x).toFixed(1)}%`)
  return `# ${c.title}

${c.architecture}

- **Parameters:** ${c.parameters.toLocaleString('en')}
- **Input:** ${c.input}
- **Pretraining task:** ${c.task}
- **Validation accuracy:** ${pct(c.results.valAccuracy)} (loss ${c.results.valLoss}; chance ${pct(c.results.chance)}, majority class ${pct(c.results.majorityClass)})

## Data

${c.data.emoji} emoji × 2 styles: ${c.data.trainImages} training and ${c.data.valImages} validation images. ${c.data.split}.

| Source | npm package | Licence |
|---|---|---|
${c.data.sources.map((s) => `| [${s.name}](${s.url}) | ${s.package} | ${s.licence} |`).join('\n')}

${c.data.attribution}

## Training

- ${c.training.steps} steps × ${c.training.batchSize} images (${c.training.imagesSeen.toLocaleString('en')} images seen) in ${c.training.seconds} s${c.training.continuedFrom ? `, continuing an earlier run of ${c.training.continuedFrom.steps} steps (${c.training.continuedFrom.imagesSeen.toLocaleString('en')} images, ${c.training.continuedFrom.seconds} s, validation accuracy ${pct(c.training.continuedFrom.valAccuracy)}) with a fresh head and a new schedule` : ''}
- ${c.training.optimizer}; label smoothing ${c.training.labelSmoothing}
- Augmentation: ${c.training.augmentation}
- Machine: ${c.training.machine}
- Reproduce: \`${c.training.script}\` (scripts/pretrain-emoji-cnn.mjs)

## Validation accuracy by category

| Category | Images | Accuracy |
|---|---|---|
${c.results.perClass.map((p) => `| ${p.class} | ${p.images} | ${pct(p.accuracy)} |`).join('\n')}

## Intended use

${c.intendedUse}

## Limitations

${c.limitations}
`
}
