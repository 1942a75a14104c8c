/** For tests of the page's state: the bridge (state/bridge.ts) connected to a channel the test
 *  posts the worker's events into, as worker/client.ts delivers them. Not part of the app. */
import type { EngineClient } from '../worker/client'
import type { FromWorker, ModelSummary } from '../worker/protocol'
import { connectBridge } from './bridge'

export function bridgeChannel() {
  let listener: ((e: FromWorker) => void) | null = null
  const client = { on: (l: (e: FromWorker) => void) => ((listener = l), () => void (listener = null)) } as unknown as EngineClient
  const off = connectBridge(client)
  return { post: (e: FromWorker) => listener!(e), off }
}

/** A model summary with the fields the page's state reads in these tests. */
export const modelSummary = (id: string) => ({ id, title: id }) as unknown as ModelSummary
