/** One declaration per setting: type, default, range or choices, help, URL short name.
 *  Controls, clamping, validation, the URL codec and the README table all derive from
 *  SPEC below; adding a knob is one entry here plus its use in the engine. */
import { formatCount } from '../format/format'
import { parseFrozenBlocks } from './frozenBlocks'
import { parseTaskWeights } from './taskWeights'
import type { Settings } from './types'

export type Group =
  | 'method'
  | 'optimisation'
  | 'schedule'
  | 'regularisation'
  | 'augmentation'
  | 'validation'
  | 'environment'

/** UI order and headings of the groups. */
export const GROUPS: readonly { id: Group; label: string }[] = [
  { id: 'method', label: 'Method' },
  { id: 'optimisation', label: 'Optimisation' },
  { id: 'schedule', label: 'Learning-rate schedule' },
  { id: 'regularisation', label: 'Regularisation' },
  { id: 'augmentation', label: 'Image augmentation (training images only)' },
  { id: 'validation', label: 'Validation' },
  { id: 'environment', label: 'Environment' },
]

interface Base<K extends keyof Settings> {
  key: K
  label: string // short, for the control
  help: string // one line: what it does, and what goes wrong when too high or too low
  short: string // 1–3 characters, the URL parameter name; never reused for another meaning
  group: Group
  showWhen?: (s: Settings) => boolean // hidden controls keep their value but do nothing
  level?: 'basic' // shown in the beginner view; every other setting sits under "Advanced"
}

export interface NumberSpec<K extends keyof Settings = keyof Settings> extends Base<K> {
  kind: 'number' | 'int'
  default: number
  min: number
  max: number
  step?: number
  scale?: 'log' | 'linear'
  unit?: string // shown after the value in summaries, e.g. "steps"
  zeroMeans?: string // what 0 stands for, e.g. "off"
}

export interface ChoiceSpec<K extends keyof Settings = keyof Settings> extends Base<K> {
  kind: 'choice'
  default: Settings[K]
  choices: readonly { value: Settings[K]; label: string }[]
}

export interface BoolSpec<K extends keyof Settings = keyof Settings> extends Base<K> {
  kind: 'bool'
  default: boolean
}

export interface TextSpec<K extends keyof Settings = keyof Settings> extends Base<K> {
  kind: 'text'
  default: string
  maxLength: number
  /** Returns the canonical form of an acceptable value, or null to refuse it. Text is
   *  never free-form: every text setting has a closed vocabulary. */
  parse: (raw: string) => string | null
  placeholder?: string
}

/** The declaration type a key must use, chosen from its value type in Settings. */
export type SpecFor<K extends keyof Settings> = [Settings[K]] extends [boolean]
  ? BoolSpec<K>
  : [Settings[K]] extends [number]
    ? NumberSpec<K>
    : string extends Settings[K]
      ? TextSpec<K>
      : ChoiceSpec<K>

export type SettingSpec = { [K in keyof Settings]: SpecFor<K> }[keyof Settings]

/** The projection kinds LoRA can wrap; mirrors LINEAR_LAYERS in the model. */
export const LORA_TARGETS = ['qkv', 'proj', 'fc', 'out'] as const

/** Accepts a comma list of known targets; returns it deduplicated in canonical order (the
 *  engine's parseLoraTargets turns the canonical list into target kinds). */
export function canonicalLoraTargets(raw: string): string | null {
  const parts = raw.split(',').map((p) => p.trim().toLowerCase())
  if (parts.length === 0 || parts.some((p) => !(LORA_TARGETS as readonly string[]).includes(p))) {
    return null
  }
  return LORA_TARGETS.filter((t) => parts.includes(t)).join(',')
}

const isFreeze = (s: Settings) => s.method === 'freeze'
const isLora = (s: Settings) => s.method === 'lora'
const trainsBody = (s: Settings) => s.method !== 'head'

/** Keyed by setting, so the compiler insists on exactly one declaration per key; the
 *  insertion order is the order of the controls in the UI. */
