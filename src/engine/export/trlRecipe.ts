import type { Settings } from '../../settings/types'

/**
 * "Graduate a run to a cluster": the same run as a recipe for Hugging Face TRL — a Python
 * script (SFTTrainer, DPOTrainer, or transformers' Trainer for classification) with PEFT's
 * LoraConfig, the data file in the format that trainer reads, and the `accelerate launch`
 * command for several GPUs. Every studio setting is mapped one to one where TRL /
 * transformers has the same knob; where it has none the script says so in a comment.
 * SETTING_MAP is keyed by every setting, so a new setting without a mapping does not compile,
 * and its test checks that the script carries each one.
 */

export type RecipeTask = 'sft' | 'dpo' | 'classification'

export interface RecipeOptions {
  task: RecipeTask
  settings: Settings
  /** The Hugging Face model id or path to start from. */
  model: string
  /** DPO: beta, and the weight of the SFT term on the chosen answers (TRL's rpo_alpha). */
  beta?: number
  sftWeight?: number
  /** SFT: pack short rows into full sequences. */
  packing?: boolean
  /** SFT: the data rows are chat conversations (messages) rather than prompt/completion. */
  chat?: boolean
  /** Classification: the class names, in label-id order. */
  classes?: string[]
  /** GPUs for the accelerate command. */
  gpus?: number
  /** Data file name the script reads. */
  dataFile?: string
  /** A separate validation file (otherwise valSplit holds rows out). */
  validationFile?: string
}

/** One setting in the recipe: a Python keyword argument (or statement) that carries it, or a
 *  comment saying why it has no equivalent or is not used with these settings. */
export type SettingMapping =
  | { kind: 'arg'; code: string; note?: string }
  | { kind: 'code'; code: string; note: string } // a statement outside the config objects
  | { kind: 'none'; note: string }

type Ctx = RecipeOptions & { s: Settings }
const py = (v: unknown): string => (typeof v === 'boolean' ? (v ? 'True' : 'False') : typeof v === 'number' ? String(v) : JSON.stringify(v))

/** The studio's LoRA targets → module names of Llama/Qwen/Mistral-style models (GPT-2 names in the script's comment). */
export const TARGET_MODULES: Record<string, string[]> = {
  qkv: ['q_proj', 'k_proj', 'v_proj'],
  proj: ['o_proj'],
  fc: ['gate_proj', 'up_proj'],
  out: ['down_proj'],
}

const usesLora = (s: Settings) => s.method === 'lora' || s.method === 'adapter'

