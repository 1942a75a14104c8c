import type { FromWorker } from '../worker/protocol'
import { emptySide as empty, type Side } from './parts'
export type { PlaygroundState, Side } from './parts'
import { sliceHook } from './sliceHook'

export const usePlayground = sliceHook('playground')

export function startRequest(requestId: string): void {
  usePlayground.setState({ requestId, pending: true, message: null, sides: { before: empty(), after: empty() }, rendered: null })
}

/** Applies one playground event; events of an older request are dropped. */
export function onPlaygroundEvent(e: Extract<FromWorker, { type: 'prediction' | 'generation' | 'playground' }>): void {
  const st = usePlayground.getState()
  if (e.requestId !== st.requestId) return
  if (e.type === 'playground') {
    usePlayground.setState({ message: e.message, pending: false })
    return
  }
  const side: Side =
    e.type === 'prediction'
      ? { classes: e.classes, value: e.value ?? null, text: null, note: e.note, done: true, stopped: false }
      : { ...st.sides[e.which], text: e.text, done: e.done, stopped: e.stopped, note: e.which === 'before' ? 'the pretrained model' : 'after fine-tuning' }
  const sides = { ...st.sides, [e.which]: side }
  // Done when "after" answers, or when generation was stopped on either side.
  const finished = (e.which === 'after' && side.done) || side.stopped
  usePlayground.setState({ sides, pending: st.pending && !finished, ...(e.type === 'generation' && e.prompt !== undefined ? { rendered: e.prompt } : {}) })
}

/** A worker error ends whatever request was waiting. */
export function endPending(): void {
  if (usePlayground.getState().pending) usePlayground.setState({ pending: false })
}

/** Other weights are in the session (a model or adapter loaded, a .zip imported, a checkpoint or
 *  self-training rounds restored, the weights set back to the base by a run or an import): the
 *  answers on screen were the old weights', so they go. A request still waiting is left to come:
 *  the worker answers it after what it is doing now (a fresh worker's re-load comes first), with
 *  the weights it then holds. */
export function forgetAnswers(): void {
  const st = usePlayground.getState()
  if (st.pending) return
  const shown = st.message !== null || st.rendered !== null || Object.values(st.sides).some((s) => s.classes || s.value || s.text !== null)
  if (shown) usePlayground.setState({ message: null, sides: { before: empty(), after: empty() }, rendered: null })
}

/** Whether the worker's event says other weights are in the session: a load ('model' with
 *  `loaded`; a studio .zip's model comes so too), the weights set back to the base (a run, an
 *  adapter's import or load: 'weightsReset', before the adapter's 'imported'), a checkpoint or
 *  self-training rounds restored. An 'imported' alone is not: a loaded head measured again on
 *  another dataset posts one with the same weights. */
export function replacesAnswers(e: FromWorker): boolean {
  return (e.type === 'model' && e.loaded === true) || e.type === 'weightsReset' || e.type === 'restored' || e.type === 'pseudoRestored'
}
