/** A Hugging Face checkpoint (GPT-2, Llama, BERT, DistilBERT) through the HfBody adapter: reads
 *  text datasets as the built-in LM does (its own tokenizer), refuses runs its memory plan
 *  says will not fit this device (naming settings that fit), generates with its generation
 *  config, and exports what the Hugging Face tools load: a PEFT LoRA adapter, or the merged
 *  model as model.safetensors + config.json + tokenizer files. Loading it from the Hub or from
 *  files stays in the worker (worker/hfModelHost.ts), which hands the session `holdHf(…)`. */
import * as tf from '@tensorflow/tfjs'
import { strToU8, zipSync } from 'fflate'
import { formatBytes } from '../../../format/format'
import { HfBody, hfTokenizerLike } from '../../bodies/hfBody'
import { bindingAdvice, type BindingLimits } from '../../hf/bindingLimits'
import { expectedWeights, type HfConfig } from '../../hf/config'
import { generateText } from '../../hf/generate'
import { checkHeadOutput } from '../../infer/outputCheck'
import { writeHfCheckpoint, type HfBundle } from '../../hf/hfLoad'
import { writeSafetensors, type TensorToWrite } from '../../hf/safetensors'
import { seqClsTensors, writeSeqClsCheckpoint } from '../../hf/seqClsHead'
import { labelInfo, seqClsAdapterReadme, SEQ_CLS_LABELS_FILE, type LabelInfo } from '../../hf/peftSeqCls'
import { valuesOf } from '../../train/encoded'
import { Tuning } from '../../train/fineTune'
import type { HfTokenizer } from '../../hf/hfTokenizer'
import { memoryPlan, settingsThatFit, type PlanInput, type PlanMethod } from '../../hf/memoryPlan'
import { writePeftAdapter, type LoraFactors } from '../../hf/peftAdapter'
import type { TokenizerLike } from '../../data/textBatches'
import type { LmTokenizer } from '../../tasks/lm'
import { textModelFitProblem } from '../../models/dataFit'
import { modelLimits } from '../../models/limits'
import type { TinyGpt } from '../../models/tinyGpt'
import { zeroShotClassify } from '../../train/zeroShot'
import { snapshotWeights } from '../../tuning/interpolate'
import type { LayerSummary, ModelSummary } from '../../types/model'
import type { Settings } from '../../../settings/types'
import { classesOf, type HeldModel, type ModelFamily } from '../family'
import { encodeText, textPlanShape } from './text'
import type { LoadedSeqClsHead } from '../../hf/seqClsLoadBack'
import { holdSeqClsHead, isLoadedHead, loadedHeadTuning, seqClsProblem, startFromLoadedHead } from './hfSeqCls'

export interface HeldHf extends HeldModel {
  readonly body: HfBody
  readonly tokenizer: HfTokenizer
  readonly tok: TokenizerLike & { decode(ids: number[]): string }
  readonly bundle: Pick<HfBundle, 'model' | 'tokenizer' | 'generation' | 'configText'>
  /** tokenizer.json etc. as loaded, for the merged export. */
  readonly tokenizerFiles: Map<string, Uint8Array>
  /** Where it came from, for PEFT's base_model_name_or_path. */
  readonly baseName: string
  /** The WebGPU device's storage-buffer limits it was loaded for (its tables over them are kept
   *  split, `HfModel.splitLargeTables`); null on the other backends, which have no such limit.
   *  Set again when the backend changes (HfModelHost.rebind). */
  bindingLimits: BindingLimits | null
  /** A *ForSequenceClassification checkpoint's own head (families/hfSeqCls.ts), which the
   *  playground, evaluation and export use before any run and a run starts from; null when
   *  the checkpoint had none or the person chose a new head. */
  seqCls: LoadedSeqClsHead | null
  /** false: a sequence classifier saved without its config's LM head (HfBundle.lmHead): it
   *  classifies but does not write text. */
  lmHead?: false
}

/** What training may use on this device: half its memory (navigator.deviceMemory, 4 GB when
 *  unknown), at most 3 GiB: a WebAssembly heap addresses 4 GB, and the backend's own copies
 *  (transposed operands, kernels' scratch) live there too — the bench's GPT-2-124M full
 *  fine-tuning, planned at 3.37 GB, ran out of it. */
export function trainingBudget(deviceMemoryGb?: number): number {
  const gb = deviceMemoryGb ?? (globalThis as { navigator?: { deviceMemory?: number } }).navigator?.deviceMemory ?? 4
  return Math.min((gb * 2 ** 30) / 2, 3 * 2 ** 30)
}

