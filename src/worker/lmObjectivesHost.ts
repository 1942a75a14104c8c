/**
 * The worker side of the language-model objectives (issue 17): reads and checks SFT and DPO
 * files, previews the loss mask, trains through the one loop (engine/train/fineTune.ts with
 * the sft and dpo Task modules), chats with the model before and after, writes the TRL
 * recipe, and runs learning without labels (zero-shot pseudo-labels → confident rows →
 * classifier, optionally re-labelled in further rounds).
 */
import * as tf from '@tensorflow/tfjs'
import { parseDpoJsonl, encodeDpo, type DpoRow } from '../engine/tasks/dpo/data'
import { referenceLogProbs, watchDpoBatches } from '../engine/tasks/dpoTask'
import { pairsEncoded, sftEncoded } from '../engine/tasks/lmObjectiveData'
import { encodeSft, encodeWithSpecials, parseSftCsv, parseSftJsonl, renderChat, tinyLmChatFormat, toWindows, TINY_LM_CHAT_TEMPLATE, type RowProblem, type SftExample, type SftRow } from '../engine/tasks/sft/data'
import { fineTune, Tuning, type Encoded } from '../engine/train/fineTune'
import { parseCsvText } from '../engine/data/csv'
import { RunControl } from '../engine/train/runControl'
import { resetWeights, type WeightMap } from '../engine/tuning/interpolate'
import { withWeights } from '../engine/infer/playground'
import type { LoadedTinyGpt } from '../engine/models/modelFile'
import type { ForwardHooks } from '../engine/models/tinyGpt'
import { trlDataFile, trlRecipe, launchCommand } from '../engine/export/trlRecipe'
import type { Settings } from '../settings/types'
import { runEvents } from './runEvents'
import type { FromWorker } from './protocol'
import type { DpoStepPoint, LmCommand, LmDataSummary, LmObjective, MaskToken } from './lmProtocol'
import { PseudoLabelHost } from './pseudoLabelHost'

type Post = (e: FromWorker) => void

/** What the host reads and sets of the handler's session. */
export interface LmSession {
  loaded: LoadedTinyGpt | null
  base: WeightMap | null
  tuning: Tuning | null
  lastVal: Encoded | null
  run: { id: string; control: RunControl } | null
}

interface LmData {
  objective: LmObjective
  name: string
  validationName: string | null
  sft: SftRow[] | null
  dpo: DpoRow[] | null
  valSft: SftRow[] | null
  valDpo: DpoRow[] | null
}

const PREVIEW_ROWS = 3

export class LmObjectivesHost {
  private data: LmData | null = null
  private readonly pseudo: PseudoLabelHost

  constructor(
    private readonly post: Post,
    private readonly s: LmSession,
    private readonly ensureBackend: (pref?: Settings['backend']) => Promise<void>,
  ) {
    this.pseudo = new PseudoLabelHost(post, s, ensureBackend)
  }

  async handle(msg: LmCommand): Promise<void> {
    switch (msg.type) {
      case 'lmData':
        return this.load(msg)
      case 'lmTrain':
        return this.train(msg)
      case 'lmChat':
        return this.chat(msg)
      case 'lmRecipe':
        return this.recipe(msg)
      case 'pseudoLabel':
      case 'pseudoTrain':
        return this.pseudo.handle(msg)
    }
  }

  private model(): LoadedTinyGpt {
    if (!this.s.loaded) throw new Error('Load the built-in text model (step 2) before instruction or preference tuning.')
    return this.s.loaded
  }