export const SPEC: { [K in keyof Settings]: SpecFor<K> } = {
  // ── method ───────────────────────────────────────────────────────────────────────
  method: {
    key: 'method',
    kind: 'choice',
    default: 'freeze',
    choices: [
      { value: 'head', label: 'Head only (linear probe)' },
      { value: 'freeze', label: 'Freeze early blocks' },
      { value: 'lora', label: 'LoRA' },
      { value: 'adapter', label: 'Adapters' },
      { value: 'full', label: 'Full fine-tune' },
      { value: 'custom', label: 'Choose blocks to freeze' },
    ],
    label: 'Method',
    help: 'How much of the network trains: fewer trainable weights train faster and forget less, but can fit the new task less closely.',
    short: 'm',
    group: 'method',
    level: 'basic',
  },
  freezeFirst: {
    key: 'freezeFirst',
    kind: 'int',
    default: 3,
    min: 0,
    max: 48,
    step: 1,
    label: 'Frozen blocks',
    help: 'Blocks from the input side kept frozen; too many and the model cannot adapt, too few and it trains slowly and may forget what it knew.',
    short: 'ff',
    group: 'method',
    unit: 'blocks',
    showWhen: isFreeze,
  },
  frozenBlocks: {
    key: 'frozenBlocks',
    kind: 'text',
    default: 'emb,0-2',
    maxLength: 32,
    parse: parseFrozenBlocks,
    placeholder: 'emb,0-2,norm',
    label: 'Frozen units',
    help: 'Which units stay frozen (emb = embeddings, block numbers or ranges, norm = final norm); also set by the checkboxes in the model\u2019s layer table.',
    short: 'fb',
    group: 'method',
    showWhen: (s) => s.method === 'custom',
  },
  unfreezeEvery: {
    key: 'unfreezeEvery',
    kind: 'int',
    default: 0,
    min: 0,
    max: 50,
    step: 1,
    label: 'Unfreeze every',
    help: 'Gradual unfreezing: thaw one more frozen block every K epochs (0 = off); too small thaws everything at once, too large never reaches the early blocks.',
    short: 'ue',
    zeroMeans: 'off',
    group: 'method',
    unit: 'epochs',
    showWhen: (s) => s.method === 'freeze' || s.method === 'custom',
  },
  headFirstEpochs: {
    key: 'headFirstEpochs',
    kind: 'int',
    default: 0,
    min: 0,
    max: 50,
    step: 1,
    label: 'Head-first epochs',
    help: 'Train only the new head for this many epochs before the body (0 = off); protects the body from a random head\u2019s large early gradients, but too many leaves no epochs for the body.',
    short: 'hf',
    zeroMeans: 'off',
    group: 'method',
    unit: 'epochs',
    showWhen: trainsBody,
  },
  loraRank: {
    key: 'loraRank',
    kind: 'int',
    default: 8,
    min: 1,
    max: 64,
    step: 1,
    scale: 'log',
    label: 'LoRA rank',
    help: 'Width of the low-rank update; too low cannot express the change, too high costs memory and overfits small data (4\u201316 is typical).',
    short: 'r',
    group: 'method',
    showWhen: isLora,
  },
  loraAlpha: {
    key: 'loraAlpha',
    kind: 'number',
    default: 16,
    min: 1,
    max: 128,
    step: 1,
    label: 'LoRA alpha',
    help: 'Scales the update by alpha/rank; too high makes training unstable, too low makes LoRA learn slowly (about 2\u00d7 rank is common).',
    short: 'la',
    group: 'method',
    showWhen: isLora,
  },
  loraDropout: {
    key: 'loraDropout',
    kind: 'number',
    default: 0,
    min: 0,
    max: 0.5,
    step: 0.05,
    label: 'LoRA dropout',
    help: 'Dropout on the LoRA input only; helps when a few hundred examples overfit, but too much slows learning.',
    short: 'ld',
    group: 'method',
    showWhen: isLora,
  },
  loraTargets: {
    key: 'loraTargets',
    kind: 'text',
    default: 'qkv,proj',
    maxLength: 20,
    parse: canonicalLoraTargets,
    placeholder: 'qkv,proj,fc,out',
    label: 'LoRA targets',
    help: 'Which projections get a LoRA update (qkv, proj, fc, out); more targets fit better but train more weights and run slower.',
    short: 'lt',
    group: 'method',
    showWhen: isLora,
  },
  adapterSize: {
    key: 'adapterSize',
    kind: 'int',
    default: 16,
    min: 2,
    max: 256,
    step: 1,
    scale: 'log',
    label: 'Adapter size',
    help: 'Bottleneck width of the adapter after each block; too small cannot learn the task, too large approaches full fine-tuning in cost and overfitting.',
    short: 'as',
    group: 'method',
    showWhen: (s) => s.method === 'adapter',
  },
  pooling: {
    key: 'pooling',
    kind: 'choice',
    default: 'auto',
    choices: [
      { value: 'auto', label: 'As the checkpoint says' },
      { value: 'cls', label: '[CLS] (as BertForSequenceClassification)' },
      { value: 'mean', label: 'Mean of token states (sentence encoders such as MiniLM)' },
    ],
    label: 'Pooling',
    help: 'Hugging Face BERT and DistilBERT encoders: what a classification or regression head reads. [CLS] trains the model\u2019s own pooler and classifier on the first token, so the merged export is a checkpoint AutoModelForSequenceClassification loads. The mean over the real tokens is how sentence encoders (MiniLM, sentence-transformers) were trained and usually suits them better, but no Hugging Face class reads it: the export is the encoder plus the studio\u2019s own head (studio_head.safetensors), and no PEFT head. \u201cAs the checkpoint says\u201d takes the mean when the model\u2019s sentence-transformers files (modules.json, 1_Pooling/config.json) ask for it, else [CLS]. Decoders and the built-in models ignore it.',
    short: 'po',
    group: 'method',
  },

  // ── optimisation ─────────────────────────────────────────────────────────────────
  learningRate: {
    key: 'learningRate',
    kind: 'number',
    default: 1e-3,
    min: 1e-6,
    max: 1e-1,
    scale: 'log',
    label: 'Learning rate',
    help: 'Size of each update; too high makes the loss jump or blow up to NaN, too low and the loss barely moves (use ~10\u00d7 lower for full fine-tuning).',
    short: 'lr',
    group: 'optimisation',
    level: 'basic',
  },
  batchSize: {
    key: 'batchSize',
    kind: 'int',
    default: 16,
    min: 1,
    max: 512,
    step: 1,
    scale: 'log',
    label: 'Batch size',
    help: 'Examples per gradient step; too large gives few, slow steps and uses more memory, too small gives noisy gradients.',
    short: 'bs',
    group: 'optimisation',
    level: 'basic',
  },
  epochs: {
    key: 'epochs',
    kind: 'int',
    default: 4,
    min: 1,
    max: 100,
    step: 1,
    label: 'Epochs',
    help: 'Passes over the training set; too many overfits (validation loss rises while training loss falls), too few underfits.',
    short: 'ep',
    group: 'optimisation',
    level: 'basic',
  },
  optimizer: {
    key: 'optimizer',
    kind: 'choice',
    default: 'adamw',
    choices: [
      { value: 'adamw', label: 'AdamW' },
      { value: 'adam', label: 'Adam' },
      { value: 'sgd', label: 'SGD' },
    ],
    label: 'Optimizer',
    help: 'AdamW is the safe default for transformers; SGD needs a much higher learning rate and momentum to make progress.',
    short: 'o',
    group: 'optimisation',
  },
  momentum: {
    key: 'momentum',
    kind: 'number',
    default: 0.9,
    min: 0,
    max: 0.99,
    step: 0.01,
    label: 'Momentum',
    help: 'SGD momentum; too high overshoots and oscillates, too low makes SGD slow and noisy.',
    short: 'mo',
    group: 'optimisation',
    showWhen: (s) => s.optimizer === 'sgd',
  },
  clipNorm: {
    key: 'clipNorm',
    kind: 'number',
    default: 1,
    min: 0,
    max: 100,
    step: 0.1,
    label: 'Clip grad norm',
    help: 'Caps the global gradient norm per step (0 = off); too low slows learning to a crawl, off lets one bad batch blow the weights up.',
    short: 'cn',
    zeroMeans: 'off',
    group: 'optimisation',
  },
  accumSteps: {
    key: 'accumSteps',
    kind: 'int',
    default: 1,
    min: 1,
    max: 64,
    step: 1,
    label: 'Accumulation steps',
    help: 'Micro-batches summed per optimizer step, for a larger effective batch without more memory; too many leaves very few updates per epoch.',
    short: 'ac',
    group: 'optimisation',
  },
  recompute: {
    key: 'recompute',
    kind: 'bool',
    default: false,
    label: 'Recompute activations',
    help: 'Hugging Face models: keep only each block\'s input while training and run the block again in the backward pass, so long sequences and larger batches fit in memory, for about a third more compute per step (gradient checkpointing). The built-in models ignore it.',
    short: 'rc',
    group: 'optimisation',
  },

  // ── schedule ─────────────────────────────────────────────────────────────────────
  schedule: {
    key: 'schedule',
    kind: 'choice',
    default: 'cosine',
    choices: [
      { value: 'constant', label: 'Constant' },
      { value: 'linear', label: 'Linear decay' },
      { value: 'cosine', label: 'Cosine decay' },
      { value: 'step', label: 'Step decay' },
    ],
    label: 'Schedule',
    help: 'How the learning rate changes after warm-up; decaying schedules settle into a minimum, constant keeps bouncing around it.',
    short: 's',
    group: 'schedule',
  },
  warmupSteps: {
    key: 'warmupSteps',
    kind: 'int',
    default: 10,
    min: 0,
    max: 10000,
    step: 1,
    label: 'Warm-up steps',
    help: 'Optimizer steps ramping the learning rate up from 0; too few can wreck pretrained weights in the first steps, too many wastes a short run.',
    short: 'wu',
    group: 'schedule',
    unit: 'steps',
  },
  stepEvery: {
    key: 'stepEvery',
    kind: 'int',
    default: 2,
    min: 1,
    max: 100,
    step: 1,
    label: 'Decay every',
    help: 'Epochs between learning-rate drops; too small decays before the model has learnt, too large never decays within the run.',
    short: 'se',
    group: 'schedule',
    unit: 'epochs',
    showWhen: (s) => s.schedule === 'step',
  },
  stepGamma: {
    key: 'stepGamma',
    kind: 'number',
    default: 0.5,
    min: 0.01,
    max: 1,
    step: 0.01,
    label: 'Decay factor',
    help: 'Factor applied to the learning rate at each drop; too low stalls training after the first drop, 1 means no decay.',
    short: 'sg',
    group: 'schedule',
    showWhen: (s) => s.schedule === 'step',
  },
  plateauPatience: {
    key: 'plateauPatience',
    kind: 'int',
    default: 0,
    min: 0,
    max: 20,
    step: 1,
    label: 'Halve LR on plateau',
    help: 'Halve the learning rate after this many epochs without validation improvement (0 = off); too small halves on noise, too large reacts too late.',
    short: 'pp',
    zeroMeans: 'off',
    group: 'schedule',
    unit: 'epochs',
  },

  // ── regularisation ───────────────────────────────────────────────────────────────
  weightDecay: {
    key: 'weightDecay',
    kind: 'number',
    default: 0.01,
    min: 0,
    max: 0.5,
    step: 0.001,
    label: 'Weight decay',
    help: 'Pulls the kernels toward zero each step (AdamW shrinks them directly; Adam and SGD add it to the gradient as an L2 penalty; biases, norms and embeddings are left alone); too high erases what pretraining learnt, too low lets small data overfit.',
    short: 'wd',
    group: 'regularisation',
  },
  dropout: {
    key: 'dropout',
    kind: 'number',
    default: 0.1,
    min: 0,
    max: 0.8,
    step: 0.05,
    label: 'Dropout',
    help: 'Randomly zeroes activations while training; too high and the model cannot fit even the training set, too low and it memorises small data.',
    short: 'do',
    group: 'regularisation',
  },
  labelSmoothing: {
    key: 'labelSmoothing',
    kind: 'number',
    default: 0,
    min: 0,
    max: 0.5,
    step: 0.01,
    label: 'Label smoothing',
    help: 'Moves a little target probability to the other classes to curb over-confidence; too high flattens predictions and hurts accuracy.',
    short: 'ls',
    group: 'regularisation',
  },
  taskWeights: {
    key: 'taskWeights',
    kind: 'text',
    default: '',
    maxLength: 32,
    parse: parseTaskWeights,
    placeholder: '1,0.5',
    label: 'Task loss weights',
    help: 'Multitask data only: one weight per label column, in order (empty = all 1); a heavy task dominates the shared body, a zero weight ignores that task.',
    short: 'tw',
    group: 'regularisation',
  },

  // ── augmentation (image data; training batches only, never validation) ─────────────
  augFlip: {
    key: 'augFlip',
    kind: 'bool',
    default: false,
    label: 'Random flips',
    help: 'Images only: mirror each training image left-right half the time, so the model ignores which way things face; wrong when direction matters (text, arrows, left vs right).',
    short: 'af',
    group: 'augmentation',
  },
  augShift: {
    key: 'augShift',
    kind: 'number',
    default: 0,
    min: 0,
    max: 0.3,
    step: 0.05,
    zeroMeans: 'off',
    label: 'Shift and crop',
    help: 'Images only: crop a random square of at least (1 − this) of each training image and scale it back, shifting and zooming it (0 = off); too much cuts off the object itself.',
    short: 'at',
    group: 'augmentation',
  },
  augRotate: {
    key: 'augRotate',
    kind: 'int',
    default: 0,
    min: 0,
    max: 30,
    unit: 'degrees',
    zeroMeans: 'off',
    label: 'Rotation',
    help: 'Images only: turn each training image by a random angle up to this many degrees either way (0 = off); a few degrees teach tilt tolerance, too many make upright classes look alike.',
    short: 'ar',
    group: 'augmentation',
  },
  augColor: {
    key: 'augColor',
    kind: 'number',
    default: 0,
    min: 0,
    max: 0.5,
    step: 0.05,
    zeroMeans: 'off',
    label: 'Colour jitter',
    help: 'Images only: change brightness, contrast and saturation of each training image by up to this fraction (0 = off); too much hides colour when colour is what tells classes apart.',
    short: 'aj',
    group: 'augmentation',
  },

  // ── validation ───────────────────────────────────────────────────────────────────
  valSplit: {
    key: 'valSplit',
    kind: 'number',
    default: 0.2,
    min: 0,
    max: 0.5,
    step: 0.05,
    label: 'Validation split',
    help: 'Fraction of examples held out to measure generalisation; too high starves training, too low (or 0) gives a noisy or no validation score.',
    short: 'vs',
    group: 'validation',
  },
  earlyStopPatience: {
    key: 'earlyStopPatience',
    kind: 'int',
    default: 0,
    min: 0,
    max: 50,
    step: 1,
    label: 'Early-stop patience',
    help: 'Stop after this many epochs without validation improvement (0 = off); too small stops on noise, too large rarely stops before overfitting.',
    short: 'es',
    zeroMeans: 'off',
    group: 'validation',
    unit: 'epochs',
  },
  monitor: {
    key: 'monitor',
    kind: 'choice',
    default: 'val_loss',
    choices: [
      { value: 'val_loss', label: 'Validation loss' },
      { value: 'val_acc', label: 'Validation accuracy' },
    ],
    label: 'Monitor',
    help: 'The validation metric that early stopping, plateau halving and "restore best" watch; loss is smoother, accuracy is what you usually report.',
    short: 'mn',
    group: 'validation',
  },
  restoreBest: {
    key: 'restoreBest',
    kind: 'bool',
    default: true,
    label: 'Restore best weights',
    help: 'When training ends, go back to the epoch with the best monitored score; off keeps the last epoch even if it overfitted.',
    short: 'rb',
    group: 'validation',
  },
  keepLast: {
    key: 'keepLast',
    kind: 'int',
    default: 2,
    min: 1,
    max: 20,
    step: 1,
    label: 'Keep last checkpoints',
    help: 'A checkpoint is saved in this browser after every epoch; keep this many recent ones (older ones are deleted), more costs storage space.',
    short: 'kl',
    group: 'validation',
    unit: 'epochs',
  },
  keepBest: {
    key: 'keepBest',
    kind: 'bool',
    default: true,
    label: 'Keep best checkpoint',
    help: 'Also keep the checkpoint of the best epoch (by the monitored metric) even when it is older than the last ones kept.',
    short: 'kb',
    group: 'validation',
  },

  // ── environment ──────────────────────────────────────────────────────────────────
  seqLen: {
    key: 'seqLen',
    kind: 'int',
    default: 64,
    min: 16,
    max: 256,
    step: 16,
    scale: 'log',
    label: 'Sequence length',
    help: 'Tokens per example (longer ones are cut); too short loses the end of the text, too long costs time and memory roughly in proportion.',
    short: 'sl',
    group: 'environment',
    unit: 'tokens',
  },
  seed: {
    key: 'seed',
    kind: 'int',
    default: 42,
    min: 0,
    max: 2147483647,
    step: 1,
    label: 'Seed',
    help: 'Fixes the split, shuffling, new-weight initialisation and dropout, so a run can be repeated exactly; change it to see how much results vary.',
    short: 'sd',
    group: 'environment',
  },
  backend: {
    key: 'backend',
    kind: 'choice',
    default: 'auto',
    choices: [
      { value: 'auto', label: 'Auto (fastest that works)' },
      { value: 'webgpu', label: 'WebGPU' },
      { value: 'webgl', label: 'WebGL' },
      { value: 'wasm', label: 'WebAssembly' },
      { value: 'cpu', label: 'CPU (slowest)' },
    ],
    label: 'Backend',
    help: 'Where the maths runs; auto picks the fastest backend that passes a self-test. One that is missing, or computes wrong numbers in that test, falls back to the next with a notice.',
    short: 'b',
    group: 'environment',
  },
}