/** Every setting → its place in the recipe. Keyed by Settings, so none can be missing. */
export const SETTING_MAP: { [K in keyof Settings]: (c: Ctx) => SettingMapping } = {
  method: ({ s }) => {
    switch (s.method) {
      case 'lora':
        return { kind: 'arg', code: 'peft_config=peft_config', note: 'LoRA: PEFT LoraConfig; with DPO the reference is the same model with the adapter disabled, as in the studio' }
      case 'full':
        return { kind: 'none', note: 'full fine-tune: no peft_config, every weight trains (the default)' }
      case 'head':
        return { kind: 'code', code: 'freeze_all_but_head(model)', note: 'head only: every base weight frozen, only the task head (score / lm_head) trains' }
      case 'freeze':
      case 'custom':
        return { kind: 'code', code: 'freeze_layers(model, FROZEN)', note: 'frozen blocks: requires_grad=False on them before training' }
      case 'adapter':
        return { kind: 'arg', code: 'peft_config=peft_config', note: 'no equivalent: PEFT has no bottleneck adapters; the nearest, LoRA with r = the adapter size, is used' }
    }
  },
  freezeFirst: ({ s }) => (s.method === 'freeze' ? { kind: 'code', code: `FROZEN = ["embeddings", *range(${s.freezeFirst})]`, note: `the first ${s.freezeFirst} blocks and the embeddings frozen` } : { kind: 'none', note: 'not used by this method' }),
  frozenBlocks: ({ s }) => (s.method === 'custom' ? { kind: 'code', code: `FROZEN = ${frozenList(s.frozenBlocks)}`, note: `the chosen units "${s.frozenBlocks}"` } : { kind: 'none', note: 'not used by this method' }),
  unfreezeEvery: ({ s }) => ({ kind: 'none', note: s.unfreezeEvery > 0 ? `no equivalent: gradual unfreezing (one more block every ${s.unfreezeEvery} epochs) needs a TrainerCallback that sets requires_grad; not generated` : 'no equivalent (off here)' }),
  headFirstEpochs: ({ s }) => ({ kind: 'none', note: s.headFirstEpochs > 0 ? `no equivalent: head-first training (${s.headFirstEpochs} epochs head only) is two runs in TRL: run this script with method head, then again` : 'no equivalent (off here)' }),
  loraRank: ({ s }) => (usesLora(s) ? { kind: 'arg', code: `r=${s.method === 'adapter' ? s.adapterSize : s.loraRank}` } : { kind: 'none', note: 'not used by this method' }),
  loraAlpha: ({ s }) => (usesLora(s) ? { kind: 'arg', code: `lora_alpha=${py(s.loraAlpha)}` } : { kind: 'none', note: 'not used by this method' }),
  loraDropout: ({ s }) => (usesLora(s) ? { kind: 'arg', code: `lora_dropout=${py(s.loraDropout)}` } : { kind: 'none', note: 'not used by this method' }),
  loraTargets: ({ s }) =>
    usesLora(s)
      ? { kind: 'arg', code: `target_modules=${py(s.loraTargets.split(',').flatMap((t) => TARGET_MODULES[t.trim()] ?? []))}`, note: `studio targets ${s.loraTargets}; names are Llama/Qwen/Mistral's (GPT-2: qkv → c_attn, proj → c_proj, fc → c_fc, out → c_proj)` }
      : { kind: 'none', note: 'not used by this method' },
  adapterSize: ({ s }) => (s.method === 'adapter' ? { kind: 'none', note: `no equivalent: the adapter size ${s.adapterSize} becomes LoRA's r` } : { kind: 'none', note: 'not used by this method' }),
  pooling: ({ s }) => ({ kind: 'none', note: s.pooling === 'mean' ? 'no equivalent: AutoModelForSequenceClassification reads [CLS] (or the last token); a mean-pooled head needs sentence-transformers or a custom model' : '[CLS] / the last token, as AutoModelForSequenceClassification reads it (the default)' }),
  learningRate: ({ s }) => ({ kind: 'arg', code: `learning_rate=${py(s.learningRate)}` }),
  batchSize: ({ s }) => ({ kind: 'arg', code: `per_device_train_batch_size=${s.batchSize}`, note: 'per GPU: the global batch is this × GPUs × accumulation; divide by the GPU count to keep the studio\'s batch' }),
  epochs: ({ s }) => ({ kind: 'arg', code: `num_train_epochs=${s.epochs}` }),
  optimizer: ({ s }) => ({ kind: 'arg', code: `optim=${py(s.optimizer === 'sgd' ? 'sgd' : 'adamw_torch')}`, note: s.optimizer === 'adam' ? 'Adam = AdamW with weight_decay 0' : undefined }),
  momentum: ({ s }) => (s.optimizer === 'sgd' ? { kind: 'arg', code: `optim_args=${py(`momentum=${s.momentum}`)}` } : { kind: 'none', note: 'not used by this optimizer' }),
  clipNorm: ({ s }) => ({ kind: 'arg', code: `max_grad_norm=${py(s.clipNorm)}`, note: s.clipNorm === 0 ? '0 = no clipping, as in the studio' : undefined }),
  accumSteps: ({ s }) => ({ kind: 'arg', code: `gradient_accumulation_steps=${s.accumSteps}` }),
  recompute: ({ s }) => (s.recompute ? { kind: 'arg', code: 'gradient_checkpointing=True' } : { kind: 'none', note: 'off: activations kept, as in the studio' }),
  schedule: ({ s }) => {
    if (s.schedule === 'step') return { kind: 'arg', code: 'lr_scheduler_type="constant_with_warmup"', note: 'no equivalent: transformers has no step decay; constant used (see stepEvery, stepGamma)' }
    if (s.schedule === 'constant' && s.plateauPatience > 0) return { kind: 'arg', code: 'lr_scheduler_type="reduce_lr_on_plateau"' }
    return { kind: 'arg', code: `lr_scheduler_type=${py(s.schedule === 'constant' ? 'constant_with_warmup' : s.schedule)}` }
  },
  warmupSteps: ({ s }) => ({ kind: 'arg', code: `warmup_steps=${s.warmupSteps}` }),
  stepEvery: ({ s }) => ({ kind: 'none', note: s.schedule === 'step' ? `no equivalent: step decay every ${s.stepEvery} epochs` : 'not used by this schedule' }),
  stepGamma: ({ s }) => ({ kind: 'none', note: s.schedule === 'step' ? `no equivalent: step decay factor ${s.stepGamma}` : 'not used by this schedule' }),
  plateauPatience: ({ s }) =>
    s.plateauPatience > 0 && s.schedule === 'constant'
      ? { kind: 'arg', code: `lr_scheduler_kwargs={"patience": ${s.plateauPatience}, "factor": 0.5}`, note: 'halves the LR after this many evaluations without improvement, as in the studio' }
      : { kind: 'none', note: s.plateauPatience > 0 ? 'no equivalent with a decaying schedule: transformers uses one scheduler' : 'off here' },
  weightDecay: ({ s }) => ({ kind: 'arg', code: `weight_decay=${py(s.optimizer === 'adam' ? 0 : s.weightDecay)}`, note: 'transformers exempts biases and norm weights, as the studio does' }),
  dropout: ({ s }) => ({ kind: 'code', code: `DROPOUT = ${py(s.dropout)}`, note: 'set on the model config\'s dropout fields (attention_dropout, resid_pdrop, hidden_dropout_prob, … whichever the architecture has)' }),
  labelSmoothing: ({ s }) => (s.labelSmoothing > 0 ? { kind: 'arg', code: `label_smoothing_factor=${py(s.labelSmoothing)}` } : { kind: 'none', note: 'off here (label_smoothing_factor=0)' }),
  taskWeights: ({ s }) => ({ kind: 'none', note: s.taskWeights ? `no equivalent: multitask loss weights "${s.taskWeights}" need a custom compute_loss` : 'no equivalent (one task here)' }),
  augFlip: () => ({ kind: 'none', note: 'no equivalent: image augmentation does not apply to text trainers' }),
  augShift: () => ({ kind: 'none', note: 'no equivalent: image augmentation does not apply to text trainers' }),
  augRotate: () => ({ kind: 'none', note: 'no equivalent: image augmentation does not apply to text trainers' }),
  augColor: () => ({ kind: 'none', note: 'no equivalent: image augmentation does not apply to text trainers' }),
  valSplit: ({ s, validationFile }) =>
    validationFile ? { kind: 'none', note: `not used: the validation file ${validationFile} is given` } : { kind: 'code', code: `VAL_SPLIT = ${py(s.valSplit)}`, note: 'rows held out with train_test_split(test_size=VAL_SPLIT, seed=SEED)' },
  earlyStopPatience: ({ s }) =>
    s.earlyStopPatience > 0 ? { kind: "code", code: `callbacks.append(EarlyStoppingCallback(early_stopping_patience=${s.earlyStopPatience}))`, note: "stops after this many evaluations without improvement of metric_for_best_model" } : { kind: 'none', note: 'off here' },
  monitor: ({ s, task }) => ({ kind: 'arg', code: `metric_for_best_model=${py(monitorMetric(s, task))}`, note: task === 'sft' && s.monitor === 'val_acc' ? 'SFT reports no accuracy: eval_loss used' : undefined }),
  restoreBest: ({ s }) => ({ kind: 'arg', code: `load_best_model_at_end=${py(s.restoreBest || s.earlyStopPatience > 0)}` }),
  keepLast: ({ s }) => ({ kind: 'arg', code: `save_total_limit=${s.keepLast}` }),
  keepBest: ({ s }) => ({ kind: 'none', note: s.keepBest ? 'with load_best_model_at_end the Trainer keeps the best checkpoint besides save_total_limit' : 'no equivalent for dropping the best checkpoint' }),
  seed: ({ s }) => ({ kind: 'arg', code: `seed=${s.seed}` }),
  seqLen: ({ s, task }) => (task === 'classification' ? { kind: 'code', code: `MAX_LENGTH = ${s.seqLen}`, note: 'tokenizer truncation length' } : { kind: 'arg', code: `max_length=${s.seqLen}`, note: task === 'sft' ? 'TRL < 0.20 calls it max_seq_length' : undefined }),
  backend: () => ({ kind: 'none', note: 'no equivalent: the GPUs and precision are accelerate\'s choice (see the launch command)' }),
}

