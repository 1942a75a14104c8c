/** For tests: a GPT-2 with the real 50,257-token vocabulary (GPT-2's tokenizer files from
 *  scripts/hf-reference), 4 wide, one block, 64 positions, as files a person would choose:
 *  config.json, model.safetensors (weights sin(i)·0.1, written with the studio's own writer),
 *  tokenizer.json and tokenizer_config.json. Used by src/worker/hfModelHost.test.ts and
 *  bench/node/hfHostWebgpu.test.ts (the browser tests build theirs independently, e2e/hfHub.ts). */
import { gpt2TokenizerFiles } from '../../../scripts/hf-reference/gpt2-tokenizer.mjs'
import { writeSafetensors } from './safetensors'

export function tinyGpt2Files(): File[] {
  const V = 50257
  const d = 4
  const t = (name: string, shape: number[]) => ({ name, shape, data: Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => Math.sin(i) * 0.1) })
  const weights = writeSafetensors([
    t('wte.weight', [V, d]),
    t('wpe.weight', [64, d]),
    ...['ln_1', 'ln_2'].flatMap((n) => [t(`h.0.${n}.weight`, [d]), t(`h.0.${n}.bias`, [d])]),
    t('h.0.attn.c_attn.weight', [d, 3 * d]),
    t('h.0.attn.c_attn.bias', [3 * d]),
    t('h.0.attn.c_proj.weight', [d, d]),
    t('h.0.attn.c_proj.bias', [d]),
    t('h.0.mlp.c_fc.weight', [d, 4 * d]),
    t('h.0.mlp.c_fc.bias', [4 * d]),
    t('h.0.mlp.c_proj.weight', [4 * d, d]),
    t('h.0.mlp.c_proj.bias', [d]),
    t('ln_f.weight', [d]),
    t('ln_f.bias', [d]),
  ])
  const tok = gpt2TokenizerFiles()
  return [
    new File([JSON.stringify({ model_type: 'gpt2', vocab_size: V, n_positions: 64, n_embd: d, n_layer: 1, n_head: 1, n_inner: null, activation_function: 'gelu_new', layer_norm_epsilon: 1e-5 })], 'config.json'),
    new File([weights], 'model.safetensors'),
    new File([JSON.stringify(tok.tokenizerJson)], 'tokenizer.json'),
    new File([JSON.stringify(tok.tokenizerConfig)], 'tokenizer_config.json'),
  ]
}