  private async load(msg: Extract<LmCommand, { type: 'lmData' }>): Promise<void> {
    const { tokenizer, model } = this.model()
    const read = async (f: File) => ({ name: f.name, text: await f.text() })
    const train = await read(msg.file)
    const val = msg.validation ? await read(msg.validation) : null
    const problems: { row: number; message: string; file: string }[] = []
    const seqLen = Math.min(msg.seqLen, model.config.seqLen)
    const chat = tinyLmChatFormat(tokenizer)
    let data: LmData
    let examples: { chosen: SftExample; rejected?: SftExample }[]
    let truncated: number[]
    let csv: LmDataSummary['csv'] = null
    if (msg.objective === 'sft') {
      if (/\.csv$/i.test(train.name)) {
        const columns = (parseCsvText(train.text.slice(0, train.text.indexOf('\n') + 1 || undefined)).records[0]?.cells ?? []).map((c) => c.trim())
        const pick = (want: string, i: number) => (columns.includes(want) ? want : (columns[i] ?? want))
        csv = { columns, prompt: msg.columns?.prompt ?? pick('prompt', 0), completion: msg.columns?.completion ?? pick('completion', 1) }
      }
      const cols = csv
      const parse = (f: { name: string; text: string }) => (/\.csv$/i.test(f.name) ? parseSftCsv(f.text, cols?.prompt ?? 'prompt', cols?.completion ?? 'completion', f.name) : parseSftJsonl(f.text, f.name))
      const a = parse(train)
      const b = val ? parse(val) : null
      a.problems.forEach((p) => problems.push({ ...p, file: train.name }))
      b?.problems.forEach((p) => problems.push({ ...p, file: val!.name }))
      const enc = encodeSft(a.rows, tokenizer, { seqLen, chat })
      enc.dropped.forEach((p) => problems.push({ ...p, file: train.name }))
      truncated = enc.truncated
      examples = enc.examples.slice(0, PREVIEW_ROWS).map((e) => ({ chosen: e }))
      data = { objective: 'sft', name: train.name, validationName: val?.name ?? null, sft: a.rows, dpo: null, valSft: b?.rows ?? null, valDpo: null }
    } else {
      const a = parseDpoJsonl(train.text, train.name)
      const b = val ? parseDpoJsonl(val.text, val.name) : null
      a.problems.forEach((p) => problems.push({ ...p, file: train.name }))
      b?.problems.forEach((p) => problems.push({ ...p, file: val!.name }))
      const enc = encodeDpo(a.rows, tokenizer, { seqLen, chat })
      enc.dropped.forEach((p) => problems.push({ ...p, file: train.name }))
      truncated = enc.truncated
      examples = enc.pairs.slice(0, PREVIEW_ROWS).map((p) => ({ chosen: p.chosen, rejected: p.rejected }))
      data = { objective: 'dpo', name: train.name, validationName: val?.name ?? null, sft: null, dpo: a.rows, valSft: null, valDpo: b?.rows ?? null }
    }
    this.data = data
    const special = (id: number) => (id === tokenizer.bosId ? '<bos>' : id === tokenizer.eosId ? '<eos>' : id === tokenizer.padId ? '<pad>' : null)
    // Each token's text is what it adds to the decoded text so far: a character split over
    // byte-level tokens shows whole on the token that completes it, not as two broken halves.
    const tokens = (e: SftExample): MaskToken[] => {
      let before = ''
      let start = 0
      return e.ids.map((id, t) => {
        const sp = special(id)
        if (sp !== null) {
          before = ''
          start = t + 1
          return { text: sp, trained: e.mask[t] === 1 }
        }
        const now = tokenizer.decode(e.ids.slice(start, t + 1))
        const whole = !now.endsWith('\uFFFD')
        const text = whole ? now.slice(before.length) : ''
        if (whole) before = now
        return { text, trained: e.mask[t] === 1 }
      })
    }
    const rowsOf = (d: LmData) => (d.sft ?? d.dpo ?? []).length
    const summary: LmDataSummary = {
      objective: msg.objective,
      name: train.name,
      validationName: val?.name ?? null,
      rows: rowsOf(data),
      validationRows: (data.valSft ?? data.valDpo ?? []).length,
      chat: (data.sft ?? []).some((r) => r.kind === 'chat') || (data.dpo ?? []).some((r) => r.kind === 'chat'),
      problems: problems.slice(0, 20),
      problemCount: problems.length,
      truncated,
      seqLen,
      preview: examples.map((e, i) => ({ row: (data.sft ?? data.dpo)![i]?.row ?? i + 1, tokens: tokens(e.chosen), ...(e.rejected ? { rejected: tokens(e.rejected) } : {}) })),
      template: TINY_LM_CHAT_TEMPLATE,
      csv,
    }
    this.post({ type: 'lmData', summary })
  }

