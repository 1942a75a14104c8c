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
