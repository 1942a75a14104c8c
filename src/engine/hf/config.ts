/**
 * Hugging Face `config.json` for the architectures the studio runs, read into one typed
 * shape per family, and the weights each family needs with their shapes (in the checkpoint's
 * own layout: GPT-2's Conv1D [in, out], nn.Linear [out, in]), so a checkpoint that does not
 * fit its config is refused by tensor name before anything is built.
 */
import { ModelLoadError } from '../models/modelLoadError'

export const SUPPORTED_MODEL_TYPES = ['gpt2', 'llama', 'bert', 'distilbert'] as const
export type HfModelType = (typeof SUPPORTED_MODEL_TYPES)[number]

export interface Gpt2Config {
  modelType: 'gpt2'
  vocabSize: number
  nPositions: number
  nEmbd: number
  nLayer: number
  nHead: number
  nInner: number // MLP width (n_inner, or 4·n_embd when null)
  layerNormEps: number
}

export interface LlamaConfig {
  modelType: 'llama'
  vocabSize: number
  hiddenSize: number
  intermediateSize: number
  numLayers: number
  numHeads: number
  numKvHeads: number
  headDim: number
  rmsNormEps: number
  ropeTheta: number
  /** Rotary position scaling: none, or linear (positions divided by factor). */
  ropeScaling: { type: 'linear'; factor: number } | null
  maxPositions: number
  tieWordEmbeddings: boolean
  attentionBias: boolean
  mlpBias: boolean
}

/** BERT and DistilBERT share one encoder shape (DistilBERT: no token types, no pooler). */
export interface BertConfig {
  modelType: 'bert' | 'distilbert'
  vocabSize: number
  hiddenSize: number
  numLayers: number
  numHeads: number
  intermediateSize: number
  maxPositions: number
  typeVocabSize: number // 0 for DistilBERT
  layerNormEps: number
}

export type HfConfig = Gpt2Config | LlamaConfig | BertConfig

function fail(what: string, todo: string): never {
  throw new ModelLoadError(`config.json: ${what} ${todo}`, 'config.json')
}

function int(c: Record<string, unknown>, key: string, fallback?: number): number {
  const v = c[key] ?? fallback
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) fail(`needs "${key}" as a positive whole number (found ${JSON.stringify(c[key])}).`, 'Use the config.json that came with the weights.')
  return v
}

function num(c: Record<string, unknown>, key: string, fallback: number): number {
  const v = c[key] ?? fallback
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) fail(`needs "${key}" as a positive number (found ${JSON.stringify(c[key])}).`, 'Use the config.json that came with the weights.')
  return v
}

function act(c: Record<string, unknown>, key: string, allowed: readonly string[], fallback: string): void {
  const v = c[key] ?? fallback
  if (typeof v !== 'string' || !allowed.includes(v)) fail(`sets "${key}" to ${JSON.stringify(v)}; the studio runs ${allowed.join(' or ')} for this architecture.`, 'Choose a model with the standard activation.')
}

/** Reads config.json's text (or parsed object). Anything but gpt2, llama, bert and distilbert
 *  is refused by its model_type with the supported list. */