/** The same table, seen without per-key types (for code that loops over keys). */
const BY_KEY: Record<keyof Settings, SettingSpec> = SPEC

/** Every declaration, in UI order. */
export const SCHEMA: readonly SettingSpec[] = Object.values(SPEC)

export const KEYS = SCHEMA.map((s) => s.key) as readonly (keyof Settings)[]

/** The studio's defaults: a ~1M-parameter text transformer, a 2-core CPU, ~600 short
 *  examples, about two minutes. */
export const DEFAULTS: Settings = Object.freeze(
  Object.fromEntries(SCHEMA.map((s) => [s.key, s.default])) as unknown as Settings,
)

export function specOf<K extends keyof Settings>(key: K): SpecFor<K> {
  return SPEC[key]
}

export function isSettingKey(k: string): k is keyof Settings {
  return Object.prototype.hasOwnProperty.call(SPEC, k)
}

/** Result of reading an untrusted value: the value to use, plus why it was refused. */
export type Coerced<K extends keyof Settings> =
  | { ok: true; value: Settings[K] }
  | { ok: false; value: Settings[K]; reason: string }

/** Longest string accepted for any value; a real setting never needs more. */
export const MAX_VALUE_LENGTH = 32

const NUMBER_RE = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i
/** Whether untrusted text is a plain decimal number (no hex, no Infinity, no spaces inside). */
export const isNumberText = (raw: string): boolean => NUMBER_RE.test(raw.trim())