  /** Training and validation sets: the held-out file, or the last valSplit of the rows. */
  private encodeSets(settings: Settings, opts: { beta: number; sftWeight: number; pack: boolean }): { train: Encoded; val: Encoded; dropped: RowProblem[] } {
    const d = this.data
    if (!d) throw new Error('Choose a training file for this objective first.')
    const { tokenizer, model } = this.model()
    const seqLen = Math.min(settings.seqLen, model.config.seqLen)
    const chat = tinyLmChatFormat(tokenizer)
    const split = <T,>(rows: T[], val: T[] | null): [T[], T[]] => {
      if (val) return [rows, val]
      const nVal = Math.round(rows.length * settings.valSplit)
      if (nVal === 0) throw new Error(`No held-out rows: the validation split is 0 and no validation file was given. Add a validation file, or set a validation split above 0.`)
      return [rows.slice(0, rows.length - nVal), rows.slice(rows.length - nVal)]
    }
    if (d.objective === 'sft') {
      const [a, b] = split(d.sft!, d.valSft)
      const ea = encodeSft(a, tokenizer, { seqLen, chat })
      const eb = encodeSft(b, tokenizer, { seqLen, chat })
      const asSet = (ex: SftExample[], pack: boolean) => sftEncoded(toWindows(ex, seqLen, tokenizer.padId, pack).map((w) => ({ row: w.rows[0]!, ids: w.ids, mask: w.mask, promptCut: 0 })), seqLen, tokenizer.padId)
      // Validation rows are never packed: each is scored on its own context.
      return { train: asSet(ea.examples, opts.pack), val: asSet(eb.examples, false), dropped: [...ea.dropped, ...eb.dropped] }
    }
    const [a, b] = split(d.dpo!, d.valDpo)
    const ea = encodeDpo(a, tokenizer, { seqLen, chat })
    const eb = encodeDpo(b, tokenizer, { seqLen, chat })
    return {
      train: pairsEncoded(ea.pairs, seqLen, tokenizer.padId, opts),
      val: pairsEncoded(eb.pairs, seqLen, tokenizer.padId, opts),
      dropped: [...ea.dropped, ...eb.dropped],
    }
  }

  private async train(msg: Extract<LmCommand, { type: 'lmTrain' }>): Promise<void> {
    const { runId, settings } = msg
    if (this.s.run) throw new Error('A run is already in progress: stop it first.')
    const { model } = this.model()
    if (settings.method === 'head') throw new Error('"Head only" trains a new classifier head, and these objectives have none: choose LoRA, adapters, "Freeze early blocks" or full fine-tuning.')
    await this.ensureBackend(settings.backend)
    let { train, val } = this.encodeSets(settings, msg)
    if (train.n === 0 || val.n === 0) throw new Error(`After checking the rows, ${train.n} training and ${val.n} held-out examples are left: fix the rows the preview names, or add data.`)
    // A run starts from the base weights: drop what the last run added.
    this.s.tuning?.dispose()
    this.s.tuning = null
    if (this.s.base) resetWeights(model, this.s.base)
    const post = this.post
    if (train.kind === 'pairs' && val.kind === 'pairs') {
      // The reference policy: the model before tuning, scored once (no second copy kept).
      post({ type: 'progress', task: 'baseline', done: 0, total: 1, label: 'Scoring the answers with the model before tuning (the DPO reference)' })
      train = await referenceLogProbs(model, train, settings)
      val = await referenceLogProbs(model, val, settings)
    }
    const tuning = new Tuning(model, settings, null)
    this.s.tuning = tuning
    this.s.lastVal = val
    const control = new RunControl()
    this.s.run = { id: runId, control }
    post({ type: 'state', runId, state: 'running' })
    // DPO: each training batch's rewards, read between the loop's step reports (the loop
    // itself reads only the loss), for the per-step charts.
    const events = runEvents(post, runId)
    const pending: tf.Tensor1D[] = []
    let batch = 0
    const drain = async () => {
      const taken = pending.splice(0)
      const points: DpoStepPoint[] = []
      for (const t of taken) {
        const [rewardAccuracy, rewardMargin, chosenLogProb, rejectedLogProb] = await t.data()
        t.dispose()
        points.push({ batch: ++batch, rewardAccuracy: rewardAccuracy!, rewardMargin: rewardMargin!, chosenLogProb: chosenLogProb!, rejectedLogProb: rejectedLogProb! })
      }
      if (points.length) post({ type: 'lmSteps', runId, points })
    }
    const unwatch = train.kind === 'pairs' ? watchDpoBatches(train, (t) => pending.push(t)) : () => {}
    const callbacks = {
      ...events,
      onStep: (e: Parameters<NonNullable<typeof events.onStep>>[0]) => {
        events.onStep?.(e)
        void drain()
      },
      onEpoch: async (e: Parameters<NonNullable<typeof events.onEpoch>>[0]) => {
        await drain()
        await events.onEpoch?.(e)
      },
    }
    try {
      const result = await fineTune(model, tuning, { train, val }, settings, control, callbacks)
      await drain()
      post({ type: 'done', runId, reason: result.reason, summary: result.summary, message: result.message })
    } finally {
      unwatch()
      tf.dispose(pending.splice(0))
      this.s.run = null
    }
  }

