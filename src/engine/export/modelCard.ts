import type { Settings } from '../../settings/types'
import type { Metrics } from '../types/metrics'
import type { ExportChoice } from './tuningPack'
import { formatPerplexity } from '../../format/format'

/** What an export says about itself: card.json (for programs) and README.md (for people). */
export interface ExportFacts {
  baseModel: { id: string; title: string }
  dataset: { name: string; source: string; task: string; rows: number; classes: { name: string; count: number }[] } | null
  settings: Settings
  metrics: { base?: Metrics | null; tuned?: Metrics | null; exported?: Metrics | null; baseName?: string | null } // baseName: what the line to beat is
  date: string // ISO time of the export
}

export interface ExportCard {
  title: string
  description: string
  finetuned: true
  choice: ExportChoice
  alpha: number
  baseModel: ExportFacts['baseModel'] & { card?: Record<string, unknown> }
  dataset: ExportFacts['dataset']
  settings: Settings
  metrics: ExportFacts['metrics']
  date: string
  files: string[]
  [k: string]: unknown
}

/** The base model a model file's card says it was fine-tuned from (the card makeCard writes
 *  into a studio export's model.json), or undefined for a pretrained model's own card. */
export function fineTunedFromCard(card: Record<string, unknown>): string | undefined {
  if (card.finetuned !== true) return undefined
  const title = (card.baseModel as { title?: unknown } | undefined)?.title
  return typeof title === 'string' && title !== '' ? title : undefined
}

const CHOICE_TEXT: Record<ExportChoice, string> = {
  merged: 'the full fine-tuned model, with any LoRA update folded into the weights',
  adapter: 'only the weights fine-tuning added or changed (head, LoRA, adapters); load the base model first',
  interpolated: 'the full model with weights interpolated between base and fine-tuned',
}

export function makeCard(facts: ExportFacts, choice: ExportChoice, alpha: number, files: string[], baseCard?: Record<string, unknown>): ExportCard {
  const data = facts.dataset ? facts.dataset.name : 'a dataset'
  return {
    title: `${facts.baseModel.title} fine-tuned on ${data}`,
    description: `Exported by the Fine-tuning Studio: ${CHOICE_TEXT[choice]}${choice === 'interpolated' ? ` (α = ${alpha})` : ''}.`,
    finetuned: true,
    choice,
    alpha,
    baseModel: { ...facts.baseModel, ...(baseCard ? { card: baseCard } : {}) },
    dataset: facts.dataset,
    settings: facts.settings,
    metrics: stripConfusion(facts.metrics),
    date: facts.date,
    files,
  }
}

function stripConfusion(m: ExportFacts['metrics']): ExportFacts['metrics'] {
  const one = (x: Metrics | null | undefined) => (x ? Object.fromEntries(Object.entries(x).filter(([k]) => k !== 'confusion')) as Metrics : x)
  return { base: one(m.base), tuned: one(m.tuned), exported: one(m.exported), ...(m.baseName ? { baseName: m.baseName } : {}) }
}

/** Markdown whose user-provided parts cannot turn into HTML or links. */
export function cardReadme(card: ExportCard): string {
  const t = (s: unknown) => String(s).replace(/[&<>[\]`*_|\\]/g, (c) => `\\${c}`).replace(/\n/g, ' ')
  const pct = (x?: number) => (x === undefined ? '–' : `${(100 * x).toFixed(1)}%`)
  const num = (x?: number) => (x === undefined || !Number.isFinite(x) ? '–' : x.toFixed(3))
  const row = (name: string, m?: Metrics | null) =>
    m ? `| ${name} | ${num(m.loss)} | ${m.accuracy !== undefined ? pct(m.accuracy) : formatPerplexity(m.perplexity, 3)} |` : null
  const metricName = card.metrics.tuned?.perplexity !== undefined || card.metrics.base?.perplexity !== undefined ? 'perplexity' : 'accuracy'
  const s = card.settings
  const lines = [
    `# ${t(card.title)}`,
    '',
    t(card.description),
    '',
    '## Base model',
    `${t(card.baseModel.title)} (\`${t(card.baseModel.id)}\`)`,
    '',
    '## Data',
    card.dataset
      ? `${t(card.dataset.name)} — ${t(card.dataset.task)}, ${card.dataset.rows} rows (${t(card.dataset.source)})${card.dataset.classes.length ? `; classes: ${card.dataset.classes.map((c) => `${t(c.name)} (${c.count})`).join(', ')}` : ''}`
      : 'Not recorded.',
    '',
    '## Settings',
    `Method ${t(s.method)}, learning rate ${s.learningRate}, batch ${s.batchSize}, ${s.epochs} epochs, optimizer ${t(s.optimizer)}, schedule ${t(s.schedule)}, ${card.dataset?.task === 'image-classification' ? 'images at the model\'s input size' : `sequence length ${s.seqLen}`}, seed ${s.seed}.`,
    `Interpolation α = ${card.alpha} (1 = fully fine-tuned).`,
    '',
    '## Validation metrics',
    `| Model | Loss | ${metricName} |`,
    '|---|---|---|',
    ...[row(card.metrics.baseName ? `Line to beat: ${t(card.metrics.baseName)}` : 'Base', card.metrics.base), row('Fine-tuned', card.metrics.tuned), row('This export', card.metrics.exported)].filter((l): l is string => l !== null),
    '',
    '## Files',
    ...card.files.map((f) => `- \`${f}\``),
    '',
    `Exported ${t(card.date)}. Load the .zip back in the studio (Base model → Load a model file).`,
    '',
  ]
  return lines.join('\n')
}
