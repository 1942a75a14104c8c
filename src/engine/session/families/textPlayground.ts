import { classifyText, generateText, headOutput, withWeights, type Decoder } from '../../infer/playground'
import type { TargetScale } from '../../data/numericEncode'
import type { TinyGpt } from '../../models/tinyGpt'
import { Tuning } from '../../train/fineTune'
import type { WeightMap } from '../../tuning/interpolate'
import type { PlaygroundAnswer, PlaygroundChat, Which } from '../../types/playground'

/** The text model's playground: it reads the session, never changes what it holds
 *  (the tuned weights are put back after every "before"). */
export interface PlaygroundSession {
  model: TinyGpt
  tokenizer: Decoder
  base: WeightMap | null // pretrained weights
  tuning: Tuning | null // the last run's pieces
  classes: string[] | null // the last run's classes (classification runs only)
  scale?: TargetScale | null // the last run's target (regression runs only)
  seqLen: number
}

type Post = (e: PlaygroundAnswer) => void

/** A generate request's words (the protocol's `generate` command carries them). */
export interface GenerateRequest {
  requestId: string
  prompt: string
  maxTokens: number
  temperature: number
  topK: number
  seed: number
  /** A chat instead of a text to continue (models with a chat template only). */
  chat?: PlaygroundChat
}

export async function predictText(s: PlaygroundSession, requestId: string, text: string, post: Post): Promise<void> {
  const { tuning, classes } = s
  if (tuning?.head?.spec.kind === 'regression' && s.scale) return predictNumber(s, tuning, s.scale, requestId, text, post)
  if (!tuning?.head || !classes) {
    post({ type: 'playground', requestId, message: 'Class probabilities need a classifier: train on a text-classification dataset first. Before = the base model with the untrained head, after = the fine-tuned model.' })
    return
  }
  const head = tuning.head
  const named = (probs: number[]) => probs.map((prob, i) => ({ name: classes[i] ?? `class ${i}`, prob }))
  // The head as it was before step one: the same seed gives the same initial weights.
  const fresh = new Tuning(s.model, tuning.settings, head.outputDim)
  try {
    const before = s.base ? await withWeights(s.model, s.base, () => classifyText(s.model, s.tokenizer, fresh.head!, fresh.hooks, text, s.seqLen)) : null
    if (before) post({ type: 'prediction', requestId, which: 'before', classes: named(before), note: 'base weights, untrained head (what the baseline measured)' })
  } finally {
    fresh.dispose()
  }
  const after = await classifyText(s.model, s.tokenizer, head, tuning.hooks, text, s.seqLen)
  post({ type: 'prediction', requestId, which: 'after', classes: named(after), note: `after fine-tuning (${tuning.settings.method})` })
}

/** Text regression: the predicted number before (untrained head) and after, in the target's units. */
async function predictNumber(s: PlaygroundSession, tuning: Tuning, scale: TargetScale, requestId: string, text: string, post: Post): Promise<void> {
  const value = (z: Float32Array) => ({ name: scale.name, value: (z[0] ?? NaN) * scale.std + scale.mean })
  const fresh = new Tuning(s.model, tuning.settings, 'regression')
  try {
    const before = s.base ? await withWeights(s.model, s.base, () => headOutput(s.model, s.tokenizer, fresh.head!, fresh.hooks, text, s.seqLen)) : null
    if (before) post({ type: 'prediction', requestId, which: 'before', classes: [], value: value(before), note: 'base weights, untrained head' })
  } finally {
    fresh.dispose()
  }
  const after = await headOutput(s.model, s.tokenizer, tuning.head!, tuning.hooks, text, s.seqLen)
  post({ type: 'prediction', requestId, which: 'after', classes: [], value: value(after), note: `after fine-tuning (${tuning.settings.method})` })
}

export async function generate(s: PlaygroundSession, msg: GenerateRequest, post: Post, shouldStop: () => boolean): Promise<void> {
  const { requestId } = msg
  const opts = { maxTokens: msg.maxTokens, temperature: msg.temperature, topK: msg.topK, seed: msg.seed, shouldStop }
  const runOne = async (which: Which, hooks: Tuning['hooks']) => {
    const r = await generateText(s.model, s.tokenizer, msg.prompt, {
      ...opts,
      ...(hooks ? { hooks } : {}),
      onText: (text) => post({ type: 'generation', requestId, which, text, done: false, stopped: false }),
    })
    post({ type: 'generation', requestId, which, text: r.text, done: true, stopped: r.stopped })
    return r.stopped
  }
  const tuned = s.tuning && !s.tuning.head ? s.tuning : null
  // "Before" is the pretrained LM, whatever a classification run did to the body.
  const stopped = s.base ? await withWeights(s.model, s.base, () => runOne('before', undefined)) : await runOne('before', undefined)
  if (stopped) return
  if (!tuned) {
    post({ type: 'playground', requestId, message: 'No language-model run yet: train on a plain-text dataset to compare with the fine-tuned model.' })
    return
  }
  await runOne('after', tuned.hooks)
}
