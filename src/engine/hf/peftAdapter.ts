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
 */
import { ModelLoadError } from '../models/modelLoadError'
import type { HfModelType } from './config'
import { parseSafetensors, writeSafetensors, type TensorToWrite } from './safetensors'

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
}

function transpose(x: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(x.length)
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) out[j * rows + i] = x[i * cols + j]!
  return out
}

/** adapter_config.json's object and adapter_model.safetensors' bytes for these factors. */
export function writePeftAdapter(
  modelType: HfModelType,
  factors: readonly LoraFactors[],
  /** targetModules: PEFT's target_modules when the module names alone would match layers the
   *  adapter leaves out (GPT-2's "c_proj" is both attn.c_proj and mlp.c_proj); default: the names. */
  opts: { rank: number; alpha: number; dropout: number; baseModel: string; taskType: PeftTaskType; targetModules?: readonly string[] },
): { config: Record<string, unknown>; configText: string; safetensors: Uint8Array<ArrayBuffer> } {
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
    modules_to_save: null,
    init_lora_weights: true,
    inference_mode: true,
  }
  return { config, configText: JSON.stringify(config, null, 2) + '\n', safetensors: writeSafetensors(tensors) }
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
  return { config, rank, alpha, factors }
}