/** A loaded checkpoint as the session holds it; its weights are the base every run starts from. */
export function holdHf(bundle: HfBundle & { weightBytes: number }, tokenizerFiles: Map<string, Uint8Array>, files: string[], title: string, id: string, where: string, bindingLimits: BindingLimits | null = null): HeldHf {
  const body = new HfBody(bundle.model, bundle.tokenizer)
  if (bundle.pooler) body.pooler = bundle.pooler
  if (bundle.sentencePooling) body.suggestedPooling = bundle.sentencePooling
  body.pooling = body.poolingFor('auto')
  const cfg = bundle.config
  const from = fineTunedFrom(bundle.configText)
  const summary: ModelSummary = {
    id,
    title,
    ...(from !== null ? { finetunedFrom: from } : {}),
    description: `A ${cfg.modelType} model (${formatCount(body.parameterCount())} parameters, ${formatBytes(bundle.weightBytes)} of weights) ${where}. ${body.isEncoder ? `An encoder: it fine-tunes for classification and regression, reading ${poolingWords(body)}.` : 'A decoder: it fine-tunes on plain text (language modelling) and for classification.'}`,
    pretrained: true,
    card: { source: 'huggingface', modelType: cfg.modelType, title, files: [...files].sort(), ...(bundle.tokenizer.chatTemplate && !body.isEncoder ? { chatTemplate: true, generationConfig: generationWords(bundle.generation) } : {}) },
    layers: describeHf(body, new Set(Array.from({ length: body.config.nLayers + 2 }, (_, i) => i - 1))),
    totalParams: body.parameterCount(),
    trainableParams: body.parameterCount(),
    nLayers: body.config.nLayers,
    dModel: body.config.dModel,
    seqLen: body.config.seqLen,
    vocabSize: body.config.vocabSize,
    limits: modelLimits(body),
  }
  const held: HeldHf = {
    family: hfFamily as ModelFamily,
    body,
    tokenizer: bundle.tokenizer,
    tok: hfTokenizerLike(bundle.tokenizer),
    bundle,
    tokenizerFiles,
    baseName: title,
    bindingLimits,
    summary,
    card: summary.card ?? {},
    base: snapshotWeights(body.params),
    tuning: null,
    validationSplit: null,
    seqCls: null,
    ...(bundle.lmHead === false ? { lmHead: false as const } : {}),
  }
  if (bundle.seqCls) holdSeqClsHead(held, bundle.seqCls)
  return held
}

/** What an encoder's head reads when the pooling setting is left to the checkpoint. */
function poolingWords(body: HfBody): string {
  const s = body.suggestedPooling
  if (!s) return 'the [CLS] token (no sentence-transformers files say otherwise; the Pooling setting can choose the mean)'
  return `${s.pooling === 'mean' ? 'the mean of its token states' : 'the [CLS] token'}, as a sentence encoder (${s.why})`
}

/** What generation_config.json asks for, in words for the playground's chat. */
function generationWords(g: HfBundle['generation']): string {
  if (!g.doSample) return 'greedy decoding (it does not ask to sample)'
  const parts = [g.temperature !== undefined ? `temperature ${g.temperature}` : null, g.topK !== undefined ? `top-k ${g.topK}` : null, g.topP !== undefined ? `top-p ${g.topP}` : null, g.repetitionPenalty !== undefined ? `repetition penalty ${g.repetitionPenalty}` : null].filter((x) => x !== null)
  return `sampling${parts.length ? ` with ${parts.join(', ')}` : ''}`
}

/** The run's memory plan against this device; words with settings that fit, or null. */
function memoryProblem(held: HeldHf, settings: Settings, task: 'lm' | 'classify'): string | null {
  const cfg = held.body.model.hf
  const method = planMethodOf(settings.method)
  const input: PlanInput = { ...planInput(cfg, method, settings.batchSize, Math.min(settings.seqLen, held.body.config.seqLen)), task, ...(method === 'lora' ? { loraRank: settings.loraRank } : {}), ...(settings.recompute ? { recompute: true } : {}) }
  const need = memoryPlan(cfg, input).totalBytes
  const budget = trainingBudget()
  if (need <= budget) return null
  const fits = settingsThatFit(cfg, input, budget)
  return `This run needs about ${formatBytes(need)} (weights, gradients, optimizer state and activations) but this device allows about ${formatBytes(budget)}. ${fits.length ? `These would fit: ${fits.map((f) => `${f.change} (${formatBytes(f.totalBytes)})`).join('; ')}.` : 'Choose LoRA, a smaller batch or a shorter sequence.'}`
}

