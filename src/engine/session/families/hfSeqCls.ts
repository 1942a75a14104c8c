/**
 * A *ForSequenceClassification checkpoint's head (engine/hf/seqClsLoadBack.ts) as the held
 * Hugging Face model's tuning, so that before any training the playground classifies with it,
 * a labelled dataset whose classes match measures it, and export writes it back.
 *
 * Classes are matched by name (id2label as spelled): a dataset with the same names in another
 * order gets the head's outputs reordered to its own; different names are refused in words that
 * name both lists (`seqClsProblem`), with a new head one click away (`dropSeqClsHead`) — never a
 * silent reinitialisation. A run on matching data starts from the loaded head.
 *
 * Regression: the checkpoint predicts in its own units (plus config's studio_regression_offset).
 * The studio trains and evaluates on standardised targets z = (y − mean) / std, so the head is
 * converted to them: kernel / std, bias (b + offset − mean) / std. A decoder's `score` has no
 * bias, so there the targets are centred at the checkpoint's offset instead of the data's mean
 * (z = (y − offset) / std): the same loss up to a constant shift of the targets, and the head's
 * predictions unchanged.
 */
import * as tf from '@tensorflow/tfjs'
import { DEFAULTS } from '../../../settings/schema'
import type { Settings } from '../../../settings/types'
import { matchClasses, studioHeadValues, type LoadedSeqClsHead } from '../../hf/seqClsLoadBack'
import type { Encoded, TargetScale } from '../../train/encoded'
import { valuesOf } from '../../train/encoded'
import { Tuning } from '../../train/fineTune'
import type { Metrics } from '../../types/metrics'
import type { Head } from '../../tuning/heads'
import type { SessionData } from '../family'
import type { HeldHf } from './hf'

/** The schema's longest sequence: texts are read up to it (or the model's context) when the
 *  loaded head is tried or measured before any run. */
const MAX_SEQ = 256

/** The settings of the tuning a loaded head is held in (head only: nothing else changed). */
export function loadedHeadSettings(held: HeldHf, base: Settings = DEFAULTS): Settings {
  // an encoder's head reads [CLS], as the class does
  return { ...base, method: 'head', dropout: 0, seqLen: Math.min(MAX_SEQ, held.body.config.seqLen), ...(held.body.isEncoder ? { pooling: 'cls' as const } : {}) }
}

/** The loaded head in the studio's Head, columns in `order`, in the standardised units of `scale`. */
export function assignLoadedHead(head: Head, loaded: LoadedSeqClsHead, opts: { order?: readonly number[] | null; scale?: { mean: number; std: number } | null } = {}): void {
  const values = studioHeadValues(loaded, opts)
  const byName = new Map(head.params.map((p) => [p.name.replace(/^head\.[^.]+\./, ''), p.variable] as const))
  if (byName.size !== values.size || [...values.keys()].some((k) => !byName.has(k))) throw new Error(`The loaded ${loaded.architecture} head does not fit this model's head (${[...byName.keys()].join(', ')}).`)
  for (const [name, v] of values) {
    const target = byName.get(name)!
    if (target.size !== v.length) throw new Error(`The loaded ${loaded.architecture} head's ${name} has ${v.length} values, this model's head ${target.size}.`)
    tf.tidy(() => target.assign(tf.tensor(v, target.shape)))
  }
}

/** Tunings that hold a loaded head as it came (no run yet). */
const asLoaded = new WeakSet<Tuning>()

/** A head-only tuning holding the loaded head (dataset classes in `order`, regression in `scale`'s units). */
export function loadedHeadTuning(held: HeldHf, loaded: LoadedSeqClsHead, opts: { order?: readonly number[] | null; scale?: { mean: number; std: number } | null; settings?: Settings } = {}): Tuning {
  const tuning = new Tuning(held.body, opts.settings ?? loadedHeadSettings(held), loaded.regression ? 'regression' : (opts.order?.length ?? loaded.outputs))
  try {
    assignLoadedHead(tuning.head!, loaded, opts)
  } catch (e) {
    tuning.dispose()
    throw e
  }
  asLoaded.add(tuning)
  return tuning
}

/** Whether `tuning` is a loaded head as it came (no run has trained it). */
export function isLoadedHead(tuning: Tuning | null): boolean {
  return !!tuning && asLoaded.has(tuning)
}

/** Validation "data" that only names the loaded head's outputs: its classes, or for regression
 *  the scale its outputs are in (the checkpoint's units, offset added). */
