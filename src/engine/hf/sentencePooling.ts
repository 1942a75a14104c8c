/**
 * Whether a BERT-family checkpoint is a sentence encoder, and how it pools, from the files
 * sentence-transformers saves beside the weights: `modules.json` (the pipeline: Transformer,
 * then Pooling at a path such as `1_Pooling`), that Pooling module's `config.json`
 * (`pooling_mode_mean_tokens`, `pooling_mode_cls_token`, …) and `sentence_bert_config.json`.
 * MiniLM sentence encoders (all-MiniLM-L6-v2) pool by the mean; some (BGE) by [CLS].
 *
 * The files decide, not the name or the config's `architectures`: a plain `BertModel` is also
 * what any BERT saved without a head declares, and a repo name proves nothing about pooling.
 */
import type { FileSource } from './hfLoad'

export type SentencePooling = { pooling: 'cls' | 'mean'; why: string }

/** The sentence-transformers files a Hub download fetches when they are there (small JSON). */
export const SENTENCE_FILES = ['modules.json', 'sentence_bert_config.json'] as const
/** Where sentence-transformers puts the Pooling module's config unless modules.json says otherwise. */
export const DEFAULT_POOLING_DIR = '1_Pooling'

const json = (b: Uint8Array | null): Record<string, unknown> | unknown[] | null => {
  if (!b) return null
  try {
    return JSON.parse(new TextDecoder().decode(b)) as Record<string, unknown> | unknown[]
  } catch {
    return null
  }
}

/** The Pooling module's folder as modules.json names it (null when it lists none). */
export function poolingDir(modulesJson: unknown): string | null {
  if (!Array.isArray(modulesJson)) return null
  for (const m of modulesJson) {
    const o = m as { type?: unknown; path?: unknown }
    if (typeof o.type === 'string' && /(^|\.)Pooling$/.test(o.type)) return typeof o.path === 'string' && o.path ? o.path.replace(/\/+$/, '') : DEFAULT_POOLING_DIR
  }
  return null
}

/** What the checkpoint's sentence-transformers files say a head should read; null when there
 *  are none (a plain encoder: [CLS], as BertForSequenceClassification reads it). */
export async function sentencePooling(source: FileSource): Promise<SentencePooling | null> {
  const modules = json(await source('modules.json'))
  const sbert = await source('sentence_bert_config.json')
  const dir = poolingDir(modules)
  const cfgPath = `${dir ?? DEFAULT_POOLING_DIR}/config.json`
  const cfg = json(await source(cfgPath))
  if (cfg && !Array.isArray(cfg)) {
    if (cfg.pooling_mode_mean_tokens === true) return { pooling: 'mean', why: `${cfgPath} sets pooling_mode_mean_tokens` }
    if (cfg.pooling_mode_cls_token === true) return { pooling: 'cls', why: `${cfgPath} sets pooling_mode_cls_token` }
    const other = Object.keys(cfg).find((k) => /^pooling_mode_/.test(k) && cfg[k] === true)
    if (other) return { pooling: 'mean', why: `${cfgPath} sets ${other}, which the studio does not do; the mean over tokens is the nearest` }
  }
  if (dir) return { pooling: 'mean', why: `modules.json lists a Pooling module (sentence-transformers), whose default is the mean over tokens; its ${cfgPath} was not among the files` }
  if (sbert) return { pooling: 'mean', why: 'sentence_bert_config.json marks a sentence-transformers encoder, whose default pooling is the mean over tokens' }
  return null
}