/** What the WebGPU device's binding limit refuses of these settings (none off WebGPU), each on
 *  the control that must change: full fine-tuning of a table no binding holds (the split copy
 *  is frozen) on `method`; a language-modelling batch whose logits [batch × sequence, vocab]
 *  are over one binding on `batchSize`; a weight the studio cannot split on `backend`. */
export function bindingProblems(cfg: HfConfig, limits: BindingLimits | null, settings: Settings, task: 'lm' | 'classify', maxSeqLen: number): { field: string; message: string }[] {
  if (!limits) return []
  const method = planMethodOf(settings.method)
  const tokensPerBatch = task === 'lm' ? settings.batchSize * Math.min(settings.seqLen, maxSeqLen) : undefined
  const advice = bindingAdvice(cfg, limits, { method, ...(tokensPerBatch === undefined ? {} : { tokensPerBatch }) })
  if (!advice.refusal) return []
  const field = /^The logits /.test(advice.refusal) ? 'batchSize' : /^The (token embedding|LM head)/.test(advice.refusal) ? 'method' : 'backend'
  return [{ field, message: advice.refusal }]
}

/** Runs `fn` with these weights (by name) in place of the model's, then puts them back. */
async function withWeights<T>(body: HfBody, weights: ReadonlyMap<string, tf.Tensor>, fn: () => Promise<T>): Promise<T> {
  const saved = new Map<string, tf.Tensor>()
  for (const [name, w] of weights) {
    const v = body.get(name)
    saved.set(name, tf.keep(v.clone()))
    v.assign(w)
  }
  try {
    // a table kept split for a WebGPU binding is copied again from the weights put in
    await body.model.refreshSplit()
    return await fn()
  } finally {
    for (const [name, w] of saved) {
      body.get(name).assign(w)
      w.dispose()
    }
    await body.model.refreshSplit()
  }
}

