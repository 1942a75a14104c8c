/** Refuses settings that cannot train on this data and model, before a run starts. Each
 *  message names the control and says what to change. Only impossible or do-nothing
 *  combinations are refused; merely unusual ones (a long warm-up) are left to the person. */
import type { ModelLimits } from '../engine/types/model'
import { readFrozenBlocks } from './frozenBlocks'
import { coerce, SCHEMA, SPEC } from './schema'
import type { Settings } from './types'

export interface ValidationContext {
  trainSize: number // training examples AFTER the validation split
  nLayers: number // transformer blocks in the model
  dModel: number // width of the layers LoRA and adapters attach to
  hasHead: boolean // the model has a separate output head that can train on its own
  maxSeqLen?: number // longest sequence the model's position table covers, when known
  /** What the model declares it allows (methods, LoRA rank per target); the page gets it with
   *  the model (ModelSummary.limits) and the worker from the model itself. */
  limits?: ModelLimits
}

/** The context a model's limits and a dataset give, the same on the page and in the worker:
 *  `rows` kept examples, of which the validation split is held out (language modelling
 *  counts blocks of text, known only in the worker, so it is not limited here). */
export function contextFromLimits(limits: ModelLimits, data: { rows: number; task: string }, s: Pick<Settings, 'valSplit'>): ValidationContext {
  const lm = data.task === 'language-modelling'
  return {
    trainSize: lm ? Number.MAX_SAFE_INTEGER : data.rows - Math.round(data.rows * s.valSplit),
    nLayers: limits.nLayers,
    dModel: limits.width,
    hasHead: !lm,
    ...(limits.maxSeqLen === undefined ? {} : { maxSeqLen: limits.maxSeqLen }),
    limits,
  }
}

/** The largest LoRA rank the targets in effect allow, and the layer that sets it. */
export function loraRankLimit(limits: ModelLimits, loraTargets: string): { maxRank: number; layer: string } | null {
  const chosen = loraTargets.split(',').map((t) => t.trim().toLowerCase())
  const inEffect = limits.lora.filter((l) => !limits.loraTargetsChosen || chosen.includes(l.target))
  if (!inEffect.length) return null
  const narrowest = inEffect.reduce((a, b) => (b.maxRank < a.maxRank ? b : a))
  return { maxRank: narrowest.maxRank, layer: narrowest.layer }
}

export interface SettingProblem {
  field: keyof Settings
  message: string
}

