#!/usr/bin/env python3
"""Applies a SEQ_CLS PEFT LoRA adapter (LoRA + a head in modules_to_save) the way PEFT does, and
writes AutoModelForSequenceClassification's logits for given inputs.

    python3 scripts/hf-reference/apply_seqcls_adapter.py <base_dir> <adapter_dir> <in.json> <out.json>

base_dir: the base checkpoint (config.json + model.safetensors, any class's layout: GPT-2 with or
without `transformer.`, BertModel with or without `bert.` and its `pooler.dense`; an LM head is
dropped). adapter_dir: adapter_config.json, adapter_model.safetensors and seq_cls_labels.json
(num_labels, as the user passes it to from_pretrained). in.json: input_ids, attention_mask,
optional token_type_ids and pad_token_id (what the README has the user set for GPT-2 / Llama).

Needs only python3-torch (Debian's): no peft, no transformers. What it does, from PEFT's source
(huggingface/peft):
  1. AutoModelForSequenceClassification.from_pretrained(base, num_labels=n): the body under the
     class's prefix; the head is not in the base (its tensors are marked missing here, where
     transformers would initialise them at random).
  2. PeftModelForSequenceClassification.__init__ (peft_model.py) adds "classifier" and "score"
     to modules_to_save; BaseTuner.inject_adapter wraps every module whose path
     `key.endswith(name)` for a name in modules_to_save (a plain suffix: "pre_classifier" ends
     with "classifier") in a ModulesToSaveWrapper, and puts LoRA on the other modules that
     target_modules names (`key == t or key.endswith("." + t)`).
  3. set_peft_model_state_dict (utils/save_and_load.py) loads `base_model.model.<wrapped>.<param>`
     into each wrapper's copy through adapter_state_dict_load_map; a wrapped module's parameter
     the file lacks is a KeyError there, and an error here too. The LoRA pairs become
     W + (lora_alpha / r)·B·A (transposed for fan_in_fan_out), as LoraLayer.merge does.
Then seqcls.py's class_logits (written from the transformers modelling files) gives the logits.
Stricter than PEFT where PEFT would silently ignore something: a tensor of the adapter that no
module takes, a LoRA pair for a module target_modules does not name, a targeted module without a
pair, or a LoRA target inside a module saved whole is an error.

How the studio's test uses it: src/engine/hf/peftSeqCls.test.ts exports the studio's LoRA + head
on the bert, distilbert, gpt2 and llama-gqa-tied fixtures and compares its logits with this
script's on the committed export (fixtures/seqcls-lora-<name>/reference.json, written by this
script) and, where /usr/bin/python3 imports torch, live on a fresh export. To rewrite them:

    HF_FIXTURES_WRITE=1 npx vitest run src/engine/hf/peftSeqCls.test.ts
    cd src/engine/hf/fixtures && for n in bert distilbert gpt2 llama-gqa-tied; do
      /usr/bin/python3 ../../../../scripts/hf-reference/apply_seqcls_adapter.py $n seqcls-lora-$n seqcls-lora-input.json seqcls-lora-$n/reference.json; done
    /usr/bin/python3 ../../../../scripts/hf-reference/apply_seqcls_adapter.py gpt2 seqcls-lora-gpt2-regression seqcls-lora-input.json seqcls-lora-gpt2-regression/reference.json
"""
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_fixtures import read_safetensors  # noqa: E402
from seqcls import ARCH, BODY, class_logits, head_shapes  # noqa: E402

KEY = 'base_model.model.'


def class_body(cfg, w):
    """A base checkpoint's tensors as the *ForSequenceClassification class names them."""
    mt = cfg['model_type']
    prefix = BODY[mt]
    out = {}
    for k, v in w.items():
        if k == 'lm_head.weight' or k.startswith('cls.') or k.startswith('vocab_'):
            continue  # LM heads: the sequence-classification class has none
        if mt == 'bert' and k.startswith('pooler.'):
            k = 'bert.' + k
        out[k if k.startswith(prefix) else prefix + k] = v
    return out


def modules_of(keys):
    """The module paths of a state dict's keys (every proper prefix), parents first."""
    mods = set()
    for k in keys:
        parts = k.split('.')
        for i in range(1, len(parts)):
            mods.add('.'.join(parts[:i]))
    return sorted(mods, key=lambda m: (m.count('.'), m))


