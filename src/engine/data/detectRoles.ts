/**
 * Guesses which column is the text, the label(s), the features or the target, from
 * column names and contents; and the task those roles make. The user can override the
 * guess (withRoles), so it aims to be right for common files, not clever.
 */
import { LABEL_NAME, type ColumnProfile } from './columnProfile'
import type { DatasetFormat, Roles, Task } from './types'

const TARGET_NAME = /^(target|y|score|rating|value|price|label|output|amount|count)$/i

function isNumericColumn(p: ColumnProfile): boolean {
  return p.nonEmpty > 0 && p.numeric >= 0.95 * p.nonEmpty
}

function labelLike(p: ColumnProfile): boolean {
  return p.kind === 'categorical' || p.kind === 'empty' || p.kind === 'identifier'
}

export function detectRoles(profiles: readonly ColumnProfile[], format: DatasetFormat): Roles {
  if (format === 'text') return { text: 'text', labels: [], features: [] }
  const texts = profiles.filter((p) => p.kind === 'text')
  const hintedText = texts.find((p) => /^(text|sentence|content|message|body|review|document|tweet|prompt|input)$/i.test(p.name))
  const textCol = hintedText ?? [...texts].sort((a, b) => b.meanLength - a.meanLength)[0]
  const rest = profiles.filter((p) => p !== textCol)
  const hinted = rest.filter((p) => LABEL_NAME.test(p.name))
  const hintedLabels = hinted.filter(labelLike)

  if (textCol) {
    // A number named like a target ("score", "rating") with more than two values is a
    // quantity to predict, even when it has few distinct values (ratings 1-5, scores -5..5).
    const target = hintedLabels.length === 0 ? rest.find((p) => isNumericColumn(p) && TARGET_NAME.test(p.name) && p.distinct > 2) : undefined
    if (target) return { text: textCol.name, labels: [], features: [], target: target.name }
    const labels = hintedLabels.length > 0 ? hintedLabels : rest.filter((p) => p.kind === 'categorical')
    if (labels.length > 0) return { text: textCol.name, labels: labels.map((p) => p.name), features: [] }
    return { text: textCol.name, labels: [], features: [] }
  }

  let labels = hintedLabels.length > 0 ? hintedLabels : rest.filter((p) => p.kind === 'categorical' && !isNumericColumn(p))
  let target: ColumnProfile | undefined
  if (labels.length === 0) {
    const numeric = rest.filter(isNumericColumn)
    target = numeric.find((p) => TARGET_NAME.test(p.name)) ?? numeric[numeric.length - 1]
    // A whole-number column with a handful of values is a class, not a quantity.
    if (target && target.kind === 'categorical' && target.distinct <= 10) {
      labels = [target]
      target = undefined
    }
  }
  const features = rest.filter((p) => isNumericColumn(p) && !labels.includes(p) && p !== target)
  return {
    labels: labels.map((p) => p.name),
    features: features.map((p) => p.name),
    ...(target ? { target: target.name } : {}),
  }
}

/** The task the roles make; undefined when they make none (no label, target or text). */
export function taskForRoles(roles: Roles, format: DatasetFormat): Task | undefined {
  if (format === 'text') return 'language-modelling'
  if (roles.labels.length >= 2) return 'multitask'
  if (roles.labels.length === 1) return roles.text ? 'text-classification' : 'tabular-classification'
  if (roles.target) return 'regression'
  if (roles.text) return 'language-modelling'
  return undefined
}