export const hfFamily: ModelFamily<HeldHf> = {
  name: 'text',
  examples: 'examples',
  fitProblem: (held, data) => textModelFitProblem(held.summary.title, data.facts),
  // an encoder's 'auto' pooling is recorded as what it means for this checkpoint, so the run,
  // its checkpoints and a resume say which pooling trained the head; a decoder has no choice
  // (its last token), so its runs record none
  runSettings: (s, held) => (!held || s.pooling === (held.body.isEncoder ? held.body.poolingFor(s.pooling) : 'auto') ? s : { ...s, pooling: held.body.isEncoder ? held.body.poolingFor(s.pooling) : 'auto' }),
  planShape: (held, settings, data) => ({ ...textPlanShape(settings, data, 'language-modelling'), trainSize: Number.MAX_SAFE_INTEGER }),
  checkContext: (held) => ({ maxSeqLen: held.body.config.seqLen, limits: modelLimits(held.body) }),
  extraProblems(held, settings, data) {
    const task = (data.facts?.task ?? 'language-modelling') === 'language-modelling' ? 'lm' : 'classify'
    const memory = memoryProblem(held, settings, task)
    const head = seqClsProblem(held, data, settings) // a loaded head whose classes the dataset does not have
    if (data.facts?.task === 'language-modelling' && held.lmHead === false) return [{ field: 'dataset', message: noLmHeadWords(held) }]
    return [...(head ? [head] : []), ...(memory ? [{ field: 'batchSize', message: memory }] : []), ...bindingProblems(held.body.model.hf, held.bindingLimits, settings, task, held.body.config.seqLen)]
  },
  startRun: (held, tuning, data) => startFromLoadedHead(held, tuning, data),
  async syncWeights(held) {
    await held.body.model.refreshSplit()
  },
  beforeRun(held, settings) {
    // LoRA and head-only leave the base kernels frozen: no gradient copies of them (HfBody).
    held.body.frozenBase = settings.method === 'lora' || settings.method === 'head'
    held.body.recompute = settings.recompute
    // what the run's head reads (the export and the playground read it from the body)
    held.body.pooling = held.body.poolingFor(settings.pooling)
  },
  describe: (held, trainable) => describeHf(held.body, trainable),
  encode: (held, settings, data) => encodeText(held.tok, held.body.config.seqLen, settings, data),
  async zeroShot(held, val, progress) {
    // A decoder's own guess before any training, scoring each class name after the text (as
    // for the built-in LM); encoders have no LM head to ask.
    if (held.body.isEncoder || held.lmHead === false || val.kind !== 'classification' || val.tasks) return null
    progress('Scoring each class name with the pretrained model (zero-shot baseline)')
    return { metrics: (await zeroShotClassify(held.body as unknown as TinyGpt, held.tok, val)).metrics }
  },
  endNote: () => '',
  async predict(held, requestId, input, answer) {
    if (input.kind !== 'text') {
      answer({ type: 'playground', requestId, message: `${held.summary.title} reads text: type a text to try it.` })
      return
    }
    const tuning = held.tuning
    const val = held.validationSplit
    const classes = val?.kind === 'classification' && !val.tasks ? val.classes : null
    const scale = val?.kind === 'regression' ? val.scale : null
    if (!tuning?.head || (!classes && !scale)) {
      answer({ type: 'playground', requestId, message: 'Class probabilities need a classifier: train on a text-classification (or regression) dataset first. Before = the base model with the untrained head, after = the fine-tuned model.' })
      return
    }
    const head = tuning.head
    // the text as a training row reads it (textBatches.encodeClassification): the lead token
    // unless the tokenizer adds none, the text's tokens, cut to the run's sequence length
    const tokens = held.tok.encode(input.text)
    const lead = held.tok.classificationLead === false && tokens.length > 0 ? [] : [held.tok.bosId]
    const ids = [...lead, ...tokens].slice(0, Math.min(tuning.settings.seqLen, held.body.config.seqLen))
    await held.body.model.refreshSplit()
    const output = async (t: Tuning): Promise<Float32Array> => {
      const out = tf.tidy(() => {
        const mask = tf.ones([1, ids.length]) as tf.Tensor2D
        const hidden = held.body.forward(tf.tensor2d([ids], [1, ids.length], 'int32'), { ...(t.hooks ? { hooks: t.hooks } : {}), attentionMask: mask })
        return t.head!.apply(held.body.pool(hidden, mask, t.pooling), false)
      })
      const v = (await out.data()) as Float32Array
      out.dispose()
      checkHeadOutput(v, tf.getBackend()) // NaN would show as "NaN %" for every class
      return v
    }
    const say = (which: 'before' | 'after', z: Float32Array, note: string) => {
      if (scale) answer({ type: 'prediction', requestId, which, classes: [], value: { name: scale.name, value: (z[0] ?? NaN) * scale.std + scale.mean }, note })
      else {
        const m = Math.max(...z)
        const e = Array.from(z, (x) => Math.exp(x - m))
        const sum = e.reduce((a, b) => a + b, 0)
        answer({ type: 'prediction', requestId, which, classes: e.map((x, i) => ({ name: classes![i] ?? `class ${i}`, prob: x / sum })), note })
      }
    }
    // before: the base weights with the head as it was before step one (the same seed gives
    // the same starting weights: the checkpoint's pooler where it has one); a checkpoint's own
    // head (hfSeqCls.ts) is where a run starts, so it is "before"
    const loaded = held.seqCls
    let fresh: Tuning
    if (loaded && val) {
      const classesNow = classes ?? []
      const order = loaded.regression ? null : classesNow.map((c) => loaded.labels.indexOf(c))
      fresh = loadedHeadTuning(held, loaded, { settings: tuning.settings, ...(order ? { order } : {}), ...(scale ? { scale } : {}) })
    } else fresh = new Tuning(held.body, tuning.settings, scale ? 'regression' : head.outputDim)
    try {
      if (held.base) say('before', await withWeights(held.body, held.base, () => output(fresh)), loaded ? `the checkpoint's own ${loaded.architecture} head, as loaded` : 'base weights, untrained head (what the baseline measured)')
    } finally {
      fresh.dispose()
    }
    say('after', await output(tuning), isLoadedHead(tuning) ? (tuning.lora ? 'no run yet: the loaded PEFT adapter (its LoRA weights and head)' : 'no run yet: the loaded head') : `after fine-tuning (${tuning.settings.method})`)
  },
  async generate(c, msg, answer, shouldStop) {
    const { requestId } = msg
    if (c.body.isEncoder) {
      answer({ type: 'playground', requestId, message: `${c.summary.title} is an encoder (${c.body.model.hf.modelType}): it classifies text but does not write it. Load a GPT-2 or Llama model to generate text.` })
      return
    }
    if (c.lmHead === false) {
      answer({ type: 'playground', requestId, message: noLmHeadWords(c) })
      return
    }
    const chat = msg.chat ?? null
    if (chat && !c.tokenizer.chatTemplate) {
      answer({ type: 'playground', requestId, message: `${c.summary.title} has no chat template (tokenizer_config.json's chat_template): continue a text prompt instead.` })
      return
    }
    await c.body.model.refreshSplit() // the weights as they are now (interpolation may have moved them)
    const bundle = c.bundle
    const onToken = () => !shouldStop()
    // a chat: rendered by the model's template, then greedy or the sampling generation_config.json
    // sets (its temperature, top-k/top-p, repetition penalty), ending at its eos token
    const overrides = chat
      ? { maxNewTokens: msg.maxTokens, seed: msg.seed, onToken, ...(chat.greedy ? { doSample: false } : {}) }
      : { maxNewTokens: msg.maxTokens, doSample: msg.temperature > 0, temperature: msg.temperature, topK: msg.topK, seed: msg.seed, onToken }
    const runOne = async (which: 'before' | 'after') => {
      const r = await generateText(bundle, chat ? chat.messages : msg.prompt, overrides)
      // the continuation alone (the page shows the prompt before it); a chat's reply alone, with
      // the conversation as the template rendered it
      const text = chat ? r.text : continuationText(c.tokenizer, r.promptIds, r.ids)
      answer({ type: 'generation', requestId, which, text, done: true, stopped: r.stoppedBy === 'stopped', ...(chat ? { prompt: r.promptText } : {}) })
      return r.stoppedBy === 'stopped'
    }
    const tuning = c.tuning && !c.tuning.head ? c.tuning : null
    // "before": the pretrained weights; "after": the run's (LoRA merged for the while)
    const stopped = c.base && tuning && !tuning.lora ? await withWeights(c.body, c.base, () => runOne('before')) : await runOne('before')
    if (stopped) return
    if (!tuning) {
      answer({ type: 'playground', requestId, message: 'No language-model run yet: train on a plain-text dataset to compare with the fine-tuned model.' })
      return
    }
    if (!tuning.lora) {
      await runOne('after')
      return
    }
    const merged = tuning.lora.mergedKernels(c.body)
    await withWeights(c.body, merged, () => runOne('after'))
    for (const w of merged.values()) w.dispose()
  },
  /** 'adapter': a PEFT LoRA adapter; 'merged' and 'interpolated' (at α): the model with LoRA
   *  merged, as model.safetensors + config.json + the tokenizer files. Both as a .zip. */
  async export(c, r) {
    const { choice } = r
    const tuning = c.tuning
    const slug = c.baseName.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^-+|-+$/g, '') || 'model'
    const step = (done: number, label: string) => r.onProgress(done, 3, label)
    if (choice === 'adapter') {
      if (!tuning?.lora) throw new Error('A PEFT adapter holds LoRA weights: train with the LoRA method (or choose "Merged model" to download the whole fine-tuned model).')
      if (tuning.multi) throw new Error('A PEFT adapter holds one head; this run trained one per label column: choose "Merged model" (the studio’s format keeps every head).')
      // a head: a SEQ_CLS adapter with the head in modules_to_save (peftAdapter.ts), written
      // exactly as the merged *ForSequenceClassification export writes it (seqClsTensors)
      const head = tuning.head
      let headOut: { tensors: TensorToWrite[]; labels: LabelInfo } | null = null
      if (head) {
        if (!c.body.hfHead) throw new Error('This head reads the mean of the hidden states (sentence-encoder pooling), which no Hugging Face class does, so PEFT cannot load it: choose "Merged model", which writes the body and the head in the studio’s format.')
        const scale = c.validationSplit ? valuesOf(c.validationSplit)?.scale : undefined
        if (head.spec.kind === 'regression' && !scale) throw new Error('This regression head predicts standardised values and the scale of its target is not known here (no training data in this session): load the dataset it was trained on and train or evaluate it, then export.')
        const { tensors, labels, offset } = await seqClsTensors([], c.body.model.hf, head, { regression: head.spec.kind === 'regression' && scale ? { mean: scale.mean, std: scale.std } : null })
        const names = head.spec.kind === 'classification' && c.validationSplit ? (classesOf(c.validationSplit) ?? []) : []
        headOut = { tensors, labels: labelInfo(labels, names, head.spec.kind === 'regression', offset) }
      }
      step(1, 'Reading the LoRA weights')
      const factors: LoraFactors[] = []
      const byName = new Map(tuning.lora.params.map((p) => [p.name, p.variable] as const))
      for (const layer of tuning.lora.layers) {
        const a = byName.get(`${layer}.lora_A`)!
        const b = byName.get(`${layer}.lora_B`)!
        factors.push({ layer, nIn: a.shape[0]!, nOut: b.shape[1]!, a: (await a.data()) as Float32Array, b: (await b.data()) as Float32Array })
      }
      const s = tuning.settings
      // BERT's pooler.dense is a Linear PEFT would also match by "dense": the names are widened
      // past it, so LoRA stays off the head PEFT saves whole
      const modelType = c.body.model.hf.modelType
      const targetModules = peftTargets(tuning.lora.layers, modelType === 'bert' ? [...c.body.model.linearLayers, 'pooler.dense'] : c.body.model.linearLayers)
      const out = writePeftAdapter(modelType, factors, { rank: s.loraRank, alpha: s.loraAlpha, dropout: s.loraDropout, baseModel: c.baseName, taskType: headOut ? 'SEQ_CLS' : c.body.isEncoder ? 'FEATURE_EXTRACTION' : 'CAUSAL_LM', targetModules, ...(headOut ? { head: headOut.tensors } : {}) })
      step(2, 'Writing adapter_model.safetensors')
      const files: Record<string, Uint8Array> = { 'adapter_config.json': strToU8(out.configText), 'adapter_model.safetensors': out.safetensors }
      if (headOut) {
        files[SEQ_CLS_LABELS_FILE] = strToU8(JSON.stringify(headOut.labels, null, 2) + '\n')
        files['README.md'] = strToU8(seqClsAdapterReadme(c.baseName, out.config, headOut.labels, modelType === 'gpt2' || modelType === 'llama' ? c.tok.padId : null))
      } else files['README.md'] = strToU8(adapterReadme(c.baseName, out.config))
      step(3, 'Done')
      return { fileName: `${slug}-peft-lora.zip`, bytes: zipSync(files) }
    }
    // a classification or regression head: the *ForSequenceClassification checkpoint (the head
    // trained is that class's own, HfBody.headStructure), or with mean pooling the studio's format
    const head = tuning && !tuning.multi ? tuning.head : null
    const blend = choice === 'interpolated' ? r.blend() : null // θ(α) before merging
    const before = blend?.alpha ?? 1
    blend?.apply(r.alpha)
    const files: Record<string, Uint8Array> = {}
    try {
      step(1, 'Merging the fine-tuned weights')
      const merged = tuning?.lora ? tuning.lora.mergedKernels(c.body) : new Map<string, tf.Tensor2D>()
      await withWeights(c.body, merged, async () => {
        if (head && c.body.hfHead) {
          const scale = c.validationSplit ? valuesOf(c.validationSplit)?.scale : undefined
          // a regression head predicts standardised targets: without the data's scale the export
          // could not be in the target's units
          if (head.spec.kind === 'regression' && !scale) throw new Error('This regression head predicts standardised values and the scale of its target is not known here (no training data in this session): load the dataset it was trained on and train or evaluate it, then export.')
          const out = await writeSeqClsCheckpoint(c.body.model, head, c.bundle.configText, {
            ...(head.spec.kind === 'classification' && c.validationSplit ? { labelNames: classesOf(c.validationSplit) ?? [] } : {}),
            regression: head.spec.kind === 'regression' && scale ? { mean: scale.mean, std: scale.std } : null,
            padTokenId: c.body.isEncoder ? null : c.tok.padId,
          })
          files['config.json'] = strToU8(withOrigin(out.configText, c))
          files['model.safetensors'] = out.safetensors
          if (!c.body.isEncoder && head.spec.kind === 'regression') files['README.md'] = strToU8(seqClsReadme(c.baseName, JSON.parse(out.configText) as Record<string, unknown>))
        } else {
          files['config.json'] = strToU8(withOrigin(mergedConfig(c.bundle.configText, c.body.model.hf), c))
          files['model.safetensors'] = await writeHfCheckpoint(c.body.model)
          if (head) {
            // mean pooling has no Hugging Face class: the head in the studio's own names
            const tensors = await Promise.all(head.params.map(async (p) => ({ name: p.name, shape: p.variable.shape, data: (await p.variable.data()) as Float32Array })))
            files['studio_head.safetensors'] = writeSafetensors(tensors)
            files['README.md'] = strToU8(`# ${c.baseName}: body and a mean-pooled head (the studio's format)\n\nmodel.safetensors is the fine-tuned encoder (${mergedArchitecture(c.body.model.hf)}). The head in studio_head.safetensors reads the mean of the last hidden states over real tokens, which no Hugging Face class does: AutoModelForSequenceClassification does not load it. head.task.kernel is [hidden, outputs] ([in, out]); logits = mean_pool(hidden) @ kernel + bias${head.spec.kind === 'regression' ? ', in standardised units' : ''}.\n`)
          }
        }
      })
      for (const w of merged.values()) w.dispose()
    } finally {
      blend?.apply(before)
    }
    step(2, 'Writing model.safetensors')
    for (const [name, b] of c.tokenizerFiles) files[name] = b
    step(3, 'Done')
    return { fileName: `${slug}-${head && c.body.hfHead ? 'seq-cls' : 'merged'}.zip`, bytes: zipSync(files) }
  },
  packTask: () => null,
  classesOnly: () => null,
  /** A decoder's own tokenizer and chat template (tokenizer_config.json) for SFT and DPO:
   *  rows are tokenized as one text, as the model reads them, and the answer tokens found
   *  from where each piece of the rendered conversation ends. */
  chatLm(held) {
    if (held.body.isEncoder || held.lmHead === false) return null
    const t = held.tokenizer
    const eosId = t.eosId ?? t.padId
    if (eosId === null) return null
    // the token the tokenizer itself puts first (Llama's <s>; none for GPT-2)
    const bosId = t.encode('', { addSpecialTokens: true })[0] ?? null
    const tokenizer: LmTokenizer = {
      encode: (text) => t.encode(text, { addSpecialTokens: false }),
      decode: (ids) => t.decode(Array.from(ids), { skipSpecialTokens: false, cleanUpSpaces: false }),
      padId: t.padId ?? eosId,
      bosId,
      eosId,
    }
    return { title: held.summary.title, tokenizer, chat: t.chatTemplate ? { template: t.chatTemplate, variables: { ...t.specialTokens }, specials: {} } : null, wholeText: true, maxSeqLen: held.body.config.seqLen, specialText: () => null }
  },
  /** Greedy answers before and after, the conversation rendered with the model's own chat
   *  template (or the raw prompt, as prompt/completion rows were trained). */
  async chat(c, r) {
    const input = r.raw ? r.messages.at(-1)!.content : r.messages
    const once = () => generateText(c.bundle, input, { maxNewTokens: r.maxTokens, doSample: false })
    const tuning = c.tuning && !c.tuning.head ? c.tuning : null
    const base = c.base && tuning && !tuning.lora ? await withWeights(c.body, c.base, once) : await once()
    let tuned: string | null = null
    if (tuning && !tuning.lora) tuned = (await once()).text
    else if (tuning?.lora) {
      const merged = tuning.lora.mergedKernels(c.body)
      tuned = (await withWeights(c.body, merged, once)).text
      for (const w of merged.values()) w.dispose()
    }
    return { prompt: base.promptText, base: base.text, tuned }
  },
}

