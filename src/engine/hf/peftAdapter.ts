/**
 * The studio's LoRA on a Hugging Face body, written as a PEFT adapter and read back.
 *
 * PEFT's format: `adapter_config.json` (peft_type LORA, r, lora_alpha, lora_dropout,
 * target_modules, fan_in_fan_out, base_model_name_or_path, task_type) and
 * `adapter_model.safetensors` with keys `base_model.model.<module path>.lora_A.weight` [r, in]
 * and `….lora_B.weight` [out, r]; PEFT adds (lora_alpha / r)·B·A to the nn.Linear weight
 * [out, in], transposed for GPT-2's Conv1D (fan_in_fan_out). The studio's LoRA keeps
 * A [in, r] and B [r, out] (tuning/lora.ts) on kernels [in, out], so each factor is transposed.
 * The module path is the model class's: GPT2LMHeadModel puts GPT-2 under `transformer.`,
 * LlamaForCausalLM under `model.`, BertFor… under `bert.`, DistilBertFor… under `distilbert.`.
 *
 * A LoRA run that also trained a classification or regression head is a SEQ_CLS adapter, as PEFT
 * writes one (read in huggingface/peft's source): PeftModelForSequenceClassification.__init__
 * (peft_model.py) puts ["classifier", "score"] in modules_to_save; BaseTuner.inject_adapter and
 * utils/other.py `_set_trainable` wrap every module whose path `key.endswith(name)` (a plain
 * suffix, no dot boundary: DistilBERT's "pre_classifier" ends with "classifier") in a
 * ModulesToSaveWrapper; save_and_load.py get_peft_model_state_dict saves the wrapper's copy through
 * ModulesToSaveWrapper.adapter_state_dict, which drops "modules_to_save.<adapter>.", so the head
 * is stored as `base_model.model.<module path>.weight` in nn.Linear's [out, in]; loading maps it
 * back through adapter_state_dict_load_map and fails on a wrapped module with no saved tensor.
 * Hence the head modules of each class go in modules_to_save and every one of their tensors is
 * written: BERT's pooler (`bert.pooler.dense`) is part of BertForSequenceClassification's head
 * as the studio trains it, so "pooler" is listed too.
 */
import { ModelLoadError } from '../models/modelLoadError'
import type { HfModelType } from './config'
import { parseSafetensors, writeSafetensors, type LoadedTensor, type TensorToWrite } from './safetensors'

export const MODULE_PREFIX: Readonly<Record<HfModelType, string>> = { gpt2: 'transformer.', llama: 'model.', bert: 'bert.', distilbert: 'distilbert.' }
const KEY_HEAD = 'base_model.model.'

export type PeftTaskType = 'CAUSAL_LM' | 'SEQ_CLS' | 'FEATURE_EXTRACTION'

/** One adapted projection in the studio's layout: a [in·r] row-major [in, r], b [r·out] [r, out]. */
export interface LoraFactors {
  layer: string // module path without the class prefix, e.g. "h.0.attn.c_attn"
  nIn: number
  nOut: number
  a: Float32Array
  b: Float32Array
}

export interface PeftAdapter {
  config: Record<string, unknown>
  rank: number
  alpha: number
  factors: LoraFactors[]
  /** The tensors of the modules in modules_to_save (a SEQ_CLS adapter's head), by their names in
   *  the *ForSequenceClassification class (`classifier.weight`, `bert.pooler.dense.bias`, …),
   *  nn.Linear's [out, in]; empty when the adapter saves no module. */
  head: Map<string, LoadedTensor>
}

function transpose(x: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(x.length)
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) out[j * rows + i] = x[i * cols + j]!
  return out
}

/** modules_to_save of a SEQ_CLS adapter: the *ForSequenceClassification head modules PEFT
 *  copies and saves (PEFT adds "classifier" and "score" itself when it loads the adapter). */
export const SEQ_CLS_MODULES_TO_SAVE: Readonly<Record<HfModelType, readonly string[]>> = { gpt2: ['score'], llama: ['score'], bert: ['classifier', 'pooler'], distilbert: ['classifier', 'pre_classifier'] }

/** adapter_config.json's object and adapter_model.safetensors' bytes for these factors (and,
 *  for a SEQ_CLS adapter, the head's tensors under the class's names, e.g. `classifier.weight`
 *  [labels, d], written as `base_model.model.classifier.weight`). */