export function parseHfConfig(input: string | unknown): HfConfig {
  let c: unknown = input
  if (typeof input === 'string') {
    try {
      c = JSON.parse(input)
    } catch {
      fail('is not JSON.', 'Choose the config.json from the model repository.')
    }
  }
  if (!c || typeof c !== 'object' || Array.isArray(c)) fail('is not a JSON object.', 'Choose the config.json from the model repository.')
  const o = c as Record<string, unknown>
  const type = o.model_type
  if (typeof type !== 'string') fail('has no "model_type".', `Choose a model whose config.json names one of: ${SUPPORTED_MODEL_TYPES.join(', ')}.`)
  switch (type) {
    case 'gpt2': {
      act(o, 'activation_function', ['gelu_new'], 'gelu_new')
      const nEmbd = int(o, 'n_embd', 768)
      const cfg: Gpt2Config = {
        modelType: 'gpt2',
        vocabSize: int(o, 'vocab_size', 50257),
        nPositions: int(o, 'n_positions', 1024),
        nEmbd,
        nLayer: int(o, 'n_layer', 12),
        nHead: int(o, 'n_head', 12),
        nInner: o.n_inner == null ? 4 * nEmbd : int(o, 'n_inner'),
        layerNormEps: num(o, 'layer_norm_epsilon', 1e-5),
      }
      if (nEmbd % cfg.nHead) fail(`has n_embd ${nEmbd}, not divisible by n_head ${cfg.nHead}.`, 'Use the config.json that came with the weights.')
      return cfg
    }
    case 'llama': {
      act(o, 'hidden_act', ['silu'], 'silu')
      const hiddenSize = int(o, 'hidden_size', 4096)
      const numHeads = int(o, 'num_attention_heads', 32)
      const numKvHeads = int(o, 'num_key_value_heads', numHeads)
      if (numHeads % numKvHeads) fail(`has num_attention_heads ${numHeads}, not a multiple of num_key_value_heads ${numKvHeads}.`, 'Use the config.json that came with the weights.')
      const headDim = int(o, 'head_dim', Math.floor(hiddenSize / numHeads))
      if (headDim % 2) fail(`gives a head size of ${headDim}; rotary positions need an even one.`, 'Use the config.json that came with the weights.')
      let ropeScaling: LlamaConfig['ropeScaling'] = null
      const rs = o.rope_scaling as Record<string, unknown> | null | undefined
      if (rs != null) {
        const kind = rs.rope_type ?? rs.type
        if (kind === 'linear') ropeScaling = { type: 'linear', factor: num(rs, 'factor', 1) }
        else if (kind !== 'default') fail(`uses rope_scaling of type ${JSON.stringify(kind)}; the studio runs none, "default" or "linear".`, 'Choose a model without long-context rotary scaling (SmolLM2 and TinyLlama have none).')
      }
      return {
        modelType: 'llama',
        vocabSize: int(o, 'vocab_size', 32000),
        hiddenSize,
        intermediateSize: int(o, 'intermediate_size', 11008),
        numLayers: int(o, 'num_hidden_layers', 32),
        numHeads,
        numKvHeads,
        headDim,
        rmsNormEps: num(o, 'rms_norm_eps', 1e-6),
        ropeTheta: num(o, 'rope_theta', 10000),
        ropeScaling,
        maxPositions: int(o, 'max_position_embeddings', 2048),
        tieWordEmbeddings: o.tie_word_embeddings === true,
        attentionBias: o.attention_bias === true,
        mlpBias: o.mlp_bias === true,
      }
    }
    case 'bert': {
      act(o, 'hidden_act', ['gelu'], 'gelu')
      if ((o.position_embedding_type ?? 'absolute') !== 'absolute') fail(`uses position_embedding_type ${JSON.stringify(o.position_embedding_type)}; the studio runs "absolute".`, 'Choose a BERT model with absolute positions.')
      const cfg: BertConfig = {
        modelType: 'bert',
        vocabSize: int(o, 'vocab_size', 30522),
        hiddenSize: int(o, 'hidden_size', 768),
        numLayers: int(o, 'num_hidden_layers', 12),
        numHeads: int(o, 'num_attention_heads', 12),
        intermediateSize: int(o, 'intermediate_size', 3072),
        maxPositions: int(o, 'max_position_embeddings', 512),
        typeVocabSize: int(o, 'type_vocab_size', 2),
        layerNormEps: num(o, 'layer_norm_eps', 1e-12),
      }
      if (cfg.hiddenSize % cfg.numHeads) fail(`has hidden_size ${cfg.hiddenSize}, not divisible by num_attention_heads ${cfg.numHeads}.`, 'Use the config.json that came with the weights.')
      return cfg
    }
    case 'distilbert': {
      act(o, 'activation', ['gelu'], 'gelu')
      if (o.sinusoidal_pos_embds === true) fail('uses sinusoidal position embeddings; the studio runs learned ones.', 'Choose a DistilBERT model with learned positions (the usual case).')
      const cfg: BertConfig = {
        modelType: 'distilbert',
        vocabSize: int(o, 'vocab_size', 30522),
        hiddenSize: int(o, 'dim', 768),
        numLayers: int(o, 'n_layers', 6),
        numHeads: int(o, 'n_heads', 12),
        intermediateSize: int(o, 'hidden_dim', 3072),
        maxPositions: int(o, 'max_position_embeddings', 512),
        typeVocabSize: 0,
        layerNormEps: 1e-12,
      }
      if (cfg.hiddenSize % cfg.numHeads) fail(`has dim ${cfg.hiddenSize}, not divisible by n_heads ${cfg.numHeads}.`, 'Use the config.json that came with the weights.')
      return cfg
    }
    default:
      fail(`names model_type "${type}", which the studio cannot run.`, `Supported: ${SUPPORTED_MODEL_TYPES.join(', ')} (GPT-2, Llama-family such as SmolLM2 and TinyLlama, BERT and DistilBERT encoders).`)
  }
}