/** Why a sequence classifier saved without an LM head does not write text. */
function noLmHeadWords(held: HeldHf): string {
  return `${held.summary.title} is a sequence classifier (${held.seqCls?.architecture ?? 'LlamaForSequenceClassification'}) saved without the LM head its config.json names (lm_head.weight): it classifies text but does not write it. Load its base model (the LlamaForCausalLM checkpoint) to generate text or train on plain text.`
}

/** PEFT's target_modules for these adapted layers: PEFT adapts every module whose path ends
 *  with a listed name, so a name is widened with its parent ("attn.c_proj") until it matches
 *  only adapted layers of the model. */
export function peftTargets(adapted: readonly string[], all: readonly string[]): string[] {
  const chosen = new Set(adapted)
  const out = new Set<string>()
  for (const layer of adapted) {
    const parts = layer.split('.')
    let name = parts.at(-1)!
    for (let k = 2; k <= parts.length; k++) {
      const n = name
      if (all.every((l) => chosen.has(l) || !(l === n || l.endsWith(`.${n}`)))) break
      name = parts.slice(-k).join('.')
    }
    out.add(name)
  }
  return [...out].sort()
}



export function planMethodOf(m: Settings['method']): PlanMethod {
  return m === 'lora' || m === 'head' || m === 'freeze' ? m : 'full'
}