export function writePeftAdapter(
  modelType: HfModelType,
  factors: readonly LoraFactors[],
  /** targetModules: PEFT's target_modules when the module names alone would match layers the
   *  adapter leaves out (GPT-2's "c_proj" is both attn.c_proj and mlp.c_proj); default: the names. */
  opts: { rank: number; alpha: number; dropout: number; baseModel: string; taskType: PeftTaskType; targetModules?: readonly string[]; head?: readonly TensorToWrite[] },
): { config: Record<string, unknown>; configText: string; safetensors: Uint8Array<ArrayBuffer> } {
  if (opts.head && opts.taskType !== 'SEQ_CLS') throw new Error('A head goes in a SEQ_CLS adapter only.')
  const prefix = MODULE_PREFIX[modelType]
  const tensors: TensorToWrite[] = []
  const targets = new Set<string>()
  for (const f of factors) {
    if (f.a.length !== f.nIn * opts.rank || f.b.length !== opts.rank * f.nOut) throw new Error(`LoRA factors of ${f.layer} do not have rank ${opts.rank}`)
    const key = `${KEY_HEAD}${prefix}${f.layer}`
    tensors.push({ name: `${key}.lora_A.weight`, shape: [opts.rank, f.nIn], data: transpose(f.a, f.nIn, opts.rank) })
    tensors.push({ name: `${key}.lora_B.weight`, shape: [f.nOut, opts.rank], data: transpose(f.b, opts.rank, f.nOut) })
    targets.add(f.layer.slice(f.layer.lastIndexOf('.') + 1))
  }
  const modulesToSave = opts.head ? SEQ_CLS_MODULES_TO_SAVE[modelType] : null
  for (const t of opts.head ?? []) {
    if (!modulesToSave!.some((m) => savedModuleOf(t.name, m))) throw new Error(`${t.name} is not in a module PEFT saves for ${modelType} (${modulesToSave!.join(', ')})`)
    tensors.push({ name: `${KEY_HEAD}${t.name}`, shape: t.shape, data: t.data })
  }
  const config = {
    peft_type: 'LORA',
    task_type: opts.taskType,
    base_model_name_or_path: opts.baseModel,
    r: opts.rank,
    lora_alpha: opts.alpha,
    lora_dropout: opts.dropout,
    target_modules: [...(opts.targetModules ?? targets)].sort(),
    fan_in_fan_out: modelType === 'gpt2', // Conv1D stores [in, out]
    bias: 'none',
    use_rslora: false,
    modules_to_save: modulesToSave ? [...modulesToSave] : null,
    init_lora_weights: true,
    inference_mode: true,
  }
  return { config, configText: JSON.stringify(config, null, 2) + '\n', safetensors: writeSafetensors(tensors) }
}

/** Whether tensor `name` (e.g. "bert.pooler.dense.weight") lies in a module PEFT's modules_to_save
 *  entry `m` wraps: some module path along the name ends with `m` (PEFT's `key.endswith(m)`). */
function savedModuleOf(name: string, m: string): boolean {
  const parts = name.split('.')
  for (let k = 1; k < parts.length; k++) if (parts.slice(0, k).join('.').endsWith(m)) return true
  return false
}

/** Reads a PEFT LoRA adapter back into the studio's layout (A [in, r], B [r, out]). */
export function readPeftAdapter(modelType: HfModelType, configText: string, bytes: Uint8Array): PeftAdapter {
  let config: Record<string, unknown>
  try {
    config = JSON.parse(configText) as Record<string, unknown>
  } catch {
    throw new ModelLoadError('adapter_config.json: is not JSON. Choose the adapter_config.json saved with the adapter.', 'adapter_config.json')
  }
  if (config.peft_type !== 'LORA') throw new ModelLoadError(`adapter_config.json: peft_type is ${JSON.stringify(config.peft_type)}; the studio reads LORA adapters only.`, 'adapter_config.json')
  const rank = config.r
  const alpha = config.lora_alpha
  if (typeof rank !== 'number' || !Number.isInteger(rank) || rank < 1 || typeof alpha !== 'number' || !(alpha > 0)) throw new ModelLoadError('adapter_config.json: needs a positive whole "r" and a positive "lora_alpha".', 'adapter_config.json')
  if (config.use_rslora === true) throw new ModelLoadError('adapter_config.json: uses rsLoRA scaling (alpha/√r); the studio scales by alpha/r. Export the adapter without use_rslora.', 'adapter_config.json')
  const { tensors } = parseSafetensors(bytes, 'adapter_model.safetensors')
  const prefix = KEY_HEAD + MODULE_PREFIX[modelType]
  const factors: LoraFactors[] = []
  const saved = Array.isArray(config.modules_to_save) ? config.modules_to_save.filter((m): m is string => typeof m === 'string') : []
  const head = new Map<string, LoadedTensor>()
  for (const [key, t] of tensors) {
    if (key.includes('.lora_') || !key.startsWith(KEY_HEAD)) continue
    const name = key.slice(KEY_HEAD.length)
    if (saved.some((m) => savedModuleOf(name, m))) head.set(name, t)
  }
  for (const [key, a] of tensors) {
    if (!key.endsWith('.lora_A.weight')) continue
    const module = key.slice(0, -'.lora_A.weight'.length)
    if (!module.startsWith(prefix)) throw new ModelLoadError(`adapter_model.safetensors: key "${key}" is not under "${prefix}", so the adapter is not for a ${modelType} model.`, 'adapter_model.safetensors')
    const b = tensors.get(`${module}.lora_B.weight`)
    if (!b) throw new ModelLoadError(`adapter_model.safetensors: has "${key}" but no "${module}.lora_B.weight".`, 'adapter_model.safetensors')
    const [r, nIn] = a.shape as [number, number]
    const [nOut, r2] = b.shape as [number, number]
    if (r !== rank || r2 !== rank) throw new ModelLoadError(`adapter_model.safetensors: "${module}" has rank ${r}/${r2} but adapter_config.json says r = ${rank}.`, 'adapter_model.safetensors')
    factors.push({ layer: module.slice(prefix.length), nIn, nOut, a: transpose(a.data, rank, nIn), b: transpose(b.data, nOut, rank) })
  }
  if (!factors.length) throw new ModelLoadError('adapter_model.safetensors: holds no lora_A/lora_B weights.', 'adapter_model.safetensors')
  return { config, rank, alpha, factors, head }
}