export function validateSettings(s: Settings, ctx: ValidationContext): SettingProblem[] {
  const problems: SettingProblem[] = []
  // One message per field: the specific checks come first because they say more.
  const add = (field: keyof Settings, message: string) => {
    if (!problems.some((p) => p.field === field)) problems.push({ field, message })
  }
  const label = (k: keyof Settings) => SPEC[k].label
  const { trainSize, nLayers, dModel, hasHead, limits } = ctx

  // What the model allows comes first: another method makes the other checks moot.
  if (limits && !limits.methods.includes(s.method)) {
    const names = limits.methods.map(methodLabel)
    const why = limits.why?.[s.method] ?? `This model cannot train with ${methodLabel(s.method)}`
    add('method', `${why}; choose ${names.slice(0, -1).join(', ')}${names.length > 1 ? ' or ' : ''}${names.at(-1) ?? ''}.`)
  }

  if (s.learningRate === 0 || s.learningRate < 0) {
    add(
      'learningRate',
      `${label('learningRate')} is ${s.learningRate}, so no weight would change; set it to about 1e-3 (1e-4 for full fine-tuning).`,
    )
  }

  if (trainSize < 1) {
    add(
      'valSplit',
      `No examples are left for training after holding out ${Math.round(s.valSplit * 100)}% for validation; lower ${label('valSplit')} or add data.`,
    )
  } else if (s.batchSize > trainSize) {
    add(
      'batchSize',
      `${label('batchSize')} ${s.batchSize} is larger than the ${trainSize} training examples; set it to ${trainSize} or less, or add data.`,
    )
  } else if (s.accumSteps > 1 && s.accumSteps * s.batchSize > trainSize) {
    const most = Math.max(1, Math.floor(trainSize / s.batchSize))
    add(
      'accumSteps',
      `Each optimizer step needs ${s.batchSize} \u00d7 ${s.accumSteps} = ${s.batchSize * s.accumSteps} examples but there are only ${trainSize}, so no step would complete; set ${label('accumSteps')} to ${most} or less, or lower ${label('batchSize')}.`,
    )
  }

  switch (s.method) {
    case 'head':
      if (!hasHead) {
        add(
          'method',
          `This model has no separate head to train on its own; choose "Freeze early blocks", LoRA or adapters.`,
        )
      }
      break
    case 'freeze':
      if (s.freezeFirst > nLayers) {
        add(
          'freezeFirst',
          `The model has only ${nLayers} blocks; set ${label('freezeFirst')} to ${hasHead ? nLayers : nLayers - 1} or less.`,
        )
      } else if (s.freezeFirst >= nLayers && !hasHead) {
        add(
          'freezeFirst',
          `All ${nLayers} blocks are frozen and the model has no separate head, so nothing would train; set ${label('freezeFirst')} to ${nLayers - 1} or less, or pick LoRA or adapters.`,
        )
      }
      break
    case 'lora': {
      const cap = limits ? loraRankLimit(limits, s.loraTargets) : null
      if (cap && s.loraRank > cap.maxRank) {
        add(
          'loraRank',
          `${label('loraRank')} ${s.loraRank} is larger than layer ${cap.layer} allows (its kernel is ${cap.maxRank} wide on its narrower side); set ${label('loraRank')} to ${cap.maxRank} or less (4\u201316 is typical).`,
        )
      } else if (s.loraRank > dModel) {
        add(
          'loraRank',
          `${label('loraRank')} ${s.loraRank} is larger than the layer width ${dModel}, so the update cannot be low-rank; set it to ${dModel} or less (4\u201316 is typical).`,
        )
      }
      break
    }
    case 'adapter':
      if (s.adapterSize > dModel) {
        add(
          'adapterSize',
          `${label('adapterSize')} ${s.adapterSize} is wider than the layer width ${dModel}, so it is no longer a bottleneck; set it to ${Math.max(2, Math.floor(dModel / 4))} or so.`,
        )
      }
      break
    case 'full':
      break
    case 'custom': {
      const u = readFrozenBlocks(s.frozenBlocks)
      const beyond = u?.blocks.filter((b) => b >= nLayers) ?? []
      if (beyond.length) {
        add('frozenBlocks', `The model has blocks 0\u2013${nLayers - 1} only, so block ${beyond[0]} cannot be frozen; remove it from ${label('frozenBlocks')}.`)
      } else if (u && u.embeddings && u.finalNorm && u.blocks.length >= nLayers && !hasHead) {
        add('frozenBlocks', `Every unit is frozen and the model has no separate head, so nothing would train; unfreeze at least one block.`)
      }
      break
    }
  }

  if (s.method !== 'head' && s.headFirstEpochs > 0) {
    if (!hasHead) {
      add(
        'headFirstEpochs',
        `This model has no separate head to train first; set ${label('headFirstEpochs')} to 0.`,
      )
    } else if (s.headFirstEpochs >= s.epochs) {
      add(
        'headFirstEpochs',
        `The head-only stage takes all ${s.epochs} epochs, so the body never trains; set ${label('headFirstEpochs')} below ${s.epochs} or raise ${label('epochs')}.`,
      )
    }
  }

  if (s.valSplit === 0) {
    const needsVal = (k: 'earlyStopPatience' | 'plateauPatience') => {
      if (s[k] > 0) {
        add(
          k,
          `${label(k)} watches the validation score, but ${label('valSplit')} is 0; set a split of 0.1\u20130.2 or set ${label(k)} to 0.`,
        )
      }
    }
    needsVal('earlyStopPatience')
    needsVal('plateauPatience')
  }

  if (ctx.maxSeqLen !== undefined && s.seqLen > ctx.maxSeqLen) {
    add(
      'seqLen',
      `The model's position table covers only ${ctx.maxSeqLen} tokens; set ${label('seqLen')} to ${ctx.maxSeqLen} or less.`,
    )
  }

  // Then the schema's own ranges, for settings in effect (hidden ones do not affect the run).
  for (const spec of SCHEMA) {
    if (spec.showWhen && !spec.showWhen(s)) continue
    const c = coerce(spec.key, s[spec.key])
    if (!c.ok) add(spec.key, `${spec.label}: ${c.reason}.`)
  }
  return problems
}

function methodLabel(m: Settings['method']): string {
  const spec = SPEC.method
  const choice = 'choices' in spec ? spec.choices?.find((c) => c.value === m) : undefined
  return choice ? `"${choice.label}"` : m
}