export function planInput(cfg: HfConfig, method: PlanMethod, batch: number, seq: number): PlanInput {
  const decoder = cfg.modelType === 'gpt2' || cfg.modelType === 'llama'
  return { method, batch, seq, task: decoder ? 'lm' : 'classify', labels: 2, ...(method === 'lora' ? { loraRank: 8 } : {}), ...(method === 'freeze' ? { frozenBlocks: Math.floor(layersOf(cfg) / 2) } : {}) }
}

function layersOf(cfg: HfConfig): number {
  return cfg.modelType === 'gpt2' ? cfg.nLayer : cfg.numLayers
}

export function paramCount(cfg: HfConfig): number {
  let n = 0
  for (const shape of expectedWeights(cfg).values()) n += shape.reduce((a, b) => a * b, 1)
  return n
}

export function formatCount(n: number): string {
  return n >= 1e9 ? `${(n / 1e9).toFixed(2)} B` : n >= 1e6 ? `${(n / 1e6).toFixed(1)} M` : n >= 1e3 ? `${(n / 1e3).toFixed(1)} k` : String(n)
}

/** The config.json key a merged export names its base model by (an extra key, as
 *  studio_regression_offset: transformers keeps it as an attribute of the config). */
const FINE_TUNED_FROM = 'studio_fine_tuned_from'

