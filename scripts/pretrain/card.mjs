// The model card: card.json (machine-readable) and card.md (for people), from one object.
import os from 'node:os'
import { SOURCES } from './corpus.mjs'

export function makeCard({ modelConfig, train, result, snapshot, corpus, partial, wallMs }) {
  return {
    id: 'tiny-lm',
    name: 'Tiny LM',
    status: partial ? `checkpoint during pretraining (step ${snapshot.step} of a planned run)` : 'finished',
    architecture: {
      type: 'decoder-only transformer (GPT-2 style: pre-LayerNorm, tanh-GELU MLP, learned positions, tied input/output embedding)',
      ...modelConfig,
      parameters: result.parameters,
    },
    tokenizer: {
      type: 'byte-level BPE with GPT-2-style pre-tokenisation',
      vocabSize: modelConfig.vocabSize,
      specialIds: { pad: 0, bos: 1, eos: 2 },
      bytes: '3..258',
      trainedOn: `${corpus.tokenizerChars} characters sampled evenly from the training documents`,
    },
    data: {
      sources: SOURCES,
      documents: { train: corpus.trainDocs, validation: corpus.validDocs },
      tokens: { train: corpus.trainTokens, validation: corpus.validTokens },
      validationSplit: 'every 20th document of each source (5%), never trained on',
      documentSeparator: '<eos> after each document',
    },
    training: {
      objective: 'next-token cross-entropy on random windows of seqLen+1 tokens',
      optimizer: 'Adam (beta1 0.9, beta2 0.95), linear warm-up then cosine decay, global-norm clipping',
      ...train,
      steps: snapshot.step,
      tokensSeen: snapshot.tokensSeen,
      epochs: +(snapshot.tokensSeen / corpus.trainTokens).toFixed(2),
      trainingTimeSeconds: Math.round(snapshot.elapsedMs / 1000),
      wallTimeSeconds: Math.round(wallMs / 1000),
    },
    results: {
      finalTrainLoss: round(snapshot.trainLoss),
      validationLoss: round(snapshot.validLoss),
      validationPerplexity: round(snapshot.validPerplexity, 2),
      validationTokens: snapshot.validTokens,
      lossCurve: result.losses?.filter((_, i, all) => i % Math.max(1, Math.floor(all.length / 50)) === 0 || i === all.length - 1),
    },
    environment: {
      runtime: 'TensorFlow.js 4.22 in headless Chromium (scripts/pretrain-tiny-lm.mjs)',
      backend: `${result.backend} (SIMD ${result.simd ? 'on' : 'off'}, threads ${result.multithread ? result.threads : 'off'})`,
      browser: result.userAgent,
      machine: `${os.cpus().length} × ${os.cpus()[0]?.model ?? 'CPU'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, no GPU`,
      date: new Date().toISOString().slice(0, 10),
    },
    intendedUse:
      'A small base model to fine-tune in the browser (classification heads, LoRA, continued pretraining) and to ' +
      'demonstrate what pretraining buys over random weights. It produces English-like text with 19th-century ' +
      'nautical and 20th-century political flavour.',
    limitations: [
      'About a million parameters and a few million training tokens: it knows spelling, common words and local syntax, little else.',
      'Generations are not factual and lose coherence after a sentence or two.',
      'The data is narrow (one novel, one genre of speeches) and carries their era\'s biases: 1851 attitudes and U.S. political rhetoric.',
      'English only; other scripts encode as raw bytes and cost many tokens.',
      'Context is 128 tokens.',
    ],
    rerun: 'npm run pretrain:tiny-lm -- --minutes 35',
  }
}

function round(x, digits = 4) {
  return Number.isFinite(x) ? +x.toFixed(digits) : x
}

export function cardMarkdown(c) {
  const a = c.architecture
  const t = c.training
  const r = c.results
  const lines = [
    `# ${c.name} — model card`,
    '',
    c.status === 'finished' ? '' : `> **Status:** ${c.status}.\n`,
    '## Architecture',
    `${a.type}.`,
    '',
    '| vocab | context | d_model | layers | heads | d_ff | parameters |',
    '|---|---|---|---|---|---|---|',
    `| ${a.vocabSize} | ${a.seqLen} | ${a.dModel} | ${a.nLayers} | ${a.nHeads} | ${a.dFF} | ${a.parameters.toLocaleString('en-US')} |`,
    '',
    `Tokenizer: ${c.tokenizer.type}, ${c.tokenizer.vocabSize} ids (0 <pad>, 1 <bos>, 2 <eos>, 3–258 the bytes, then merges), trained on ${c.tokenizer.trainedOn}.`,
    '',
    '## Pretraining data',
    ...c.data.sources.map((s) => `- **${s.what}** — from the npm package \`${s.package}\`. Licence: ${s.licence}.`),
    '',
    `${c.data.documents.train} training documents (${c.data.tokens.train.toLocaleString('en-US')} tokens); ${c.data.documents.validation} held-out documents (${c.data.tokens.validation.toLocaleString('en-US')} tokens): ${c.data.validationSplit}.`,
    '',
    '## Training',
    `${t.objective}; ${t.optimizer}.`,
    '',
    `- steps: ${t.steps} × batch ${t.batchSize} × ${t.seqLen} tokens = ${t.tokensSeen.toLocaleString('en-US')} tokens seen (${t.epochs} epochs)`,
    `- learning rate: peak ${t.learningRate}, floor ${t.minLearningRate}, warm-up ${t.warmupSteps} steps; clip ${t.clipNorm}; weight decay ${t.weightDecay}`,
    `- training time: ${fmtTime(t.trainingTimeSeconds)} (wall time of the whole script: ${fmtTime(t.wallTimeSeconds)})`,
    `- backend: ${c.environment.backend}; ${c.environment.runtime}`,
    `- machine: ${c.environment.machine}; ${c.environment.date}`,
    '',
    '## Results',
    `- final training loss: ${r.finalTrainLoss}`,
    `- validation loss: ${r.validationLoss} nats/token, **perplexity ${r.validationPerplexity}** on ${r.validationTokens.toLocaleString('en-US')} held-out tokens`,
    `- for scale: a uniform guess over ${a.vocabSize} ids has perplexity ${a.vocabSize}`,
    '',
    ...(c.samples
      ? [
          '## Samples',
          `Continuations of short prompts (temperature ${c.samples.temperature}, up to ${c.samples.newTokens} tokens, not cherry-picked):`,
          '',
          ...c.samples.texts.map((t) => `> ${t.replace(/\s+/g, ' ').trim()}\n`),
        ]
      : []),
    '## Intended use',
    c.intendedUse,
    '',
    '## Limitations',
    ...c.limitations.map((l) => `- ${l}`),
    '',
    '## Reproduce',
    `\`${c.rerun}\` (wasm backend in headless Chromium; results vary with machine speed because the step count is fitted to the time budget).`,
    '',
  ]
  return lines.filter((l, i) => !(l === '' && lines[i - 1] === '')).join('\n')
}

function fmtTime(s) {
  return s >= 60 ? `${Math.floor(s / 60)} min ${s % 60} s` : `${s} s`
}
