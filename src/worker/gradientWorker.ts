/// <reference lib="webworker" />
// Another engine worker (the second of two, or one of several): a replica of the run's model
// that computes the gradient of its share of every batch (engine/train/dataParallel.ts) and its
// share of the rows of the run's inference passes (engine/train/inferencePasses.ts), on one
// WebAssembly thread of its own.
import { GradientReplica, halfResultTransfer } from '../engine/train/dataParallel'
import { importWasm, startWasmOneThread } from './backendEnvironment'
import type { FromGradientWorker, ToGradientWorker } from './gradientPeer'
import { explainEngineError } from '../engine/engineErrors'
import { installBenchReadouts } from './benchReadouts'

const ctx = self as unknown as DedicatedWorkerGlobalScope
// Liveness: the lock named after this worker is held until it ends (worker/gradientPeer.ts).
void ctx.navigator.locks?.request(ctx.name, () => new Promise<never>(() => {}))
const replica = new GradientReplica()
// Requests answered, by kind (a training half, or an inference pass by its kind): the browser
// tests read it to see which passes this worker took (benchReadouts.ts; not in the production build).
const answered: Record<string, number> = {}
if (import.meta.env.MODE !== 'production') installBenchReadouts({ replicaRequests: answered })
let started: Promise<void> | null = null
const start = async () => {
  if (!(await startWasmOneThread(await importWasm()))) throw new Error('WebAssembly did not start in the second worker')
}

ctx.onmessage = async (m: MessageEvent<ToGradientWorker>) => {
  const msg = m.data
  try {
    await (started ??= start())
    if (msg.type === 'warm') ctx.postMessage({ id: msg.id, ok: true } satisfies FromGradientWorker)
    else if (msg.type === 'setup') {
      await replica.setup(msg.setup)
      ctx.postMessage({ id: msg.id, ok: true } satisfies FromGradientWorker)
    } else if (msg.type === 'infer') {
      const result = await replica.infer(msg.request)
      answered[msg.request.pass.kind] = (answered[msg.request.pass.kind] ?? 0) + 1
      ctx.postMessage({ id: msg.id, ok: true, result } satisfies FromGradientWorker, [...new Set([result.data.buffer, ...(result.weightBuffer ? [result.weightBuffer.buffer] : [])])])
    } else {
      const result = await replica.half(msg.request)
      answered.half = (answered.half ?? 0) + 1
      ctx.postMessage({ id: msg.id, ok: true, result } satisfies FromGradientWorker, halfResultTransfer(result))
    }
  } catch (e) {
    // Words for the run's end message; the engine's own text goes to the console only.
    console.error('Second training worker:', e)
    const failure = explainEngineError(e, { backend: 'wasm' }).failure
    const words = failure === 'aborted' || failure === 'memory' || failure === 'too-large' ? 'it ran out of memory' : 'it hit an error it could not recover from'
    ctx.postMessage({ id: msg.id, ok: false, message: words } satisfies FromGradientWorker)
  }
}