  /** Greedy answer to a conversation, rendered with the chat template and its generation prompt. */
  private async answer(messages: Extract<LmCommand, { type: 'lmChat' }>['messages'], maxTokens: number, hooks: ForwardHooks | undefined, raw: boolean): Promise<{ prompt: string; text: string }> {
    const { model, tokenizer } = this.model()
    const chat = tinyLmChatFormat(tokenizer)
    // Prompt/completion rows trained as bos + prompt → completion; chat rows with the template.
    const prompt = raw ? messages.at(-1)!.content : renderChat(chat, messages, true)
    const context = raw ? [...(tokenizer.bosId !== null ? [tokenizer.bosId] : []), ...tokenizer.encode(prompt)] : encodeWithSpecials(prompt, tokenizer, chat.specials)
    const out: number[] = []
    const T = model.config.seqLen
    for (let i = 0; i < maxTokens; i++) {
      const window = context.slice(-T)
      const logits = tf.tidy(() => {
        const hidden = model.forward(tf.tensor2d([window], [1, window.length], 'int32'), hooks ? { hooks } : {})
        return model.lmLogits(hidden.slice([0, window.length - 1, 0], [1, 1, model.config.dModel]) as tf.Tensor3D).reshape([model.config.vocabSize])
      })
      const v = await logits.data()
      logits.dispose()
      v[tokenizer.padId] = -Infinity
      if (tokenizer.bosId !== null) v[tokenizer.bosId] = -Infinity
      let next = 0
      for (let k = 1; k < v.length; k++) if (v[k]! > v[next]!) next = k
      if (next === tokenizer.eosId) break
      out.push(next)
      context.push(next)
    }
    return { prompt, text: tokenizer.decode(out) }
  }

  private async chat(msg: Extract<LmCommand, { type: 'lmChat' }>): Promise<void> {
    const { model } = this.model()
    if (!msg.messages.length || msg.messages.at(-1)!.role !== 'user') throw new Error('Write a user message to send.')
    const run = () => this.answer(msg.messages, msg.maxTokens, undefined, msg.raw)
    const base = this.s.base ? await withWeights(model, this.s.base, run) : await run()
    const tuning = this.s.tuning && !this.s.tuning.head ? this.s.tuning : null
    const tuned = tuning ? await this.answer(msg.messages, msg.maxTokens, tuning.hooks, msg.raw) : null
    this.post({ type: 'lmChat', requestId: msg.requestId, base: base.text, tuned: tuned?.text ?? null, prompt: base.prompt })
  }

  private async recipe(msg: Extract<LmCommand, { type: 'lmRecipe' }>): Promise<void> {
    const d = this.data
    if (!d) throw new Error('Choose a training file first: the recipe carries it in the trainer\'s format.')
    const rows: Record<string, unknown>[] =
      d.objective === 'sft'
        ? d.sft!.map((r) => (r.kind === 'chat' ? { messages: r.messages } : { prompt: r.prompt, completion: r.completion }))
        : d.dpo!.map((r) => (r.kind === 'chat' ? { prompt: r.prompt, chosen: [{ role: 'assistant', content: r.chosen }], rejected: [{ role: 'assistant', content: r.rejected }] } : { prompt: r.prompt, chosen: r.chosen, rejected: r.rejected }))
    const chat = (d.sft ?? []).some((r) => r.kind === 'chat')
    const r = trlRecipe({ task: msg.objective, settings: msg.settings, model: 'HuggingFaceTB/SmolLM2-135M', beta: msg.beta, sftWeight: msg.sftWeight, packing: msg.pack, chat, dataFile: 'train.jsonl', gpus: 8 })
    this.post({
      type: 'lmRecipe',
      files: [
        { name: 'train.py', text: r.script },
        { name: 'train.jsonl', text: trlDataFile(msg.objective, rows) },
        { name: 'launch.sh', text: `#!/bin/sh\n# ${launchCommand(1).replace('--multi_gpu --num_processes 1 ', '')} on one GPU\n${r.command}\n` },
      ],
    })
  }
}