/** Reads an untrusted value (a URL string, JSON, a form field) for `key`. Anything not
 *  exactly acceptable — wrong type, NaN, ±Infinity, out of range, an unknown choice —
 *  falls back to the default with a reason; this never throws and never clamps, because
 *  silently moving a shared value would misreport what the sender ran. */
export function coerce<K extends keyof Settings>(key: K, raw: unknown): Coerced<K> {
  const spec = BY_KEY[key]
  const r = read(spec, raw)
  if (typeof r === 'string') {
    return { ok: false, value: spec.default as Settings[K], reason: r }
  }
  return { ok: true, value: r.value as Settings[K] }
}

function read(spec: SettingSpec, raw: unknown): { value: Settings[keyof Settings] } | string {
  if (typeof raw === 'string' && raw.length > MAX_VALUE_LENGTH) {
    return `value is too long (${raw.length} characters)`
  }
  switch (spec.kind) {
    case 'number':
    case 'int': {
      let n: number
      if (typeof raw === 'number') n = raw
      else if (typeof raw === 'string' && NUMBER_RE.test(raw.trim())) n = Number(raw.trim())
      else return `expected a number, got ${describeRaw(raw)}`
      if (!Number.isFinite(n)) return `expected a finite number, got ${describeRaw(raw)}`
      if (spec.kind === 'int' && !Number.isInteger(n)) return `expected a whole number, got ${n}`
      if (n < spec.min || n > spec.max) {
        return `${formatNumber(n)} is outside ${formatNumber(spec.min)}\u2013${formatNumber(spec.max)}`
      }
      return { value: Object.is(n, -0) ? 0 : n }
    }
    case 'bool': {
      if (typeof raw === 'boolean') return { value: raw }
      if (raw === '1' || raw === 'true') return { value: true }
      if (raw === '0' || raw === 'false') return { value: false }
      return `expected 1 or 0, got ${describeRaw(raw)}`
    }
    case 'choice': {
      const hit = spec.choices.find((c) => c.value === raw)
      if (hit) return { value: hit.value }
      const allowed = spec.choices.map((c) => c.value).join(', ')
      return `expected one of ${allowed}, got ${describeRaw(raw)}`
    }
    case 'text': {
      if (typeof raw !== 'string') return `expected text, got ${describeRaw(raw)}`
      if (raw.length > spec.maxLength) return `value is too long (${raw.length} characters)`
      const parsed = spec.parse(raw)
      if (parsed === null) return `${describeRaw(raw)} is not an accepted value`
      return { value: parsed }
    }
  }
}

