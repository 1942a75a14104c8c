/** Browser side of scripts/pretrain-tiny-lm.mjs: wasm (SIMD + threads) is the fastest
 *  tfjs backend on a machine without a GPU, and threads need this cross-origin-isolated page. */
import * as tf from '@tensorflow/tfjs'
import { getThreadsCount, setThreadsCount, setWasmPaths } from '@tensorflow/tfjs-backend-wasm'
import plainWasm from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url'
import simdWasm from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url'
import threadedWasm from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm?url'
import { BpeTokenizer, type BpeTokenizerJson } from '../../src/engine/data/bpeTokenizer'
import { serializeTinyGpt, type ModelCard } from '../../src/engine/models/modelFile'
import { TinyGpt, type TinyGptConfig } from '../../src/engine/models/tinyGpt'
import { checkFastWasmMatMul, installFastWasmMatMul } from './wasmMatMul'
import { evaluateLm, pretrainLm, type PretrainConfig } from '../../src/engine/train/pretrainLm'

setWasmPaths({
  'tfjs-backend-wasm.wasm': plainWasm,
  'tfjs-backend-wasm-simd.wasm': simdWasm,
  'tfjs-backend-wasm-threaded-simd.wasm': threadedWasm,
})

export interface RunArgs {
  modelConfig: TinyGptConfig
  train: PretrainConfig
  tokenizer: BpeTokenizerJson
  trainTokens: string // base64 of little-endian uint16 ids
  validTokens: string
  checkpointEveryMs: number // 0 = none
  evalBatches: number // batches of held-out text at checkpoints
  finalEvalBatches: number // at the end; 0 = all of it
  initSeed: number
}

/** Where and how the run happens; copied into every snapshot so checkpoint cards are complete. */
export interface Runtime {
  backend: string
  threads: number
  simd: boolean
  multithread: boolean
  crossOriginIsolated: boolean
  userAgent: string
  parameters: number
}

export interface Snapshot {
  runtime: Runtime
  step: number
  tokensSeen: number
  elapsedMs: number
  trainLoss: number
  validLoss: number
  validPerplexity: number
  validTokens: number
  json: object
  weights: string // base64 float32
}

export interface RunResult extends Runtime {
  final: Snapshot
  losses: { step: number; loss: number }[]
}

declare global {
  interface Window {
    pretrainReady?: boolean
    runPretrain?: (args: RunArgs) => Promise<RunResult>
    /** Exposed by the Node script (page.exposeFunction). */
    saveCheckpoint?: (s: Snapshot) => Promise<void>
  }
}

function toBase64(bytes: Uint8Array): string {
  let s = ''
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000))
  return btoa(s)
}

function fromBase64U16(b64: string): Uint16Array {
  const bin = atob(b64)
  const bytes = new Uint8Array(bin.length)
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i)
  return new Uint16Array(bytes.buffer)
}

async function snapshot(
  model: TinyGpt,
  tokenizer: BpeTokenizer,
  valid: Uint16Array,
  args: RunArgs,
  runtime: Runtime,
  at: { step: number; tokensSeen: number; elapsedMs: number; trainLoss: number },
  evalBatches: number,
): Promise<Snapshot> {
  const v = await evaluateLm(model, valid, args.train.seqLen, args.train.batchSize, evalBatches)
  // The Node side writes the real card; model.json's copy is filled in there too.
  const card: ModelCard = {}
  const { json, weights } = await serializeTinyGpt(model, tokenizer, card)
  return { runtime, ...at, validLoss: v.loss, validPerplexity: v.perplexity, validTokens: v.tokens, json, weights: toBase64(new Uint8Array(weights)) }
}

/** tfjs-wasm sizes its pthread pool to hardwareConcurrency / 2, so a 2-core machine gets a
 *  single thread; reporting 4 cores lets XNNPACK use both (measured 2.4 s → 2.0 s a step). */
function useAllCores(): number {
  const cores = navigator.hardwareConcurrency || 1
  if (cores < 4) Object.defineProperty(navigator, 'hardwareConcurrency', { get: () => 4 })
  setThreadsCount(Math.max(1, cores))
  return cores
}

window.runPretrain = async (args: RunArgs): Promise<RunResult> => {
  useAllCores()
  await tf.setBackend('wasm')
  await tf.ready()
  installFastWasmMatMul()
  await checkFastWasmMatMul()
  const multithread = (await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT')) as boolean
  const simd = (await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT')) as boolean
  console.log(`backend ${tf.getBackend()} simd=${simd} threads=${multithread} (${getThreadsCount()}) isolated=${crossOriginIsolated}`)
  if (!multithread) console.warn('wasm threads unavailable: is the page cross-origin isolated (COOP/COEP)?')

  const tokenizer = BpeTokenizer.fromJSON(args.tokenizer)
  const train = fromBase64U16(args.trainTokens)
  const valid = fromBase64U16(args.validTokens)
  const model = new TinyGpt(args.modelConfig, undefined, args.initSeed)
  console.log(`model ${model.parameterCount()} parameters; ${train.length} training tokens, ${valid.length} held out`)
  const runtime: Runtime = {
    backend: tf.getBackend(),
    threads: getThreadsCount(),
    simd,
    multithread,
    crossOriginIsolated,
    userAgent: navigator.userAgent,
    parameters: model.parameterCount(),
  }

  let lastCheckpoint = performance.now()
  const result = await pretrainLm(model, train, args.train, {
    onStep: async (info) => {
      const tokPerS = info.tokensSeen / (info.elapsedMs / 1000)
      console.log(
        `step ${info.step}/${info.totalSteps} loss ${info.loss.toFixed(4)} lr ${info.learningRate.toExponential(2)} ` +
          `tokens ${info.tokensSeen} ${tokPerS.toFixed(0)} tok/s ${(info.elapsedMs / 1000).toFixed(0)} s`,
      )
      if (args.checkpointEveryMs > 0 && performance.now() - lastCheckpoint > args.checkpointEveryMs && window.saveCheckpoint) {
        const s = await snapshot(model, tokenizer, valid, args, runtime, { ...info, trainLoss: info.loss }, args.evalBatches)
        console.log(`checkpoint at step ${info.step}: valid loss ${s.validLoss.toFixed(4)} ppl ${s.validPerplexity.toFixed(1)}`)
        await window.saveCheckpoint(s)
        lastCheckpoint = performance.now()
      }
    },
  })
  const final = await snapshot(
    model,
    tokenizer,
    valid,
    args,
    runtime,
    { step: result.steps, tokensSeen: result.tokensSeen, elapsedMs: result.elapsedMs, trainLoss: result.finalLoss },
    args.finalEvalBatches > 0 ? args.finalEvalBatches : Infinity,
  )
  console.log(`final: valid loss ${final.validLoss.toFixed(4)} ppl ${final.validPerplexity.toFixed(1)} on ${final.validTokens} tokens`)
  const out: RunResult = { ...runtime, final, losses: result.losses }
  model.dispose()
  return out
}

window.pretrainReady = true