/** The base model a config.json says its weights were fine-tuned from (a studio merged
 *  export's), or null for a model as published. */
export function fineTunedFrom(configText: string): string | null {
  try {
    const v = (JSON.parse(configText) as Record<string, unknown>)[FINE_TUNED_FROM]
    return typeof v === 'string' && v.trim() !== '' ? v : null
  } catch {
    return null
  }
}

/** A merged export's config.json with the base it was fine-tuned from: the loaded model's own
 *  base when it was itself a merged export, else the loaded model. */
function withOrigin(configText: string, held: HeldHf): string {
  const o = JSON.parse(configText) as Record<string, unknown>
  return JSON.stringify({ ...o, [FINE_TUNED_FROM]: fineTunedFrom(held.bundle.configText) ?? held.baseName }, null, 2) + '\n'
}

/** config.json for the merged checkpoint: the original, with the architecture the weights
 *  are saved as (hfCheckpointTensors writes the *LMHeadModel / *Model layout). */
function mergedConfig(configText: string, cfg: HfConfig): string {
  const o = JSON.parse(configText) as Record<string, unknown>
  return JSON.stringify({ ...o, architectures: [mergedArchitecture(cfg)] }, null, 2) + '\n'
}

function mergedArchitecture(cfg: HfConfig): string {
  return { gpt2: 'GPT2LMHeadModel', llama: 'LlamaForCausalLM', bert: 'BertModel', distilbert: 'DistilBertModel' }[cfg.modelType]
}

