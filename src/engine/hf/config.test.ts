import { describe, expect, it } from 'vitest'
import { expectedWeights, matchWeights, parseHfConfig } from './config'

// The real configs of the models the issue names (copied from their config.json files).
const GPT2 = { activation_function: 'gelu_new', architectures: ['GPT2LMHeadModel'], layer_norm_epsilon: 1e-5, model_type: 'gpt2', n_ctx: 1024, n_embd: 768, n_head: 12, n_layer: 12, n_positions: 1024, vocab_size: 50257 }
const SMOLLM2_135M = {
  architectures: ['LlamaForCausalLM'], hidden_act: 'silu', hidden_size: 576, intermediate_size: 1536, max_position_embeddings: 8192, model_type: 'llama',
  num_attention_heads: 9, num_hidden_layers: 30, num_key_value_heads: 3, rms_norm_eps: 1e-5, rope_scaling: null, rope_theta: 100000, tie_word_embeddings: true, vocab_size: 49152,
}
const MINILM = { architectures: ['BertModel'], hidden_act: 'gelu', hidden_size: 384, intermediate_size: 1536, layer_norm_eps: 1e-12, max_position_embeddings: 512, model_type: 'bert', num_attention_heads: 12, num_hidden_layers: 6, type_vocab_size: 2, vocab_size: 30522 }
const DISTILBERT = { activation: 'gelu', dim: 768, hidden_dim: 3072, max_position_embeddings: 512, model_type: 'distilbert', n_heads: 12, n_layers: 6, sinusoidal_pos_embds: false, vocab_size: 30522 }

describe('parseHfConfig', () => {
  it('reads GPT-2 (n_inner null → 4·n_embd)', () => {
    expect(parseHfConfig(JSON.stringify(GPT2))).toEqual({ modelType: 'gpt2', vocabSize: 50257, nPositions: 1024, nEmbd: 768, nLayer: 12, nHead: 12, nInner: 3072, layerNormEps: 1e-5 })
  })

  it('reads SmolLM2-135M: grouped-query attention 9 over 3, head size 64, theta 100000, tied head', () => {
    expect(parseHfConfig(SMOLLM2_135M)).toMatchObject({ modelType: 'llama', hiddenSize: 576, numHeads: 9, numKvHeads: 3, headDim: 64, ropeTheta: 100000, ropeScaling: null, tieWordEmbeddings: true, rmsNormEps: 1e-5 })
  })

  it('reads a MiniLM BERT and DistilBERT into the same encoder shape', () => {
    expect(parseHfConfig(MINILM)).toEqual({ modelType: 'bert', vocabSize: 30522, hiddenSize: 384, numLayers: 6, numHeads: 12, intermediateSize: 1536, maxPositions: 512, typeVocabSize: 2, layerNormEps: 1e-12 })
    expect(parseHfConfig(DISTILBERT)).toEqual({ modelType: 'distilbert', vocabSize: 30522, hiddenSize: 768, numLayers: 6, numHeads: 12, intermediateSize: 3072, maxPositions: 512, typeVocabSize: 0, layerNormEps: 1e-12 })
  })

  it('refuses an unsupported architecture by name, with the supported list', () => {
    expect(() => parseHfConfig({ model_type: 'mistral' })).toThrow('config.json: names model_type "mistral", which the studio cannot run. Supported: gpt2, llama, bert, distilbert')
    expect(() => parseHfConfig({})).toThrow('config.json: has no "model_type". Choose a model whose config.json names one of: gpt2, llama, bert, distilbert.')
    expect(() => parseHfConfig('not json')).toThrow('config.json: is not JSON.')
  })

  it('refuses settings the forward pass does not implement, by key', () => {
    expect(() => parseHfConfig({ ...GPT2, activation_function: 'relu' })).toThrow('config.json: sets "activation_function" to "relu"; the studio runs gelu_new for this architecture.')
    expect(() => parseHfConfig({ ...SMOLLM2_135M, rope_scaling: { rope_type: 'llama3', factor: 8 } })).toThrow(/uses rope_scaling of type "llama3"; the studio runs none, "default" or "linear"/)
    expect(() => parseHfConfig({ ...SMOLLM2_135M, num_key_value_heads: 4 })).toThrow('config.json: has num_attention_heads 9, not a multiple of num_key_value_heads 4.')
    expect(() => parseHfConfig({ ...GPT2, n_layer: 0 })).toThrow('config.json: needs "n_layer" as a positive whole number (found 0).')
  })
})

describe('weights against the config', () => {
  it('GPT-2 124M: the expected weights add up to 124,439,808 parameters (the published count)', () => {
    const w = expectedWeights(parseHfConfig(GPT2))
    let n = 0
    for (const s of w.values()) n += s.reduce((a, b) => a * b, 1)
    expect(n).toBe(124_439_808)
    expect(w.get('h.0.attn.c_attn.weight')).toEqual([768, 2304]) // Conv1D [in, out], q|k|v packed
  })

  it('SmolLM2-135M: 134,515,008 parameters with the tied head (its published 135M)', () => {
    const w = expectedWeights(parseHfConfig(SMOLLM2_135M))
    let n = 0
    for (const s of w.values()) n += s.reduce((a, b) => a * b, 1)
    // embed 49152·576 + 30·(2·576 + 576·576 + 2·192·576 + 576·576 + 3·576·1536) + 576, by hand
    expect(n).toBe(49152 * 576 + 30 * (2 * 576 + 576 * 576 + 2 * 192 * 576 + 576 * 576 + 3 * 576 * 1536) + 576)
    expect(n).toBe(134_515_008)
    expect(w.get('layers.0.self_attn.k_proj.weight')).toEqual([192, 576]) // nn.Linear [out, in], 3 kv heads × 64
    expect(w.has('lm_head.weight')).toBe(false)
  })

  it('finds weights saved with or without the model-class prefix, and names a wrong shape with both shapes', () => {
    const cfg = parseHfConfig({ ...GPT2, n_layer: 1, vocab_size: 10, n_positions: 4, n_embd: 8, n_head: 2 })
    const shapes = new Map([...expectedWeights(cfg)].map(([k, v]) => [`transformer.${k}`, v]))
    expect(matchWeights(cfg, shapes).get('h.0.mlp.c_fc.weight')).toBe('transformer.h.0.mlp.c_fc.weight')
    shapes.set('transformer.h.0.mlp.c_fc.weight', [32, 8]) // an nn.Linear layout where Conv1D is expected
    expect(() => matchWeights(cfg, shapes, 'model-00001-of-00002.safetensors')).toThrow('model-00001-of-00002.safetensors: tensor "transformer.h.0.mlp.c_fc.weight" has shape [32, 8] but config.json needs [8, 32].')
  })
})
