import { describe, expect, it } from 'vitest'
import { parseHfConfig } from './config'
import { memoryPlan, settingsThatFit } from './memoryPlan'

// GPT-2 124M: n_embd 768, 12 layers, 12 heads, MLP 3072, vocabulary 50257, 1024 positions.
const GPT2 = parseHfConfig({ model_type: 'gpt2', n_embd: 768, n_layer: 12, n_head: 12, n_positions: 1024, vocab_size: 50257 })
// Measured tape coefficients (memoryPlan.ts header): per block and token 116·h + 30·ff + 12.4·a·s,
// per block h², per token 20·h + (language modelling) 15·V, full fine-tuning 3.7·V·h, full and
// freeze 1.2 × the trained blocks' weights; AdamW's update scratch 6 × the largest trainable tensor.
// GPT-2 124M's 12 blocks hold 124,439,808 − wte 38,597,376 − wpe 786,432 − ln_f 1,536 = 85,054,464
// weights: × 1.2 = 102,065,356.8 floats.
const close = (got: number, want: number) => expect(Math.abs(got - want)).toBeLessThan(1e-6 * want)

describe('memory plan on GPT-2 124M shapes (expected values by hand)', () => {
  it('full fine-tuning with AdamW, language modelling, batch 8 × 256 tokens: the backward phase sets the peak', () => {
    const p = memoryPlan(GPT2, { method: 'full', task: 'lm', batch: 8, seq: 256 })
    expect(p.params).toBe(124_439_808)
    expect(p.weightsBytes).toBe(497_759_232) // × 4 bytes
    expect(p.gradBytes).toBe(497_759_232)
    expect(p.optimizerBytes).toBe(995_518_464) // two moments
    // per block per token 116·768 + 30·3072 + 12.4·12·256 = 89,088 + 92,160 + 38,092.8 = 219,340.8
    // 12 blocks · (219,340.8 · 2,048 tokens + 768²) = 5,397,597,388.8; embeddings 20·768·2,048 = 31,457,280;
    // logits 15·50,257·2,048 = 1,543,895,040; embedding gradients 3.7·50,257·768 = 142,810,291.2 → 7,115,760,000,
    // + the blocks' weight copies 102,065,356.8 = 7,217,825,356.8 floats
    close(p.activationBytes, 7_217_825_356.8 * 4)
    // AdamW's scratch for the largest variable, the 50,257 × 768 embedding: 6 · 38,597,376 · 4
    expect(p.updateScratchBytes).toBe(926_337_024)
    expect(p.peakPhase).toBe('backward')
    close(p.totalBytes, 497_759_232 + 995_518_464 + 28_871_301_427.2 + 497_759_232) // 30.86 GB
    // the logits of 2,048 tokens are the largest tensor: 50,257 · 2,048 · 4 bytes
    expect([p.largestTensor, p.largestTensorBytes]).toEqual(['logits', 411_705_344])
  })

  it('recomputing blocks keeps one block’s tape and the other 11 blocks’ inputs: 8.8 GB of activations instead of 28.9 GB', () => {
    const p = memoryPlan(GPT2, { method: 'full', task: 'lm', batch: 8, seq: 256, recompute: true })
    // one block (219,340.8 · 2,048 + 768²) = 449,799,782.4; 11 inputs 11 · 768 · 2,048 = 17,301,504; embeddings 31,457,280;
    // logits 1,543,895,040; embedding gradients 142,810,291.2; one block's weight copies 102,065,356.8 / 12 = 8,505,446.4
    close(p.activationBytes, 2_193_769_344 * 4)
    close(p.totalBytes, 497_759_232 + 995_518_464 + 2_193_769_344 * 4 + 497_759_232)
    // the same weights, gradients and moments as without
    expect([p.weightsBytes, p.gradBytes, p.optimizerBytes]).toEqual([497_759_232, 497_759_232, 995_518_464])
  })

  it('one sequence of 31 tokens, full fine-tuning: 3.37 GB, under WebAssembly’s 4 GB heap', () => {
    const p = memoryPlan(GPT2, { method: 'full', task: 'lm', batch: 1, seq: 31 })
    // backward: 12·((89,088 + 92,160 + 12.4·12·31) · 31 + 768²) + 20·768·31 + 15·50,257·31 + 3.7·50,257·768
    //         = 12·(185,860.8·31 + 589,824) = 12·(5,761,684.8 + 589,824) = 76,218,105.6, + 476,160 + 23,369,505 + 142,810,291.2
    //         = 242,874,061.8 floats, + the blocks' copies 102,065,356.8 = 344,939,418.6 floats → 1,379,757,674.4 bytes
    close(p.activationBytes, 344_939_418.6 * 4)
    // backward 1,379,757,674.4 + grads 497,759,232 is more than the update's 497,759,232 + 926,337,024
    expect(p.peakPhase).toBe('backward')
    close(p.totalBytes, 497_759_232 + 995_518_464 + 497_759_232 + 1_379_757_674.4)
    expect(p.totalBytes).toBeLessThan(4 * 1024 ** 3)
  })

  it('the embedding matrix alone is beyond WebGPU’s default 128 MiB binding', () => {
    const p = memoryPlan(GPT2, { method: 'lora', task: 'classify', batch: 1, seq: 128 })
    expect([p.largestTensor, p.largestTensorBytes]).toEqual(['wte.weight', 154_389_504]) // 50,257 · 768 · 4
    expect(p.largestTensorBytes).toBeGreaterThan(128 * 1024 * 1024)
  })

  it('LoRA rank 8: PEFT’s own count on c_attn only (294,912), and on every projection; the bench’s 1 × 31 tokens', () => {
    expect(memoryPlan(GPT2, { method: 'lora', task: 'lm', batch: 1, seq: 64, loraRank: 8, loraTargets: ['c_attn'] }).trainable).toBe(294_912) // 12 · 8 · (768 + 2304)
    const p = memoryPlan(GPT2, { method: 'lora', task: 'lm', batch: 1, seq: 31, loraRank: 8 })
    // per block: c_attn 8·(768+2304) + attn.c_proj 8·(768+768) + c_fc 8·(768+3072) + mlp.c_proj 8·(3072+768) = 98,304
    expect(p.trainable).toBe(1_179_648)
    expect(p.weightsBytes).toBe((124_439_808 + 1_179_648) * 4)
    expect(p.gradBytes).toBe(4_718_592)
    expect(p.optimizerBytes).toBe(9_437_184)
    // as full fine-tuning's backward without the embedding gradients: 242,874,061.8 − 142,810,291.2 = 100,063,770.6 floats
    close(p.activationBytes, 100_063_770.6 * 4)
    expect(p.updateScratchBytes).toBe(6 * 8 * 3072 * 4) // the largest factor: c_fc's B or mlp.c_proj's A, 8 × 3072
    expect(p.peakPhase).toBe('backward')
    close(p.totalBytes, 502_477_824 + 9_437_184 + 4_718_592 + 400_255_082.4) // 916.9 MB; the bench measured the peak beside it
  })

  it('freezing the first 10 blocks trains 2 blocks and the final norm, and keeps only their activations', () => {
    const p = memoryPlan(GPT2, { method: 'freeze', frozenBlocks: 10, task: 'lm', batch: 8, seq: 256 })
    // one block: (124,439,808 − wte 38,597,376 − wpe 786,432 − ln_f 1,536) / 12 = 7,087,872
    expect(p.trainable).toBe(2 * 7_087_872 + 1_536)
    // 2·(219,340.8·2,048 + 768²) + 20·768·2,048 + 15·50,257·2,048 + 1.2·2·7,087,872
    close(p.activationBytes, (899_599_564.8 + 31_457_280 + 1_543_895_040 + 17_010_892.8) * 4)
    expect(p.updateScratchBytes).toBe(6 * 768 * 3072 * 4) // c_fc's kernel
  })

  it('a classification head on cached features trains 2·768 + 2 weights and keeps no block activations; SGD keeps no moments', () => {
    const p = memoryPlan(GPT2, { method: 'head', task: 'classify', labels: 2, batch: 32, seq: 128, optimizer: 'sgd' })
    expect(p.trainable).toBe(1_538)
    expect(p.activationBytes).toBe(10 * 32 * (768 + 2) * 4) // pooled features and logits
    expect(p.optimizerBytes).toBe(0)
    expect(p.updateScratchBytes).toBe(6 * 1_536 * 4)
    expect(p.totalBytes).toBe((124_439_808 + 1_538) * 4 + 985_600 + 1_538 * 4)
  })

  it('a run that does not fit gets the settings that would, each priced', () => {
    const input = { method: 'full', task: 'lm', batch: 4, seq: 128 } as const
    // full 4 × 128: per block per token 89,088 + 92,160 + 12.4·12·128 = 200,294.4;
    // 12·(200,294.4·512 + 768²) + 20·768·512 + 15·50,257·512 + 142,810,291.2 = 1,774,335,052.8 floats, + 102,065,356.8
    close(memoryPlan(GPT2, input).totalBytes, 1_991_036_928 + (1_774_335_052.8 + 102_065_356.8) * 4) // 9.50 GB
    const fits = settingsThatFit(GPT2, input, 8e9)
    expect(fits.map((f) => f.change)).toEqual(['turn on Recompute activations', 'use LoRA (rank 8)', 'batch size 2', 'sequence length 64'])
    // recomputing: one block's tape (200,294.4·512 + 768² = 103,140,556.8), the 11 others' inputs 11·768·512 = 4,325,376,
    // 7,864,320 + 385,973,760 + 142,810,291.2, and one block's weight copies 102,065,356.8 / 12 = 8,505,446.4 → 652,619,750.4
    close(fits[0]!.totalBytes, 1_991_036_928 + 652_619_750.4 * 4) // 4.60 GB
    // LoRA: 502,477,824 + 9,437,184 + 4,718,592 + (1,774,335,052.8 − 142,810,291.2)·4
    close(fits[1]!.totalBytes, 516_633_600 + 1_631_524_761.6 * 4)
    // batch 2: 12·(200,294.4·256 + 768²) + 20·768·256 + 15·50,257·256 + 142,810,291.2 = 962,111,616 floats, + 102,065,356.8
    close(fits[2]!.totalBytes, 1_991_036_928 + (962_111_616 + 102_065_356.8) * 4)
    // sequence 64: 12·((89,088 + 92,160 + 12.4·12·64)·256 + 768²) + 3,932,160 + 192,986,880 + 142,810,291.2 = 932,856,345.6, + 102,065,356.8
    close(fits[3]!.totalBytes, 1_991_036_928 + (932_856_345.6 + 102_065_356.8) * 4)
    // 6 GB: LoRA at batch 4 (7.04 GB) does not fit, so LoRA with a smaller batch is offered too; full needs batch 1 (4.62 GB) or 32 tokens (4.54 GB)
    const six = settingsThatFit(GPT2, input, 6e9)
    expect(six.map((f) => f.change)).toEqual(['turn on Recompute activations', 'batch size 1', 'sequence length 32', 'use LoRA (rank 8) with batch size 2'])
    close(six[0]!.totalBytes, 1_991_036_928 + 652_619_750.4 * 4) // as above: 4.60 GB
    // batch 1: 12·(200,294.4·128 + 768²) + 20·768·128 + 15·50,257·128 + 142,810,291.2 + 102,065,356.8 = 658,065,254.4 floats
    close(six[1]!.totalBytes, 1_991_036_928 + 658_065_254.4 * 4)
    // sequence 32 at batch 4: 12·((89,088 + 92,160 + 12.4·12·32)·128 + 768²) + 1,966,080 + 96,493,440 + 142,810,291.2 + 102,065,356.8 = 636,123,801.6
    close(six[2]!.totalBytes, 1_991_036_928 + 636_123_801.6 * 4)
    // LoRA, batch 2: 502,477,824 + 9,437,184 + 4,718,592 + (962,111,616 − 142,810,291.2)·4
    close(six[3]!.totalBytes, 516_633_600 + 819_301_324.8 * 4)
    expect(settingsThatFit(GPT2, input, 1e9)).toEqual([]) // nothing close fits in 1 GB: weights alone are 0.5 GB
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
    // per layer per token 116·576 + 30·1536 + 12.4·9·8 = 66,816 + 46,080 + 892.8 = 113,788.8;
    // 30·(113,788.8·8 + 576²) + 20·576·8 + 15·49,152·8 = 37,262,592 + 92,160 + 5,898,240
    close(p.activationBytes, 43_252_992 * 4)
  })
})
