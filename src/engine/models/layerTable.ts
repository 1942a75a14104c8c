import type { LayerSummary } from '../types/model'
import type { TinyGpt } from './tinyGpt'

const TYPES: Record<string, string> = {
  wte: 'Token embedding (tied with the output)',
  wpe: 'Position embedding',
  ln1: 'LayerNorm',
  ln2: 'LayerNorm',
  lnf: 'LayerNorm (final)',
  'attn.qkv': 'Dense: attention q, k, v',
  'attn.proj': 'Dense: attention output',
  'mlp.fc': 'Dense: MLP up (GELU)',
  'mlp.out': 'Dense: MLP down',
}

/** One row per layer for the model panel: weights grouped by layer, with output shapes
 *  written as the page shows them (B = batch, T = tokens). */
export function describeLayers(model: TinyGpt, trainableBlocks: Set<number>): LayerSummary[] {
  const { dModel, dFF, vocabSize } = model.config
  const rows = new Map<string, LayerSummary>()
  for (const p of model.params) {
    const key = p.layer.replace(/^h\d+\./, '')
    const row = rows.get(p.layer) ?? {
      name: p.layer,
      type: TYPES[key] ?? key,
      block: p.block,
      outputShape: key === 'attn.qkv' ? `[B, T, ${3 * dModel}]` : key === 'mlp.fc' ? `[B, T, ${dFF}]` : `[B, T, ${dModel}]`,
      params: 0,
      trainable: trainableBlocks.has(p.block),
    }
    row.params += p.variable.size
    rows.set(p.layer, row)
  }
  const wte = rows.get('wte')
  if (wte) wte.outputShape = `[B, T, ${dModel}] (and logits [B, T, ${vocabSize}])`
  return [...rows.values()]
}