function monitorMetric(s: Settings, task: RecipeTask): string {
  if (s.monitor === 'val_loss' || task === 'sft') return 'eval_loss'
  return task === 'dpo' ? 'eval_rewards/accuracies' : 'eval_accuracy'
}

/** "emb,0-1,norm" → a Python list of frozen units (embeddings, block indices, the final norm). */
function frozenList(spec: string): string {
  const out: string[] = []
  for (const part of spec.split(',').map((p) => p.trim()).filter(Boolean)) {
    if (part === 'emb') out.push('"embeddings"')
    else if (part === 'norm') out.push('"norm"')
    else {
      const m = /^(\d+)(?:-(\d+))?$/.exec(part)
      if (m) for (let i = Number(m[1]); i <= Number(m[2] ?? m[1]); i++) out.push(String(i))
    }
  }
  return `[${out.join(', ')}]`
}

export interface TrlRecipe {
  /** train.py */
  script: string
  /** The accelerate command, for `gpus` GPUs. */
  command: string
  /** Per setting, what the recipe did with it. */
  mapping: Record<keyof Settings, SettingMapping>
}

/** The recipe's Python script, with every setting either in a config or in a comment. */
export function trlRecipe(opts: RecipeOptions): TrlRecipe {
  const ctx: Ctx = { ...opts, s: opts.settings }
  const mapping = Object.fromEntries(Object.entries(SETTING_MAP).map(([k, f]) => [k, (f as (c: Ctx) => SettingMapping)(ctx)])) as Record<keyof Settings, SettingMapping>
  const entries = Object.entries(mapping) as [keyof Settings, SettingMapping][]
  const line = (k: string, m: SettingMapping) => (m.kind === 'none' ? `# ${k}: ${m.note}` : `${m.code}${m.kind === 'arg' ? ',' : ''}  # ${k}${m.note ? `: ${m.note}` : ''}`)
  const loraKeys: (keyof Settings)[] = ['loraRank', 'loraAlpha', 'loraDropout', 'loraTargets']
  const codeKeys = entries.filter(([k, m]) => m.kind === 'code' && k !== 'method').map(([k]) => k)
  const trainerArgKeys = entries.filter(([k, m]) => m.kind === 'arg' && !loraKeys.includes(k) && k !== 'method').map(([k]) => k)
  const noneKeys = entries.filter(([, m]) => m.kind === 'none').map(([k]) => k)
  const s = opts.settings
  const dataFile = opts.dataFile ?? (opts.task === 'classification' ? 'train.jsonl' : `${opts.task}.jsonl`)
  const configClass = opts.task === 'sft' ? 'SFTConfig' : opts.task === 'dpo' ? 'DPOConfig' : 'TrainingArguments'
  const ind = (n: number, text: string) => text.split('\n').map((l) => ' '.repeat(n) + l).join('\n')
  const taskArgs: string[] = []
  if (opts.task === 'sft') {
    taskArgs.push(`packing=${py(opts.packing ?? false)},  # the studio's packing of short rows`)
    taskArgs.push(opts.chat ? 'assistant_only_loss=True,  # loss on assistant turns only, as in the studio (needs a chat template with {% generation %} markers)' : 'completion_only_loss=True,  # loss on the completion only, as in the studio')
  }
  if (opts.task === 'dpo') {
    taskArgs.push(`beta=${py(opts.beta ?? 0.1)},  # DPO beta`)
    taskArgs.push(`rpo_alpha=${opts.sftWeight ? py(opts.sftWeight) : 'None'},  # weight of the SFT term on the chosen answers (None = off)`)
  }
  const methodLine = line('method', mapping.method)
  const script = `# Fine-tuning recipe exported by the Fine-tuning Studio: the same run for Hugging Face TRL.
# Data: ${dataFile}${opts.validationFile ? `, validation: ${opts.validationFile}` : ''} (${dataFormat(opts)}).
# Run on several GPUs with:
#   ${launchCommand(opts.gpus ?? 2)}
# Needs: pip install "trl>=0.20" peft transformers datasets accelerate
import torch
from datasets import load_dataset
from peft import LoraConfig
from transformers import AutoModelForCausalLM, AutoModelForSequenceClassification, AutoTokenizer, EarlyStoppingCallback${opts.task === 'classification' ? ', Trainer, TrainingArguments, DataCollatorWithPadding' : ''}
${opts.task === 'sft' ? 'from trl import SFTConfig, SFTTrainer' : opts.task === 'dpo' ? 'from trl import DPOConfig, DPOTrainer' : ''}

MODEL = ${py(opts.model)}
SEED = ${s.seed}
callbacks = []
${codeKeys.map((k) => line(k, mapping[k])).join('\n')}

# Settings with no TRL/transformers equivalent, or not used with these settings:
${noneKeys.map((k) => line(k, mapping[k])).join('\n')}

tokenizer = AutoTokenizer.from_pretrained(MODEL)
if tokenizer.pad_token is None:
    tokenizer.pad_token = tokenizer.eos_token
${
  opts.task === 'classification'
    ? `CLASSES = ${py(opts.classes ?? [])}
model = AutoModelForSequenceClassification.from_pretrained(MODEL, num_labels=len(CLASSES), id2label=dict(enumerate(CLASSES)), label2id={c: i for i, c in enumerate(CLASSES)})
model.config.pad_token_id = tokenizer.pad_token_id`
    : 'model = AutoModelForCausalLM.from_pretrained(MODEL)'
}
for name in ("attention_dropout", "hidden_dropout", "resid_pdrop", "embd_pdrop", "attn_pdrop", "hidden_dropout_prob", "attention_probs_dropout_prob"):
    if hasattr(model.config, name):
        setattr(model.config, name, DROPOUT)


def blocks(model):
    base = getattr(model, model.base_model_prefix, model)
    for attr in ("layers", "h", "layer", "blocks"):
        for holder in (base, getattr(base, "encoder", None), getattr(base, "decoder", None)):
            if holder is not None and hasattr(holder, attr):
                return getattr(holder, attr)
    raise ValueError("cannot find the transformer blocks of this model")


def freeze_layers(model, units):
    for u in units:
        if u == "embeddings":
            model.get_input_embeddings().requires_grad_(False)
        elif u == "norm":
            base = getattr(model, model.base_model_prefix, model)
            for n in ("norm", "ln_f", "final_layer_norm"):
                if hasattr(base, n):
                    getattr(base, n).requires_grad_(False)
        else:
            blocks(model)[u].requires_grad_(False)


def freeze_all_but_head(model):
    for p in getattr(model, model.base_model_prefix, model).parameters():
        p.requires_grad_(False)


${mapping.method.kind === 'code' ? line('method', mapping.method) : ''}
${
  usesLora(s)
    ? `peft_config = LoraConfig(
${ind(4, loraKeys.map((k) => line(k, mapping[k])).join('\n'))}
    task_type=${py(opts.task === 'classification' ? 'SEQ_CLS' : 'CAUSAL_LM')},
)`
    : 'peft_config = None'
}
${mapping.method.kind === 'arg' && opts.task === 'classification' ? `from peft import get_peft_model\nmodel = get_peft_model(model, peft_config)  # method: ${mapping.method.note}\n` : ''}
files = {"train": ${py(dataFile)}${opts.validationFile ? `, "validation": ${py(opts.validationFile)}` : ''}}
data = load_dataset("json", data_files=files)
${opts.validationFile ? 'train, validation = data["train"], data["validation"]' : 'split = data["train"].train_test_split(test_size=VAL_SPLIT, seed=SEED)\ntrain, validation = split["train"], split["test"]'}
${
  opts.task === 'classification'
    ? `train = train.map(lambda b: tokenizer(b["text"], truncation=True, max_length=MAX_LENGTH), batched=True)
validation = validation.map(lambda b: tokenizer(b["text"], truncation=True, max_length=MAX_LENGTH), batched=True)
`
    : ''
}
args = ${configClass}(
    output_dir="out",
    eval_strategy="epoch",
    save_strategy="epoch",
    logging_steps=10,
${ind(4, trainerArgKeys.map((k) => line(k, mapping[k])).join('\n'))}
${ind(4, taskArgs.join('\n'))}
)

trainer = ${opts.task === 'sft' ? 'SFTTrainer' : opts.task === 'dpo' ? 'DPOTrainer' : 'Trainer'}(
    model=model,
    args=args,
    train_dataset=train,
    eval_dataset=validation,
    ${opts.task === 'classification' ? 'processing_class=tokenizer,\n    data_collator=DataCollatorWithPadding(tokenizer),\n    compute_metrics=lambda p: {"accuracy": float((p.predictions.argmax(-1) == p.label_ids).mean())},' : 'processing_class=tokenizer,'}
${mapping.method.kind === 'arg' && opts.task !== 'classification' ? `    ${methodLine}\n` : ''}    callbacks=callbacks,
)
trainer.train()
trainer.save_model("out/final")
`
  return { script, command: launchCommand(opts.gpus ?? 2), mapping }
}

function dataFormat(o: RecipeOptions): string {
  if (o.task === 'sft') return o.chat ? 'JSON Lines of {"messages": [...]}' : 'JSON Lines of {"prompt", "completion"}'
  if (o.task === 'dpo') return 'JSON Lines of {"prompt", "chosen", "rejected"}'
  return 'JSON Lines of {"text", "label"} with label the class index'
}

export function launchCommand(gpus: number): string {
  return `accelerate launch --multi_gpu --num_processes ${gpus} train.py`
}

/** The data file in the format the trainer reads: JSON Lines, one row per line. */
export function trlDataFile(task: RecipeTask, rows: readonly Record<string, unknown>[], classes?: readonly string[]): string {
  const want = task === 'sft' ? null : task === 'dpo' ? ['prompt', 'chosen', 'rejected'] : ['text', 'label']
  return (
    rows
      .map((r, i) => {
        if (task === 'sft') {
          if ('messages' in r) return JSON.stringify({ messages: r.messages })
          return JSON.stringify({ prompt: r.prompt, completion: r.completion })
        }
        const o: Record<string, unknown> = {}
        for (const k of want!) {
          if (!(k in r)) throw new Error(`Row ${i + 1} has no "${k}" for the ${task} data file`)
          o[k] = r[k]
        }
        if (task === 'classification' && typeof o.label === 'string') {
          const id = classes?.indexOf(o.label) ?? -1
          if (id < 0) throw new Error(`Row ${i + 1}: the label "${o.label}" is not one of the classes`)
          o.label = id
        }
        return JSON.stringify(o)
      })
      .join('\n') + '\n'
  )
}
