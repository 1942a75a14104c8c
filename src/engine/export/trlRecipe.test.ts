import { execFileSync } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { DEFAULTS, SCHEMA } from '../../settings/schema'
import type { Settings } from '../../settings/types'
import { SETTING_MAP, trlDataFile, trlRecipe, type RecipeOptions } from './trlRecipe'

const loraRun: Settings = {
  ...DEFAULTS,
  method: 'lora',
  loraRank: 8,
  loraAlpha: 16,
  loraDropout: 0.05,
  loraTargets: 'qkv,out',
  learningRate: 0.0003,
  batchSize: 12,
  epochs: 3,
  optimizer: 'adamw',
  weightDecay: 0.02,
  schedule: 'cosine',
  warmupSteps: 25,
  clipNorm: 1.5,
  accumSteps: 4,
  recompute: true,
  dropout: 0.15,
  labelSmoothing: 0.1,
  earlyStopPatience: 2,
  monitor: 'val_acc',
  restoreBest: true,
  keepLast: 3,
  seed: 1234,
  seqLen: 96,
  valSplit: 0.2,
}

const variants: [string, RecipeOptions][] = [
  ['SFT with LoRA', { task: 'sft', settings: loraRun, model: 'Qwen/Qwen2.5-0.5B', packing: true }],
  ['DPO with LoRA', { task: 'dpo', settings: loraRun, model: 'Qwen/Qwen2.5-0.5B', beta: 0.2, sftWeight: 0.5 }],
  ['classification, custom frozen blocks, SGD, step schedule', { task: 'classification', settings: { ...DEFAULTS, method: 'custom', frozenBlocks: 'emb,0-1', optimizer: 'sgd', momentum: 0.8, schedule: 'step', unfreezeEvery: 1, taskWeights: '1,0.5' }, model: 'distilbert-base-uncased', classes: ['ham', 'spam'] }],
  ['defaults (freeze early blocks), SFT chat, plateau', { task: 'sft', settings: { ...DEFAULTS, schedule: 'constant', plateauPatience: 2 }, model: 'gpt2', chat: true, validationFile: 'val.jsonl' }],
]

describe('TRL recipe export', () => {
  it('every setting of the schema has a mapping (a new setting without one fails here)', () => {
    for (const spec of SCHEMA) expect(SETTING_MAP[spec.key], `setting ${spec.key} has no TRL mapping or "no equivalent"`).toBeTypeOf('function')
    expect(Object.keys(SETTING_MAP).sort()).toEqual(SCHEMA.map((s) => s.key).sort())
  })

  for (const [name, opts] of variants) {
    it(`${name}: each setting appears once, as a Python argument/statement or as a comment saying why not`, () => {
      const { script, mapping } = trlRecipe(opts)
      for (const spec of SCHEMA) {
        const m = mapping[spec.key]
        const tagged = script.split('\n').filter((l) => l.includes(`# ${spec.key}`) && new RegExp(`# ${spec.key}(:|$)`).test(l))
        expect(tagged.length, `${spec.key} should be on exactly one line of the script`).toBe(1)
        if (m.kind === 'none') expect(tagged[0]!.trim()).toBe(`# ${spec.key}: ${m.note}`)
        else expect(tagged[0]).toContain(m.code)
      }
    })
  }

  it('maps the studio\'s values one to one onto TrainingArguments / LoraConfig names', () => {
    const { script, command } = trlRecipe({ ...variants[0]![1], gpus: 4 })
    for (const expected of [
      'learning_rate=0.0003,',
      'per_device_train_batch_size=12,',
      'num_train_epochs=3,',
      'optim="adamw_torch",',
      'weight_decay=0.02,',
      'lr_scheduler_type="cosine",',
      'warmup_steps=25,',
      'max_grad_norm=1.5,',
      'gradient_accumulation_steps=4,',
      'gradient_checkpointing=True,',
      'label_smoothing_factor=0.1,',
      'metric_for_best_model="eval_loss",',
      'load_best_model_at_end=True,',
      'save_total_limit=3,',
      'seed=1234,',
      'max_length=96,',
      'r=8,',
      'lora_alpha=16,',
      'lora_dropout=0.05,',
      'target_modules=["q_proj","k_proj","v_proj","down_proj"],',
      'DROPOUT = 0.15',
      'VAL_SPLIT = 0.2',
      'callbacks.append(EarlyStoppingCallback(early_stopping_patience=2))',
      'packing=True,',
      'completion_only_loss=True,',
      'peft_config=peft_config,',
      'SFTTrainer(',
    ]) {
      expect(script).toContain(expected)
    }
    expect(command).toBe('accelerate launch --multi_gpu --num_processes 4 train.py')
    const dpo = trlRecipe(variants[1]![1]).script
    expect(dpo).toContain('beta=0.2,')
    expect(dpo).toContain('rpo_alpha=0.5,')
    expect(dpo).toContain('metric_for_best_model="eval_rewards/accuracies",')
    expect(dpo).toContain('DPOTrainer(')
    const cls = trlRecipe(variants[2]![1]).script
    expect(cls).toContain('FROZEN = ["embeddings", 0, 1]')
    expect(cls).toContain('optim_args="momentum=0.8",')
    expect(cls).toContain('# stepEvery: no equivalent: step decay every')
    expect(cls).toContain('# taskWeights: no equivalent: multitask loss weights "1,0.5" need a custom compute_loss')
    expect(cls).toContain('CLASSES = ["ham","spam"]')
    const plateau = trlRecipe(variants[3]![1]).script
    expect(plateau).toContain('lr_scheduler_type="reduce_lr_on_plateau",')
    expect(plateau).toContain('lr_scheduler_kwargs={"patience": 2, "factor": 0.5},')
    expect(plateau).toContain('# valSplit: not used: the validation file val.jsonl is given')
  })

  it('every variant is valid Python (parsed by python3\'s ast)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'trl-'))
    for (const [i, [, opts]] of variants.entries()) {
      const f = join(dir, `train${i}.py`)
      writeFileSync(f, trlRecipe(opts).script)
      expect(() => execFileSync('python3', ['-c', 'import ast,sys; ast.parse(open(sys.argv[1]).read())', f], { stdio: 'pipe' })).not.toThrow()
    }
  })

  it('writes the data file in the format each trainer reads', () => {
    expect(trlDataFile('sft', [{ prompt: 'Q', completion: ' A', extra: 1 }, { messages: [{ role: 'user', content: 'x' }] }])).toBe('{"prompt":"Q","completion":" A"}\n{"messages":[{"role":"user","content":"x"}]}\n')
    expect(trlDataFile('dpo', [{ prompt: 'Q', chosen: ' a', rejected: ' b' }])).toBe('{"prompt":"Q","chosen":" a","rejected":" b"}\n')
    expect(trlDataFile('classification', [{ text: 'hi', label: 'spam' }], ['ham', 'spam'])).toBe('{"text":"hi","label":1}\n')
    expect(() => trlDataFile('classification', [{ text: 'hi', label: 'junk' }], ['ham', 'spam'])).toThrow('Row 1: the label "junk" is not one of the classes')
  })
})