export function headOnlySplit(held: HeldHf, loaded: LoadedSeqClsHead): Encoded {
  const seqLen = Math.min(MAX_SEQ, held.body.config.seqLen)
  const empty = { n: 0, seqLen, tokens: new Int32Array(0), mask: new Float32Array(0) }
  if (loaded.regression) return { kind: 'regression', ...empty, values: new Float32Array(0), scale: { name: 'value', mean: loaded.offset, std: 1 } }
  return { kind: 'classification', ...empty, labels: new Int32Array(0), classes: [...loaded.labels] }
}

/** Makes the checkpoint's head the held model's: its tuning, its classes (or scale), its card. */
export function holdSeqClsHead(held: HeldHf, loaded: LoadedSeqClsHead): void {
  const tuning = loadedHeadTuning(held, loaded)
  held.tuning?.dispose()
  held.tuning = tuning
  held.validationSplit = headOnlySplit(held, loaded)
  held.seqCls = loaded
  // the checkpoint's own head reads [CLS]: that is what 'auto' pooling means for it
  if (held.body.isEncoder) {
    held.body.suggestedPooling = { pooling: 'cls', why: `its ${loaded.architecture} head reads the [CLS] token` }
    held.body.pooling = 'cls'
  }
  // the page shows the words beside the model's description, with the way to a new head (and,
  // for placeholder names, the form that names them)
  held.summary = { ...held.summary, card: { ...(held.summary.card ?? {}), ...seqClsCard(loaded) } }
  held.card = held.summary.card ?? {}
}

