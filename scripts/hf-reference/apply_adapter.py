#!/usr/bin/env python3
"""Applies a PEFT LoRA adapter the way PEFT merges it, and writes the adapted model's outputs.

    python3 scripts/hf-reference/apply_adapter.py <model_dir> <adapter_dir> <out.json>

Needs only python3-torch and python3-numpy (Debian's packages): no peft, no transformers.
For every `base_model.model.<module>.lora_A.weight` [r, in] / `lora_B.weight` [out, r] pair in
adapter_model.safetensors, the base weight `<module>.weight` becomes
W + (lora_alpha / r)·B·A — transposed when adapter_config.json says fan_in_fan_out (GPT-2's
Conv1D, whose weight is [in, out]) — which is what PEFT's LoraLayer.get_delta_weight and
merge do. Then the forward pass of make_fixtures.py (written from the Hugging Face modelling
code) gives the logits for make_fixtures.IDS and a greedy generation from make_fixtures.PROMPT.

How the studio's test uses it: src/engine/hf/peftAdapter.test.ts builds the studio's LoRA on a
fixture with fixed factors, exports it as a PEFT adapter and checks (1) the exported files equal
the committed ones in src/engine/hf/fixtures/lora-<name>/, and (2) the studio's LoRA-applied
logits equal reference-lora.json in that folder, which this script produced from those committed
files. CI machines may have no torch, so the comparison is against that committed output; the
test also runs this script live on a fresh export when /usr/bin/python3 can import torch.
"""
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_fixtures import GEN_STEPS, IDS, PROMPT, gpt2_forward, greedy, llama_forward, read_safetensors  # noqa: E402

PREFIXES = {'gpt2': 'transformer.', 'llama': 'model.'}


def apply(model_dir, adapter_dir):
    cfg = json.load(open(os.path.join(model_dir, 'config.json')))
    acfg = json.load(open(os.path.join(adapter_dir, 'adapter_config.json')))
    assert acfg['peft_type'] == 'LORA', acfg['peft_type']
    w = read_safetensors(os.path.join(model_dir, 'model.safetensors'))
    ad = read_safetensors(os.path.join(adapter_dir, 'adapter_model.safetensors'))
    scale = acfg['lora_alpha'] / acfg['r']
    prefix = PREFIXES[cfg['model_type']]
    # the checkpoint may or may not carry the class prefix (the original gpt2 repo does not)
    has_prefix = any(k.startswith(prefix) for k in w)
    merged = 0
    for key, a in ad.items():
        if not key.endswith('.lora_A.weight'):
            continue
        module = key[len('base_model.model.'):-len('.lora_A.weight')]
        b = ad[key.replace('.lora_A.weight', '.lora_B.weight')]
        delta = scale * (b @ a)  # [out, in]
        if acfg.get('fan_in_fan_out'):
            delta = delta.T  # Conv1D weight is [in, out]
        name = module + '.weight'
        if not has_prefix and name.startswith(prefix):
            name = name[len(prefix):]
        assert w[name].shape == delta.shape, (name, w[name].shape, delta.shape)
        w[name] = w[name] + delta
        merged += 1
    return cfg, w, merged


def main():
    model_dir, adapter_dir, out = sys.argv[1:4]
    cfg, w, merged = apply(model_dir, adapter_dir)
    fn = (lambda x: gpt2_forward(cfg, w, x)) if cfg['model_type'] == 'gpt2' else (lambda x: llama_forward(cfg, w, x))
    logits = fn(torch.tensor(IDS))
    gen, margin = greedy(fn, PROMPT, GEN_STEPS)
    with open(out, 'w') as f:
        json.dump({'merged': merged, 'ids': IDS, 'shape': list(logits.shape), 'logits': logits.flatten().tolist(), 'prompt': PROMPT, 'greedy': gen, 'greedyMinMargin': margin}, f, separators=(',', ':'))
        f.write('\n')
    print(f'{merged} LoRA pairs merged; greedy min top-2 margin {margin:.4f}')


if __name__ == '__main__':
    main()
