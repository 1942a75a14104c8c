import { describe, expect, it } from 'vitest'
import { parseHfConfig } from './config'
import { memoryPlan, settingsThatFit } from './memoryPlan'

// GPT-2 124M: n_embd 768, 12 layers, 12 heads, MLP 3072, vocabulary 50257, 1024 positions.
const GPT2 = parseHfConfig({ model_type: 'gpt2', n_embd: 768, n_layer: 12, n_head: 12, n_positions: 1024, vocab_size: 50257 })

describe('memory plan on GPT-2 124M shapes (expected values by hand)', () => {
  it('full fine-tuning with AdamW, language modelling, batch 8 × 256 tokens', () => {
    const p = memoryPlan(GPT2, { method: 'full', task: 'lm', batch: 8, seq: 256 })
    expect(p.params).toBe(124_439_808)
    expect(p.weightsBytes).toBe(497_759_232) // × 4 bytes
    expect(p.gradBytes).toBe(497_759_232)
    expect(p.optimizerBytes).toBe(995_518_464) // two moments
    // per block per token 8·768 + 2·3072 + 2·12·256 = 18,432 floats; × 12 blocks × 2,048 tokens = 452,984,832
    // + embedding out and final norm 3·768·2,048 = 4,718,592 + logits and their gradient 2·50,257·2,048 = 205,852,672
    expect(p.activationBytes).toBe((452_984_832 + 4_718_592 + 205_852_672) * 4)
    expect(p.activationBytes).toBe(2_654_224_384)
    expect(p.totalBytes).toBe(4_645_261_312)
    // the logits of 2,048 tokens are the largest tensor: 50,257 · 2,048 · 4 bytes
    expect([p.largestTensor, p.largestTensorBytes]).toEqual(['logits', 411_705_344])
  })

  it('the embedding matrix alone is beyond WebGPU’s default 128 MiB binding', () => {
    const p = memoryPlan(GPT2, { method: 'lora', task: 'classify', batch: 1, seq: 128 })
    expect([p.largestTensor, p.largestTensorBytes]).toEqual(['wte.weight', 154_389_504]) // 50,257 · 768 · 4
    expect(p.largestTensorBytes).toBeGreaterThan(128 * 1024 * 1024)
  })

  it('LoRA rank 8: PEFT’s own count on c_attn only (294,912), and on every projection', () => {
    expect(memoryPlan(GPT2, { method: 'lora', task: 'lm', batch: 1, seq: 64, loraRank: 8, loraTargets: ['c_attn'] }).trainable).toBe(294_912) // 12 · 8 · (768 + 2304)
    const p = memoryPlan(GPT2, { method: 'lora', task: 'lm', batch: 8, seq: 256, loraRank: 8 })
    // per block: c_attn 8·(768+2304) + attn.c_proj 8·(768+768) + c_fc 8·(768+3072) + mlp.c_proj 8·(3072+768) = 98,304
    expect(p.trainable).toBe(1_179_648)
    expect(p.weightsBytes).toBe((124_439_808 + 1_179_648) * 4)
    expect(p.gradBytes).toBe(4_718_592)
    expect(p.optimizerBytes).toBe(9_437_184)
    expect(p.activationBytes).toBe(2_654_224_384) // the update sits in every block: all activations kept
    expect(p.totalBytes).toBe(3_170_857_984)
  })

  it('freezing the first 10 blocks trains 2 blocks and the final norm, and keeps only their activations', () => {
    const p = memoryPlan(GPT2, { method: 'freeze', frozenBlocks: 10, task: 'lm', batch: 8, seq: 256 })
    // one block: (124,439,808 − wte 38,597,376 − wpe 786,432 − ln_f 1,536) / 12 = 7,087,872
    expect(p.trainable).toBe(2 * 7_087_872 + 1_536)
    expect(p.activationBytes).toBe((2 * 18_432 * 2_048 + 4_718_592 + 205_852_672) * 4)
  })

  it('a classification head on cached features trains 2·768 + 2 weights and keeps no block activations; SGD keeps no moments', () => {
    const p = memoryPlan(GPT2, { method: 'head', task: 'classify', labels: 2, batch: 32, seq: 128, optimizer: 'sgd' })
    expect(p.trainable).toBe(1_538)
    expect(p.activationBytes).toBe(0)
    expect(p.optimizerBytes).toBe(0)
    expect(p.totalBytes).toBe((124_439_808 + 1_538) * 4 + 1_538 * 4)
  })

  it('a run that does not fit gets the settings that would, each priced', () => {
    const input = { method: 'full', task: 'lm', batch: 8, seq: 256 } as const
    const fits = settingsThatFit(GPT2, input, 4_000_000_000)
    expect(fits.map((f) => [f.change, f.totalBytes])).toEqual([
      ['use LoRA (rank 8)', 3_170_857_984],
      ['batch size 4', 1_991_036_928 + 2_654_224_384 / 2],
      // seq 128: per block per token 6144 + 6144 + 3072 = 15,360 → (12·15,360·1,024 + 3·768·1,024 + 2·50,257·1,024) · 4
      ['sequence length 128', 1_991_036_928 + (188_743_680 + 2_359_296 + 102_926_336) * 4],
    ])
    expect(settingsThatFit(GPT2, input, 1_000_000_000)).toEqual([]) // nothing close fits in 1 GB: weights alone are 0.5 GB
  })
})

describe('memory plan on a Llama shape', () => {
  it('SmolLM2-135M: LoRA rank 8 on the seven projections', () => {
    const smol = parseHfConfig({ model_type: 'llama', hidden_size: 576, intermediate_size: 1536, num_hidden_layers: 30, num_attention_heads: 9, num_key_value_heads: 3, vocab_size: 49152, tie_word_embeddings: true })
    const p = memoryPlan(smol, { method: 'lora', task: 'lm', batch: 1, seq: 8, loraRank: 8 })
    // per layer: q 8·(576+576) + k 8·(576+192) + v 8·(576+192) + o 8·(576+576) + gate, up 8·(576+1536) each + down 8·(1536+576)
    const perLayer = 8 * (1152 + 768 + 768 + 1152 + 3 * 2112)
    expect(p.trainable).toBe(30 * perLayer)
    expect(p.trainable).toBe(2_442_240) // 30 · 81,408
    // activations per token per layer: 4·576 + 3·576 + 2·576 + 2·9·8 + 576 + 4·1536 = 2304 + 1728 + 1152 + 144 + 576 + 6144 = 12,048; × 30 × 8 tokens,
    // + 3·576·8, + logits 2·49,152·8
    expect(p.activationBytes).toBe((30 * 12_048 * 8 + 3 * 576 * 8 + 2 * 49_152 * 8) * 4)
  })
})