/** A short, inert description of a refused value for reports (never the whole value). */
export function describeRaw(raw: unknown): string {
  if (typeof raw === 'string') {
    const cut = raw.length > 24 ? `${raw.slice(0, 24)}\u2026` : raw
    return JSON.stringify(cut)
  }
  if (typeof raw === 'number') return String(raw)
  if (raw === null) return 'null'
  return typeof raw
}

/** Moves a value of the right type into range (for sliders and typed input): numbers are
 *  clamped and ints rounded; NaN, unknown choices and unparseable text become the default. */
export function clamp<K extends keyof Settings>(key: K, value: Settings[K]): Settings[K] {
  const spec = BY_KEY[key]
  switch (spec.kind) {
    case 'number':
    case 'int': {
      if (typeof value !== 'number' || Number.isNaN(value)) return spec.default as Settings[K]
      let n = Math.min(spec.max, Math.max(spec.min, value))
      if (spec.kind === 'int') n = Math.round(n)
      return n as Settings[K]
    }
    default: {
      const c = coerce(key, value)
      return c.value
    }
  }
}

export function formatNumber(n: number): string {
  if (n === 0) return '0'
  const a = Math.abs(n)
  // Whole numbers are written out in full (the seed's maximum is 2,147,483,647, not 2.147483647e9).
  if (Number.isSafeInteger(n) && a >= 1e6) return formatCount(n)
  if (a < 1e-3 || a >= 1e6) return n.toExponential().replace(/\.?0+e/, 'e').replace('e+', 'e')
  return String(Number(n.toPrecision(6)))
}

