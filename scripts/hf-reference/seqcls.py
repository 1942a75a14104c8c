#!/usr/bin/env python3
"""AutoModelForSequenceClassification's logits for a checkpoint folder, as Hugging Face computes them.

    python3 scripts/hf-reference/seqcls.py <model_dir> <in.json> <out.json>

in.json: {"input_ids": [[...]], "attention_mask": [[...]]} (token_type_ids optional, zeros when
absent, as BertModel defaults them). Written from the transformers modelling files' definitions
(eval mode: dropout is the identity), not from the studio's code:

  BertForSequenceClassification:       self.bert = BertModel(config) (add_pooling_layer=True);
      BertPooler: first_token_tensor = hidden_states[:, 0]; tanh(self.dense(first_token_tensor));
      logits = self.classifier(self.dropout(pooled_output))
  DistilBertForSequenceClassification: pooled_output = hidden_state[:, 0];
      pre_classifier -> nn.ReLU() -> dropout -> classifier
  GPT2ForSequenceClassification / LlamaForSequenceClassification: logits = self.score(hidden_states)
      (nn.Linear(hidden, num_labels, bias=False)); with config.pad_token_id set,
      non_pad_mask = (input_ids != pad_token_id); token_indices = arange(seq_len);
      last_non_pad_token = (token_indices * non_pad_mask).argmax(-1);
      pooled_logits = logits[arange(batch), last_non_pad_token]; without one, batch size 1 only.

The checkpoint is read as from_pretrained reads it for that class: the body under the class's
attribute (bert., distilbert., transformer., model.) and the head under its own names; a missing
head tensor, a wrong shape or a tensor the class has no place for is an error here (transformers
would initialise the first at random and drop the last with a warning). num_labels is
len(config.id2label). The body forward passes are make_fixtures.py's.
"""
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_fixtures import bert_forward, distilbert_forward, gpt2_hidden, llama_hidden, read_safetensors, strip  # noqa: E402

ARCH = {'bert': 'BertForSequenceClassification', 'distilbert': 'DistilBertForSequenceClassification', 'gpt2': 'GPT2ForSequenceClassification', 'llama': 'LlamaForSequenceClassification'}
BODY = {'bert': 'bert.', 'distilbert': 'distilbert.', 'gpt2': 'transformer.', 'llama': 'model.'}


def hidden_size(cfg):
    return cfg.get('hidden_size', cfg.get('n_embd', cfg.get('dim')))


def head_shapes(cfg, n):
    d = hidden_size(cfg)
    mt = cfg['model_type']
    if mt in ('gpt2', 'llama'):
        return {'score.weight': (n, d)}
    pre = 'bert.pooler.dense' if mt == 'bert' else 'pre_classifier'
    return {pre + '.weight': (d, d), pre + '.bias': (d,), 'classifier.weight': (n, d), 'classifier.bias': (n,)}


def main():
    model_dir, inp, out = sys.argv[1:4]
    cfg = json.load(open(os.path.join(model_dir, 'config.json')))
    mt = cfg['model_type']
    if cfg.get('architectures') != [ARCH[mt]]:
        raise SystemExit(f"config.json: architectures is {cfg.get('architectures')}, not [{ARCH[mt]!r}]")
    n = len(cfg['id2label'])
    if cfg.get('label2id') and sorted(cfg['label2id'].values()) != list(range(n)):
        raise SystemExit('config.json: label2id does not number the labels 0..n-1')
    w = read_safetensors(os.path.join(model_dir, 'model.safetensors'))
    heads = head_shapes(cfg, n)
    for k, shape in heads.items():
        if k not in w:
            raise SystemExit(f'model.safetensors: {ARCH[mt]} needs {k}, which is missing')
        if tuple(w[k].shape) != shape:
            raise SystemExit(f'model.safetensors: {k} is {list(w[k].shape)}, {ARCH[mt]} needs {list(shape)}')
    stray = [k for k in w if k not in heads and not k.startswith(BODY[mt])]
    if stray:
        raise SystemExit(f'model.safetensors: {ARCH[mt]} has no place for {stray}')
    logits = class_logits(cfg, w, json.load(open(inp)))
    with open(out, 'w') as f:
        json.dump({'architecture': ARCH[mt], 'num_labels': n, 'problem_type': cfg.get('problem_type'), 'shape': list(logits.shape), 'logits': logits.flatten().tolist(), 'keys': sorted(w.keys())}, f)


def class_logits(cfg, w, x):
    """The class's logits for the inputs x (input_ids, attention_mask, token_type_ids) from its
    state dict w (the body under the class prefix, the head under its names); the pad id the
    decoders need is config's pad_token_id. apply_seqcls_adapter.py uses it too."""
    mt = cfg['model_type']
    heads = head_shapes(cfg, (w['score.weight'] if mt in ('gpt2', 'llama') else w['classifier.weight']).shape[0])
    body = {k: v for k, v in w.items() if k not in heads}
    ids = torch.tensor(x['input_ids'])
    mask = torch.tensor(x['attention_mask'])
    if mt == 'bert':
        types = torch.tensor(x['token_type_ids']) if 'token_type_ids' in x else torch.zeros_like(ids)
        h = bert_forward(cfg, body, ids, types, mask)
        pooled = torch.tanh(h[:, 0] @ w['bert.pooler.dense.weight'].T + w['bert.pooler.dense.bias'])
        logits = pooled @ w['classifier.weight'].T + w['classifier.bias']
    elif mt == 'distilbert':
        h = distilbert_forward(cfg, body, ids, mask)
        pre = torch.relu(h[:, 0] @ w['pre_classifier.weight'].T + w['pre_classifier.bias'])
        logits = pre @ w['classifier.weight'].T + w['classifier.bias']
    else:
        # decoders: causal, so with right padding no real token attends to a pad
        h = gpt2_hidden(cfg, strip(body, ['transformer.']), ids) if mt == 'gpt2' else llama_hidden(cfg, strip(body, ['model.']), ids)
        all_logits = h @ w['score.weight'].T
        pad = cfg.get('pad_token_id')
        if pad is None:
            if ids.shape[0] != 1:
                raise SystemExit('Cannot handle batch sizes > 1 if no padding token is defined.')
            last = torch.tensor([-1])
        else:
            non_pad = (ids != pad).to(torch.int32)
            last = (torch.arange(ids.shape[-1]) * non_pad).argmax(-1)
        logits = all_logits[torch.arange(ids.shape[0]), last]
    return logits


if __name__ == '__main__':
    main()
