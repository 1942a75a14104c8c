/**
 * A Hugging Face model from its files, wherever they come from (the Hub through hubFetch.ts, the
 * cache, or files a person chose): config.json, model.safetensors or a sharded set,
 * tokenizer.json + tokenizer_config.json, generation_config.json when present. Everything is
 * read and checked before the model is built, so a bad file leaves whatever was loaded before
 * untouched. And the reverse: the model's weights as a checkpoint `from_pretrained` loads.
 */
import { ModelLoadError } from '../models/modelLoadError'
import * as tf from '@tensorflow/tfjs'
import { parseHfConfig, type HfConfig } from './config'
import { buildHfModel, type HfModel } from './hfModel'
import { loadHfTokenizer, type HfTokenizer } from './hfTokenizer'
import { loadShardedSafetensors, parseSafetensors, SHARD_INDEX, writeSafetensors, type LoadedTensor, type SafetensorsContents, type TensorToWrite } from './safetensors'
import { MODULE_PREFIX } from './peftAdapter'
import { readSeqClsHead, type LoadedSeqClsHead } from './seqClsLoadBack'
import { sentencePooling, type SentencePooling } from './sentencePooling'

/** What generation_config.json may set; absent fields are left to the playground's defaults. */
export interface GenerationConfig {
  maxNewTokens?: number
  doSample?: boolean
  temperature?: number
  topK?: number
  topP?: number
  repetitionPenalty?: number
  /** Token ids that end generation (eos_token_id may be one id or a list). */
  eosTokenIds: number[]
  bosTokenId?: number
  padTokenId?: number
}

export function parseGenerationConfig(text: string | null | undefined): GenerationConfig {
  if (!text) return { eosTokenIds: [] }
  let o: Record<string, unknown>
  try {
    o = JSON.parse(text) as Record<string, unknown>
  } catch {
    throw new ModelLoadError('generation_config.json: is not JSON. Choose the generation_config.json from the model repository, or leave it out.', 'generation_config.json')
  }
  const n = (k: string) => (typeof o[k] === 'number' && Number.isFinite(o[k]) ? (o[k] as number) : undefined)
  const eos = o.eos_token_id
  const out: GenerationConfig = { eosTokenIds: Array.isArray(eos) ? eos.filter((x): x is number => typeof x === 'number') : typeof eos === 'number' ? [eos] : [] }
  const set = <K extends keyof GenerationConfig>(k: K, v: GenerationConfig[K] | undefined) => {
    if (v !== undefined) out[k] = v
  }
  set('maxNewTokens', n('max_new_tokens'))
  set('doSample', typeof o.do_sample === 'boolean' ? o.do_sample : undefined)
  set('temperature', n('temperature'))
  set('topK', n('top_k'))
  set('topP', n('top_p'))
  set('repetitionPenalty', n('repetition_penalty'))
  set('bosTokenId', n('bos_token_id'))
  set('padTokenId', n('pad_token_id'))
  return out
}

export interface HfBundle {
  config: HfConfig
  configText: string
  model: HfModel
  tokenizer: HfTokenizer
  generation: GenerationConfig
  /** Bytes of weights read (as stored: half-precision files count their own size). */
  weightBytes: number
  /** A BERT checkpoint's pooler (`pooler.dense`, transposed to [in, out]), which
   *  BertForSequenceClassification's head starts from; absent when it has none. */
  pooler?: { kernel: Float32Array; bias: Float32Array }
  /** An encoder's pooling as its sentence-transformers files say (sentencePooling.ts); absent
   *  when it has none. The `pooling` setting's 'auto' means it. */
  sentencePooling?: SentencePooling
  /** A *ForSequenceClassification checkpoint's trained head (seqClsLoadBack.ts); absent when
   *  the checkpoint has none. */
  seqCls?: LoadedSeqClsHead
  /** false: a sequence classifier saved without the LM head its config names (an untied Llama's
   *  lm_head.weight: LlamaForSequenceClassification has none), so the model cannot write text. */
  lmHead?: false
}

/** Reads a file by name, or null when there is none. */
export type FileSource = (name: string) => Promise<Uint8Array | null>

/** Files as a Map (a folder chosen by a person, a downloaded repo). */
export function mapSource(files: ReadonlyMap<string, Uint8Array>): FileSource {
  return async (name) => files.get(name) ?? null
}

const text = (b: Uint8Array) => new TextDecoder().decode(b)