function seqClsReadme(base: string, config: Record<string, unknown>): string {
  const arch = (config.architectures as string[])[0]
  return `# ${base} with a regression head (${arch})\n\nLoad it with AutoModelForSequenceClassification.from_pretrained. ${arch}'s score layer has no bias, so the training targets' mean is not in the weights: add studio_regression_offset from config.json (${String(config.studio_regression_offset ?? 0)}) to the model's output to get the target's units.\n`
}

function adapterReadme(base: string, config: Record<string, unknown>): string {
  return `# PEFT LoRA adapter for ${base}\n\nFine-tuned in the browser studio. Load it with Hugging Face PEFT:\n\n\`\`\`python\nfrom transformers import AutoModelForCausalLM\nfrom peft import PeftModel\nbase = AutoModelForCausalLM.from_pretrained("${base}")\nmodel = PeftModel.from_pretrained(base, "path/to/this/folder")\n\`\`\`\n\nr = ${String(config.r)}, lora_alpha = ${String(config.lora_alpha)}, target_modules = ${JSON.stringify(config.target_modules)}.\n`
}

/** One row per module for the layers table. */
export function describeHf(body: HfBody, trainable: Set<number>): LayerSummary[] {
  const rows = new Map<string, LayerSummary>()
  for (const p of body.params) {
    const kind = p.layer.slice(p.layer.lastIndexOf('.') + 1)
    const row = rows.get(p.layer) ?? { name: p.layer, type: kind, block: p.block, outputShape: p.name.endsWith('.kernel') ? `[B, T, ${p.variable.shape[1]}]` : `[B, T, ${body.config.dModel}]`, params: 0, trainable: trainable.has(p.block) }
    row.params += p.variable.size
    rows.set(p.layer, row)
  }
  return [...rows.values()]
}

/** What generation added to a text prompt, as the page shows it after the prompt: the prompt and
 *  its continuation are decoded together (so a word-piece or byte joined across the seam, and the
 *  space before the first new word, come out as the whole text has them) and the prompt's own
 *  decoding taken off the front. */
export function continuationText(tokenizer: { decode(ids: number[], opts: { skipSpecialTokens: boolean }): string }, promptIds: readonly number[], ids: readonly number[]): string {
  const whole = tokenizer.decode([...promptIds, ...ids], { skipSpecialTokens: true })
  const head = tokenizer.decode([...promptIds], { skipSpecialTokens: true })
  return whole.startsWith(head) ? whole.slice(head.length) : tokenizer.decode([...ids], { skipSpecialTokens: true })
}