/** "Learning rate: 1e-4", "Method: LoRA", "Restore best weights: on". */
export function describeSetting<K extends keyof Settings>(key: K, value: Settings[K]): string {
  const spec = BY_KEY[key]
  return `${spec.label}: ${formatValue(spec, value)}`
}

function formatValue(spec: SettingSpec, value: Settings[keyof Settings]): string {
  switch (spec.kind) {
    case 'number':
    case 'int': {
      if (typeof value !== 'number') return String(value)
      if (value === 0 && spec.zeroMeans) return spec.zeroMeans
      return spec.unit ? `${formatNumber(value)} ${spec.unit}` : formatNumber(value)
    }
    case 'bool':
      return value ? 'on' : 'off'
    case 'choice':
      return spec.choices.find((c) => c.value === value)?.label ?? String(value)
    case 'text':
      return String(value)
  }
}

/** One line per setting that differs from the defaults (and is in effect), for run cards. */
export function summarise(s: Settings): string[] {
  return SCHEMA.filter((spec) => s[spec.key] !== spec.default && (spec.showWhen?.(s) ?? true)).map(
    (spec) => describeSetting(spec.key, s[spec.key]),
  )
}

/** The README's settings table, generated so it cannot drift from the schema. */
export function settingsMarkdownTable(): string {
  const range = (spec: SettingSpec): string => {
    switch (spec.kind) {
      case 'number':
      case 'int':
        return `${formatNumber(spec.min)}\u2013${formatNumber(spec.max)}${spec.scale === 'log' ? ' (log)' : ''}`
      case 'choice':
        return spec.choices.map((c) => `\`${c.value}\``).join(', ')
      case 'bool':
        return 'on / off'
      case 'text':
        return spec.placeholder ?? ''
    }
  }
  const rows = SCHEMA.map(
    (s) => `| ${s.label} | \`${s.short}\` | ${formatValue(s, s.default)} | ${range(s)} | ${s.help.replace(/\|/g, '\\|')} |`,
  )
  return ['| Setting | URL | Default | Range | What it does |', '|---|---|---|---|---|', ...rows].join('\n')
}