export async function loadHfBundle(source: FileSource, opts: { otherFiles?: readonly string[]; onStage?: (stage: string) => void } = {}): Promise<HfBundle> {
  opts.onStage?.('config.json')
  const configBytes = await source('config.json')
  if (!configBytes) throw new ModelLoadError('config.json is missing. Choose it together with the weights (config.json and model.safetensors come from the same model folder).', 'config.json')
  const configText = text(configBytes)
  const config = parseHfConfig(configText) // refuses unsupported architectures before any weight is read
  opts.onStage?.('tokenizer')
  const tokJson = await source('tokenizer.json')
  const tokCfg = await source('tokenizer_config.json')
  const tokenizer = loadHfTokenizer(tokJson ? text(tokJson) : null, tokCfg ? text(tokCfg) : null)
  const genBytes = await source('generation_config.json')
  const generation = parseGenerationConfig(genBytes ? text(genBytes) : null)
  const sentence = config.modelType === 'bert' || config.modelType === 'distilbert' ? await sentencePooling(source) : null

  opts.onStage?.('weights')
  let weights: SafetensorsContents
  let weightBytes = 0
  const single = await source('model.safetensors')
  if (single) {
    weights = parseSafetensors(single, 'model.safetensors')
    weightBytes = single.length
  } else {
    const index = await source(SHARD_INDEX)
    if (!index) {
      const other = (opts.otherFiles ?? []).find((f) => /\.(bin|pt|pth|ckpt|h5|gguf|msgpack)$/i.test(f))
      throw new ModelLoadError(
        other
          ? `The weights are in ${other}, a format the studio does not read. It reads model.safetensors (or a sharded set with ${SHARD_INDEX}): most Hub repositories have one; otherwise convert the checkpoint with the safetensors tools.`
          : `model.safetensors is missing (and there is no ${SHARD_INDEX} for a sharded set). Choose the weights together with config.json.`,
        'model.safetensors',
      )
    }
    weights = await loadShardedSafetensors(text(index), async (name) => {
      const b = await source(name)
      if (!b) throw new ModelLoadError(`${name} is missing: ${SHARD_INDEX} lists it. Choose every shard of the set.`, name)
      weightBytes += b.length
      return b
    })
  }
  const vocab = config.vocabSize
  if (tokenizer.vocabSize > vocab) {
    throw new ModelLoadError(`tokenizer.json has ${tokenizer.vocabSize} tokens but config.json's model only ${vocab}: they come from different models. Choose the tokenizer files from the same repository as the weights.`, 'tokenizer.json')
  }
  const seqCls = readSeqClsHead(config, configText, weights.tensors) // refused by name before the model is built
  // LlamaForSequenceClassification saves no lm_head even when the config's embeddings are untied:
  // the body is built without one (its logits would read the embeddings: generation is refused)
  const noLmHead = !!seqCls && config.modelType === 'llama' && !config.tieWordEmbeddings && !weights.tensors.has('lm_head.weight')
  const model = buildHfModel(noLmHead ? { ...config, tieWordEmbeddings: true } : config, weights.tensors)
  const pooler = config.modelType === 'bert' ? bertPooler(weights.tensors, config.hiddenSize) : undefined
  return { config, configText, model, tokenizer, generation, weightBytes, ...(pooler ? { pooler } : {}), ...(sentence ? { sentencePooling: sentence } : {}), ...(seqCls ? { seqCls } : {}), ...(noLmHead ? { lmHead: false as const } : {}) }
}

/** BertModel's `pooler.dense` (under any class prefix) as [in, out], when it is there with the
 *  hidden size's shape. */
function bertPooler(tensors: SafetensorsContents['tensors'], d: number): HfBundle['pooler'] {
  let w: LoadedTensor | undefined
  let b: LoadedTensor | undefined
  for (const [k, t] of tensors) {
    if (/(^|\.)pooler\.dense\.weight$/.test(k)) w = t
    if (/(^|\.)pooler\.dense\.bias$/.test(k)) b = t
  }
  if (!w || !b || w.shape.join() !== `${d},${d}` || b.shape.join() !== `${d}`) return undefined
  const kernel = new Float32Array(d * d)
  for (let o = 0; o < d; o++) for (let i = 0; i < d; i++) kernel[i * d + o] = w.data[o * d + i]!
  return { kernel, bias: Float32Array.from(b.data) }
}

/** The model's weights named and laid out as the Hugging Face class saves them
 *  (GPT2LMHeadModel, LlamaForCausalLM, BertModel, DistilBertModel): prefix restored, nn.Linear
 *  kernels transposed back to [out, in], GPT-2's Conv1D left [in, out]. */
export async function hfCheckpointTensors(model: HfModel): Promise<TensorToWrite[]> {
  const prefix = MODULE_PREFIX[model.hf.modelType]
  const conv1d = model.hf.modelType === 'gpt2'
  const out: TensorToWrite[] = []
  for (const [name, v] of model.entries()) {
    if (name.endsWith('.kernel')) {
      const base = name.slice(0, -'.kernel'.length)
      const key = base === 'lm_head' ? 'lm_head.weight' : `${prefix}${base}.weight`
      const t = conv1d ? v : tf.transpose(v)
      out.push({ name: key, shape: t.shape, data: (await t.data()) as Float32Array })
      if (t !== v) t.dispose()
    } else {
      out.push({ name: `${prefix}${name}`, shape: v.shape, data: (await v.data()) as Float32Array })
    }
  }
  return out
}

/** model.safetensors bytes for the model as it is now (LoRA merged first, if any). */
export async function writeHfCheckpoint(model: HfModel): Promise<Uint8Array<ArrayBuffer>> {
  return writeSafetensors(await hfCheckpointTensors(model), { format: 'pt' })
}
