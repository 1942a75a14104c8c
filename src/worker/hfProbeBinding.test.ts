// Issue 16: the per-method "fits" list shown before a download keeps to the same WebGPU
// binding-limit checks as the training plan (bindingProblems), so a method the plan refuses on
// this device is not listed as fitting. A GPT-2 with GPT-2 small's embedding (50,257 × 768 ×
// 4 = 154,389,504 bytes) and one block, against WebGPU's default 128 MiB (134,217,728-byte)
// binding; the memory plan alone lets every method through at 1 × 32 tokens.
import { describe, expect, it } from 'vitest'
import { WEBGPU_DEFAULT_LIMITS, type BindingLimits } from '../engine/hf/bindingLimits'
import { HfModelHost } from './hfModelHost'

const CONFIG = JSON.stringify({ model_type: 'gpt2', vocab_size: 50257, n_positions: 1024, n_embd: 768, n_layer: 1, n_head: 12, n_inner: null, activation_function: 'gelu_new', layer_norm_epsilon: 1e-5 })

function host(limits: BindingLimits | null): HfModelHost {
  const fetchFn = async (url: string, init?: { method?: string }) => {
    const file = decodeURIComponent(url.slice(url.indexOf('/resolve/main/') + '/resolve/main/'.length))
    const sizes: Record<string, number> = { 'config.json': CONFIG.length, 'model.safetensors': 188_000_000, 'tokenizer.json': 1_356_917 }
    if (!(file in sizes)) return new Response('Entry not found', { status: 404, headers: { 'x-error-code': 'EntryNotFound' } })
    if (init?.method === 'HEAD') return new Response(null, { status: 200, headers: { 'x-linked-size': String(sizes[file]) } })
    return new Response(file === 'config.json' ? CONFIG : 'x', { status: 200 })
  }
  return new HfModelHost(() => {}, { fetchFn, cache: null, hold: () => {}, loaded: () => null, adopt: () => {}, ensureBackend: async () => {}, bindingLimits: () => limits })
}

const ref = { repo: 'someone/gpt2-one-block', revision: 'main' }

describe('the probe’s per-method list keeps to the device’s binding limit', () => {
  it('off WebGPU every method fits at 1 × 32 tokens', async () => {
    const p = await host(null).probe(ref, 1, 32)
    expect(p.plans.map((m) => [m.method, m.fits, m.refusal])).toEqual([
      ['head', true, null],
      ['lora', true, null],
      ['freeze', true, null],
      ['full', true, null],
    ])
  })

  it('on a 128 MiB binding full fine-tuning is not listed as fitting (the split embedding stays frozen), with the plan’s reason', async () => {
    const p = await host(WEBGPU_DEFAULT_LIMITS).probe(ref, 1, 32)
    expect(p.plans.map((m) => [m.method, m.fits])).toEqual([
      ['head', true],
      ['lora', true],
      ['freeze', true],
      ['full', false],
    ])
    expect(p.plans.find((m) => m.method === 'full')!.refusal).toBe("The token embedding (154 MB) is over this GPU's 134 MB storage-buffer limit, so full fine-tuning cannot train it here. Use LoRA, or train the last blocks only (freeze), which keep the embedding frozen.")
  })

  it('a batch whose logits are over one binding is refused for every method: 1 × 1,024 tokens of 50,257 logits, at most 667', async () => {
    // 1,024 × 50,257 × 4 = 205,852,672 bytes > 134,217,728; floor(134,217,728 / 201,028) = 667
    const p = await host(WEBGPU_DEFAULT_LIMITS).probe(ref, 1, 1024)
    for (const m of p.plans.filter((x) => x.method !== 'full')) {
      expect(m.fits).toBe(false)
      expect(m.refusal).toBe("The logits of 1024 tokens a batch (206 MB) are over this GPU's 134 MB storage-buffer limit. Use at most 667 tokens a batch (batch size × sequence length).")
    }
  })
})