def apply(base_dir, adapter_dir):
    cfg = json.load(open(os.path.join(base_dir, 'config.json')))
    acfg = json.load(open(os.path.join(adapter_dir, 'adapter_config.json')))
    labels = json.load(open(os.path.join(adapter_dir, 'seq_cls_labels.json')))
    assert acfg['peft_type'] == 'LORA', acfg['peft_type']
    assert acfg['task_type'] == 'SEQ_CLS', acfg['task_type']
    n = labels['num_labels']
    mt = cfg['model_type']
    w = class_body(cfg, read_safetensors(os.path.join(base_dir, 'model.safetensors')))
    heads = head_shapes(cfg, n)
    for k in heads:
        if k not in w:
            w[k] = None  # from_pretrained would initialise it at random: the adapter must bring it
    ad = read_safetensors(os.path.join(adapter_dir, 'adapter_model.safetensors'))
    used = set()

    # modules_to_save as PeftModelForSequenceClassification extends it, matched by suffix
    to_save = list(acfg.get('modules_to_save') or []) + ['classifier', 'score']
    wrapped = []
    for m in modules_of(w.keys()):
        if any(m.startswith(p + '.') for p in wrapped):
            continue
        if any(m.endswith(s) for s in to_save):
            wrapped.append(m)
            for k in [k for k in w if k.startswith(m + '.')]:
                key = KEY + k
                if key not in ad:
                    raise SystemExit(f'adapter_model.safetensors: {m} is in modules_to_save but {key} is missing (PEFT raises a KeyError)')
                if w[k] is not None and tuple(w[k].shape) != tuple(ad[key].shape):
                    raise SystemExit(f'adapter_model.safetensors: {key} is {list(ad[key].shape)} but the model has {list(w[k].shape)}')
                if k in heads and tuple(ad[key].shape) != heads[k]:
                    raise SystemExit(f'adapter_model.safetensors: {key} is {list(ad[key].shape)}; with num_labels={n} the class has {list(heads[k])}')
                w[k] = ad[key]
                used.add(key)
    missing = [k for k, v in w.items() if v is None]
    if missing:
        raise SystemExit(f'the head tensors {missing} come from neither the base nor the adapter (they would stay random)')

    # LoRA on the modules target_modules names, outside the wrapped ones
    targets = acfg['target_modules']
    targets = [targets] if isinstance(targets, str) else targets
    scale = acfg['lora_alpha'] / acfg['r']
    lora = []
    for m in modules_of(w.keys()):
        if not any(m == t or m.endswith('.' + t) for t in targets):
            continue
        if any(m == p or m.startswith(p + '.') for p in wrapped):
            raise SystemExit(f'target_modules {targets} puts LoRA on {m}, inside a module saved whole')
        a_key, b_key = f'{KEY}{m}.lora_A.weight', f'{KEY}{m}.lora_B.weight'
        if a_key not in ad or b_key not in ad:
            raise SystemExit(f'target_modules {targets} names {m} but the adapter has no lora_A/lora_B for it')
        delta = scale * (ad[b_key] @ ad[a_key])  # [out, in]
        if acfg.get('fan_in_fan_out'):
            delta = delta.T  # Conv1D keeps [in, out]
        name = m + '.weight'
        assert w[name].shape == delta.shape, (name, w[name].shape, delta.shape)
        w[name] = w[name] + delta
        used.update([a_key, b_key])
        lora.append(m)
    unused = sorted(set(ad) - used)
    if unused:
        raise SystemExit(f'adapter_model.safetensors: no module takes {unused}')
    return cfg, labels, w, wrapped, lora


def main():
    base_dir, adapter_dir, inp, out = sys.argv[1:5]
    cfg, labels, w, wrapped, lora = apply(base_dir, adapter_dir)
    x = json.load(open(inp))
    if x.get('pad_token_id') is not None:
        cfg = {**cfg, 'pad_token_id': x['pad_token_id']}
    with torch.no_grad():
        logits = class_logits(cfg, w, x)
    with open(out, 'w') as f:
        json.dump({'architecture': ARCH[cfg['model_type']], 'num_labels': labels['num_labels'], 'wrapped': wrapped, 'lora': len(lora), 'shape': list(logits.shape), 'logits': logits.flatten().tolist()}, f, separators=(',', ':'))
        f.write('\n')
    print(f'{len(lora)} LoRA pairs merged; head modules {wrapped}')


if __name__ == '__main__':
    main()