/** Every weight a family needs, under its canonical name (no model-class prefix), with its
 *  shape in the checkpoint's layout. GPT-2 Conv1D weights are [in, out]; nn.Linear [out, in]. */
export function expectedWeights(cfg: HfConfig): Map<string, number[]> {
  const w = new Map<string, number[]>()
  if (cfg.modelType === 'gpt2') {
    const d = cfg.nEmbd
    w.set('wte.weight', [cfg.vocabSize, d])
    w.set('wpe.weight', [cfg.nPositions, d])
    for (let i = 0; i < cfg.nLayer; i++) {
      const p = `h.${i}.`
      w.set(`${p}ln_1.weight`, [d]).set(`${p}ln_1.bias`, [d])
      w.set(`${p}attn.c_attn.weight`, [d, 3 * d]).set(`${p}attn.c_attn.bias`, [3 * d])
      w.set(`${p}attn.c_proj.weight`, [d, d]).set(`${p}attn.c_proj.bias`, [d])
      w.set(`${p}ln_2.weight`, [d]).set(`${p}ln_2.bias`, [d])
      w.set(`${p}mlp.c_fc.weight`, [d, cfg.nInner]).set(`${p}mlp.c_fc.bias`, [cfg.nInner])
      w.set(`${p}mlp.c_proj.weight`, [cfg.nInner, d]).set(`${p}mlp.c_proj.bias`, [d])
    }
    w.set('ln_f.weight', [d]).set('ln_f.bias', [d])
  } else if (cfg.modelType === 'llama') {
    const d = cfg.hiddenSize
    const q = cfg.numHeads * cfg.headDim
    const kv = cfg.numKvHeads * cfg.headDim
    const ff = cfg.intermediateSize
    w.set('embed_tokens.weight', [cfg.vocabSize, d])
    for (let i = 0; i < cfg.numLayers; i++) {
      const p = `layers.${i}.`
      w.set(`${p}input_layernorm.weight`, [d])
      w.set(`${p}self_attn.q_proj.weight`, [q, d]).set(`${p}self_attn.k_proj.weight`, [kv, d]).set(`${p}self_attn.v_proj.weight`, [kv, d]).set(`${p}self_attn.o_proj.weight`, [d, q])
      if (cfg.attentionBias) w.set(`${p}self_attn.q_proj.bias`, [q]).set(`${p}self_attn.k_proj.bias`, [kv]).set(`${p}self_attn.v_proj.bias`, [kv]).set(`${p}self_attn.o_proj.bias`, [d])
      w.set(`${p}post_attention_layernorm.weight`, [d])
      w.set(`${p}mlp.gate_proj.weight`, [ff, d]).set(`${p}mlp.up_proj.weight`, [ff, d]).set(`${p}mlp.down_proj.weight`, [d, ff])
      if (cfg.mlpBias) w.set(`${p}mlp.gate_proj.bias`, [ff]).set(`${p}mlp.up_proj.bias`, [ff]).set(`${p}mlp.down_proj.bias`, [d])
    }
    w.set('norm.weight', [d])
    if (!cfg.tieWordEmbeddings) w.set('lm_head.weight', [cfg.vocabSize, d])
  } else if (cfg.modelType === 'bert') {
    const d = cfg.hiddenSize
    const ff = cfg.intermediateSize
    w.set('embeddings.word_embeddings.weight', [cfg.vocabSize, d])
    w.set('embeddings.position_embeddings.weight', [cfg.maxPositions, d])
    w.set('embeddings.token_type_embeddings.weight', [cfg.typeVocabSize, d])
    w.set('embeddings.LayerNorm.weight', [d]).set('embeddings.LayerNorm.bias', [d])
    for (let i = 0; i < cfg.numLayers; i++) {
      const p = `encoder.layer.${i}.`
      for (const m of ['query', 'key', 'value']) w.set(`${p}attention.self.${m}.weight`, [d, d]).set(`${p}attention.self.${m}.bias`, [d])
      w.set(`${p}attention.output.dense.weight`, [d, d]).set(`${p}attention.output.dense.bias`, [d])
      w.set(`${p}attention.output.LayerNorm.weight`, [d]).set(`${p}attention.output.LayerNorm.bias`, [d])
      w.set(`${p}intermediate.dense.weight`, [ff, d]).set(`${p}intermediate.dense.bias`, [ff])
      w.set(`${p}output.dense.weight`, [d, ff]).set(`${p}output.dense.bias`, [d])
      w.set(`${p}output.LayerNorm.weight`, [d]).set(`${p}output.LayerNorm.bias`, [d])
    }
  } else {
    const d = cfg.hiddenSize
    const ff = cfg.intermediateSize
    w.set('embeddings.word_embeddings.weight', [cfg.vocabSize, d])
    w.set('embeddings.position_embeddings.weight', [cfg.maxPositions, d])
    w.set('embeddings.LayerNorm.weight', [d]).set('embeddings.LayerNorm.bias', [d])
    for (let i = 0; i < cfg.numLayers; i++) {
      const p = `transformer.layer.${i}.`
      for (const m of ['q_lin', 'k_lin', 'v_lin', 'out_lin']) w.set(`${p}attention.${m}.weight`, [d, d]).set(`${p}attention.${m}.bias`, [d])
      w.set(`${p}sa_layer_norm.weight`, [d]).set(`${p}sa_layer_norm.bias`, [d])
      w.set(`${p}ffn.lin1.weight`, [ff, d]).set(`${p}ffn.lin1.bias`, [ff])
      w.set(`${p}ffn.lin2.weight`, [d, ff]).set(`${p}ffn.lin2.bias`, [d])
      w.set(`${p}output_layer_norm.weight`, [d]).set(`${p}output_layer_norm.bias`, [d])
    }
  }
  return w
}

