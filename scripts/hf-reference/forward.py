#!/usr/bin/env python3
"""Logits of a checkpoint folder (config.json + model.safetensors) by the reference forward pass.

    python3 scripts/hf-reference/forward.py <model_dir> <out.json>

Needs only python3-torch and python3-numpy. Used by src/engine/hf/hfLoad.test.ts (where
/usr/bin/python3 can import torch) to check that a checkpoint the studio writes is read by an
independent implementation of the Hugging Face layout as the studio means it; decoders only.
"""
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_fixtures import IDS, gpt2_forward, llama_forward, read_safetensors  # noqa: E402

model_dir, out = sys.argv[1:3]
cfg = json.load(open(os.path.join(model_dir, 'config.json')))
w = read_safetensors(os.path.join(model_dir, 'model.safetensors'))
fn = gpt2_forward if cfg['model_type'] == 'gpt2' else llama_forward
logits = fn(cfg, w, torch.tensor(IDS))
with open(out, 'w') as f:
    json.dump({'ids': IDS, 'shape': list(logits.shape), 'logits': logits.flatten().tolist(), 'keys': sorted(w.keys())}, f)