/** "Sequence classifier: 2 classes (NEGATIVE, POSITIVE) — …", as the page shows it. */
export function seqClsWords(loaded: LoadedSeqClsHead): string {
  const named = namedFrom.get(loaded)
  const what = loaded.regression
    ? `Sequence regressor (${loaded.architecture}): predicts one number in the checkpoint's units${loaded.offset ? ` (its offset ${loaded.offset} added)` : ''}`
    : named
      ? `Sequence classifier (${loaded.architecture}): ${loaded.outputs} classes (${loaded.labels.map((n, i) => `${n} = ${named[i]}`).join(', ')}; named by you: its config.json calls them only ${named.join(', ')})`
      : `Sequence classifier (${loaded.architecture}): ${loaded.outputs} classes (${loaded.labels.join(', ')})`
  const generic = !named && genericLabels(loaded)
  return `${what} — the head is loaded and can be evaluated before training: the playground answers with it, a dataset with ${loaded.regression ? 'a number to predict' : 'these class names'} measures it, and a run starts from it.${generic ? ` These are placeholder names (the checkpoint's config.json has no id2label of its own): if you know which of your dataset's classes each one is, name them below to keep the trained head.` : ''}`
}

/** The model card's fields for a loaded head: its words, and for placeholder names the
 *  placeholders and the names now in use (the page's naming form reads them). */
function seqClsCard(loaded: LoadedSeqClsHead): Record<string, unknown> {
  const placeholders = placeholderNames(loaded)
  return { seqClsHead: seqClsWords(loaded), seqClsPlaceholders: placeholders, seqClsNames: placeholders && namedFrom.has(loaded) ? [...loaded.labels] : null }
}

/** Heads whose placeholder names (LABEL_i) were replaced by the person's, with the placeholders. */
const namedFrom = new WeakMap<LoadedSeqClsHead, string[]>()

/** Whether a classification head's names are Hugging Face's placeholders LABEL_0 … LABEL_{c−1}
 *  (a config.json without id2label of its own, or PEFT's own adapters). */
export function genericLabels(loaded: LoadedSeqClsHead): boolean {
  return !loaded.regression && loaded.labels.length > 0 && loaded.labels.every((l, i) => l === `LABEL_${i}`)
}

/** The placeholder names the person may name (the head's own LABEL_i, also after naming), or null. */
export function placeholderNames(loaded: LoadedSeqClsHead | null): string[] | null {
  if (!loaded) return null
  return namedFrom.get(loaded) ?? (genericLabels(loaded) ? [...loaded.labels] : null)
}

/**
 * Names a head's placeholder classes: `names[i]` is the dataset's class the head's output i
 * (LABEL_i) stands for. The person states the mapping in the page (SeqClsHeadNote); nothing is
 * guessed. The head's weights are untouched; from then on its classes are matched by these names,
 * like a checkpoint whose config.json spelled them, and export writes them as id2label.
 */
export function nameSeqClsClasses(held: HeldHf, names: readonly string[]): void {
  const loaded = held.seqCls
  if (!loaded) throw new Error('No sequence classifier with its own head is loaded: load a *ForSequenceClassification checkpoint first.')
  const placeholders = placeholderNames(loaded)
  if (!placeholders) throw new Error(loaded.regression ? `This checkpoint's head (${loaded.architecture}) predicts a number: it has no classes to name.` : `This checkpoint's head (${loaded.architecture}) names its classes already (${loaded.labels.join(', ')}, from its config.json's id2label): a dataset with those names keeps it, or press "Use a new head".`)
  const trimmed = names.map((n) => n.trim())
  if (trimmed.length !== placeholders.length) throw new Error(`The head has ${placeholders.length} classes (${placeholders.join(', ')}) and ${trimmed.length} names were given: name each once.`)
  const empty = trimmed.findIndex((n) => n === '')
  if (empty >= 0) throw new Error(`${placeholders[empty]} has no name: choose which of the dataset's classes it is.`)
  const seen = new Map<string, number>()
  trimmed.forEach((n, i) => {
    const j = seen.get(n)
    if (j !== undefined) throw new Error(`${placeholders[j]} and ${placeholders[i]} are both named ${n}: each class of the dataset names one of the head's outputs.`)
    seen.set(n, i)
  })
  const renamed: LoadedSeqClsHead = { ...loaded, labels: trimmed }
  namedFrom.set(renamed, placeholders)
  if (isLoadedHead(held.tuning)) held.validationSplit = headOnlySplit(held, renamed)
  held.seqCls = renamed
  const card = { ...(held.summary.card ?? {}), ...seqClsCard(renamed) }
  held.summary = { ...held.summary, card }
  held.card = card
}

/** Forgets the loaded head (the person chose a new head for other classes): the held model is
 *  its body alone again, and the next run trains a fresh head. */
export function dropSeqClsHead(held: HeldHf): void {
  if (!held.seqCls) return
  const arch = held.seqCls.architecture
  if (isLoadedHead(held.tuning)) {
    held.tuning!.dispose()
    held.tuning = null
    held.validationSplit = null
  }
  held.seqCls = null
  const card = { ...(held.summary.card ?? {}) }
  delete card.seqClsHead
  delete card.seqClsPlaceholders
  delete card.seqClsNames
  held.summary = { ...held.summary, description: `${held.summary.description} Its ${arch} head was set aside: a run trains a new one for the dataset's classes.`, card }
  held.card = card
}

/** The run's refusal when the dataset does not fit the loaded head, naming both sides and the
 *  way out; null when it fits (or there is no loaded head, or the data trains no head). */
export function seqClsProblem(held: HeldHf, data: SessionData, settings?: Settings): { field: string; message: string } | null {
  const loaded = held.seqCls
  const facts = data.facts
  if (!loaded || !facts) return null
  const way = `To train a new head for this dataset instead, press "Use a new head" under the model's description (step 2); or choose a dataset ${loaded.regression ? 'with a number to predict' : `labelled ${loaded.labels.join(', ')}`}.`
  const headTask = facts.task === 'text-classification' || facts.task === 'text-regression'
  if (headTask && held.body.isEncoder && settings?.pooling === 'mean') return { field: 'pooling', message: `This checkpoint's head (${loaded.architecture}) reads the [CLS] token, and the pooling setting asks for the mean of the token states. Choose "[CLS]" (or "As the checkpoint says") to start from its head, or press "Use a new head" (step 2) to train a mean-pooled head.` }
  if (facts.task === 'text-classification') {
    const classes = classNames(data)
    const m = matchClasses(loaded, classes)
    if (!('mismatch' in m)) return null
    // placeholder names (LABEL_i) can be named after the dataset's classes when there are as many
    const ph = placeholderNames(loaded)
    const byName = ph && ph.length === classes.length ? `${ph.join(', ')} are placeholder names${namedFrom.has(loaded) ? ` (named ${loaded.labels.join(', ')} by you)` : ''} (the checkpoint's config.json has no id2label of its own): to keep its trained head, say which of the dataset's classes each one is under the model's description (step 2), then press "Keep the trained head with these names". ` : ''
    return { field: 'dataset', message: `${m.mismatch} ${byName}${way}` }
  }
  if (facts.task === 'text-regression' && !loaded.regression) return { field: 'dataset', message: `This checkpoint's head (${loaded.architecture}) classifies ${loaded.labels.join(', ')}; the dataset has a number to predict (regression). ${way}` }
  return null
}

/** The dataset's class names in its own order (the order encoding gives them). */
function classNames(data: SessionData): string[] {
  const d = data.dataset
  if (d) return (d.classes[d.roles.labels[0] ?? ''] ?? []).map((c) => c.label)
  return data.facts?.classes.map((c) => c.name) ?? []
}

/**
 * A run's head starts from the loaded one: reordered to the dataset's classes, or for regression
 * converted to the data's standardised units (a decoder's targets re-centred at its offset).
 * Returns the sets the run trains on (changed only for a decoder's regression).
 */
export function startFromLoadedHead(held: HeldHf, tuning: Tuning, data: { train: Encoded; val: Encoded }): { train: Encoded; val: Encoded } {
  const loaded = held.seqCls
  if (!loaded || !tuning.head) return data
  if (tuning.multi) throw new Error(`This checkpoint's head (${loaded.architecture}) predicts one label, and the dataset has several label columns: press "Use a new head" (step 2) to train one head per column.`)
  const { train, val } = data
  tuning.head.origin = `the checkpoint's own ${loaded.architecture} head`
  if (train.kind === 'classification') {
    const m = matchClasses(loaded, train.classes)
    if ('mismatch' in m) throw new Error(m.mismatch)
    assignLoadedHead(tuning.head, loaded, { order: m.order })
    return data
  }
  const t = valuesOf(train)
  if (!t || !loaded.regression) return data
  if (loaded.bias) {
    assignLoadedHead(tuning.head, loaded, { scale: t.scale })
    return data
  }
  const sets = { train: recentre(train, loaded.offset), val: recentre(val, loaded.offset) }
  assignLoadedHead(tuning.head, loaded, { scale: valuesOf(sets.train)!.scale })
  return sets
}

/** A regression set's standardised targets re-centred at `mean` (same std): z' = z + (old − mean) / std. */
export function recentre(set: Encoded, mean: number): Encoded {
  const v = valuesOf(set)
  if (!v || set.kind !== 'regression') return set
  const { scale } = v
  const shift = (scale.mean - mean) / scale.std
  const scaleNew: TargetScale = { ...scale, mean }
  return { ...set, values: Float32Array.from(v.values, (x) => x + shift), scale: scaleNew }
}

/** What measuring the loaded head on the session's dataset needs of the session. */
export interface HeadMeasuring {
  data: SessionData
  encode(held: HeldHf, settings: Settings): { train: Encoded; val: Encoded }
  evaluate(held: HeldHf, tuning: Tuning, val: Encoded): Promise<Metrics>
  adopt(held: HeldHf, tuning: Tuning, val: Encoded): void
}

/**
 * The loaded head measured on the dataset's validation split when its classes (or its number)
 * fit, as "Load a fine-tuned model" measures a studio export: the held tuning is then the head
 * in the dataset's class order (or standardised units) with that split. Otherwise words that
 * say why nothing was measured.
 */
export async function measureLoadedHead(held: HeldHf, s: HeadMeasuring, pageSettings: Settings | null): Promise<{ metrics: Metrics | null; note: string }> {
  const loaded = held.seqCls
  if (!loaded || !isLoadedHead(held.tuning)) return { metrics: null, note: '' }
  const task = s.data.facts?.task
  const fits = task === 'text-classification' || (task === 'text-regression' && loaded.regression)
  if (!s.data.dataset || !fits) return { metrics: null, note: `${seqClsWords(loaded)} Load a ${loaded.regression ? 'dataset with a number to predict' : `text dataset labelled ${loaded.labels.join(', ')}`} to measure it.` }
  const problem = seqClsProblem(held, s.data)
  if (problem) return { metrics: null, note: problem.message }
  const settings = loadedHeadSettings(held, pageSettings ?? DEFAULTS)
  const { val } = s.encode(held, settings)
  if (val.n === 0) return { metrics: null, note: 'The validation split is empty: nothing to measure the loaded head on.' }
  const tuning = new Tuning(held.body, settings, loaded.regression ? 'regression' : loaded.outputs)
  let measured: { train: Encoded; val: Encoded }
  try {
    measured = startFromLoadedHead(held, tuning, { train: val, val })
  } catch (e) {
    tuning.dispose()
    throw e
  }
  asLoaded.add(tuning)
  s.adopt(held, tuning, measured.val)
  const metrics = await s.evaluate(held, tuning, measured.val)
  return { metrics, note: `${loaded.architecture}'s own head, before any training, on the validation split of ${s.data.facts?.name ?? 'the dataset'} (${val.n} texts${loaded.regression ? '' : `, classes matched by name`}).` }
}