/** The prefixes a checkpoint of each family may put before the canonical names: GPT2LMHeadModel
 *  saves `transformer.`, the original gpt2 repo none; LlamaForCausalLM `model.`; BertFor… `bert.`. */
export const CHECKPOINT_PREFIXES: Readonly<Record<HfModelType, readonly string[]>> = {
  gpt2: ['', 'transformer.'],
  llama: ['model.', ''],
  bert: ['bert.', ''],
  distilbert: ['distilbert.', ''],
}

/** Canonical names outside the prefix (the untied Llama head sits beside `model.`). */
const UNPREFIXED = new Set(['lm_head.weight'])

/** Picks each expected weight out of a checkpoint's tensors, whatever prefix it was saved
 *  with, and checks its shape. Returns canonical name → checkpoint name. A missing tensor or a
 *  wrong shape is refused naming the tensor and both shapes. Extra tensors (heads, buffers such
 *  as GPT-2's attn.bias mask, the pooler) are left for the caller. */
export function matchWeights(cfg: HfConfig, shapes: ReadonlyMap<string, readonly number[]>, file = 'model.safetensors'): Map<string, string> {
  const want = expectedWeights(cfg)
  const prefixes = CHECKPOINT_PREFIXES[cfg.modelType]
  const probe = [...want.keys()].find((k) => !UNPREFIXED.has(k))!
  const prefix = prefixes.find((p) => shapes.has(p + probe))
  if (prefix === undefined) {
    throw new ModelLoadError(
      `${file}: has no tensor "${probe}" (nor with a prefix ${prefixes.filter(Boolean).map((p) => `"${p}"`).join(' or ')}), so it is not a ${cfg.modelType} checkpoint matching config.json. Choose the weights and config.json from the same model repository.`,
      file,
    )
  }
  const out = new Map<string, string>()
  for (const [name, shape] of want) {
    const key = UNPREFIXED.has(name) ? name : prefix + name
    const got = shapes.get(key)
    if (!got) throw new ModelLoadError(`${file}: has no tensor "${key}", which config.json's ${cfg.modelType} model needs. Choose the weights and config.json from the same model repository.`, file)
    if (got.length !== shape.length || got.some((v, i) => v !== shape[i])) {
      throw new ModelLoadError(`${file}: tensor "${key}" has shape [${got.join(', ')}] but config.json needs [${shape.join(', ')}]. The weights and config.json come from different models: choose both from the same repository.`, file)
    }
    out.set(name, key)
  }
  return out
}
