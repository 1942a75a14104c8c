/** The page's side of Hugging Face models: the last repo looked at (sizes, memory per method),
 *  the repos stored in this browser, and the commands that ask the worker (hfModelHost.ts). */
import type { FromWorker } from '../worker/protocol'
import type { HfRepoRef } from '../worker/hfProtocol'
import { onHfLoaded, sendHf } from './actions'
import { sliceHook } from './sliceHook'
import { useStudio } from './store'

/** The hf part of the one store (parts.ts HfState). */
export const useHf = sliceHook('hf')

export function onHfEvent(e: Extract<FromWorker, { type: 'hfProbe' | 'hfStored' | 'hfLoaded' }>): void {
  // The probe's answer and the busy line it ends: one store update.
  if (e.type === 'hfProbe') useStudio.setState((st) => ({ hf: { ...st.hf, probe: e.probe, probing: false }, busy: null }))
  else if (e.type === 'hfLoaded') onHfLoaded(e)
  else useHf.setState({ stored: e.repos })
}

/** The worker said no (an error event): nothing is being probed any more. */
useStudio.subscribe((st, prev) => {
  if (st.notices !== prev.notices && useHf.getState().probing) useHf.setState({ probing: false })
})

export function probeHf(ref: HfRepoRef) {
  const { settings } = useStudio.getState()
  useStudio.setState((st) => ({ hf: { ...st.hf, probing: true, probe: null, probedRef: ref }, busy: { task: 'model', done: 0, total: 1, label: `Looking at ${ref.repo} on the Hub` } }))
  sendHf({ type: 'hfProbe', ref, batch: settings.batchSize, seq: settings.seqLen })
}

export function loadHf(ref: HfRepoRef) {
  useStudio.setState({ busy: { task: 'model', done: 0, total: 1, label: `Downloading ${ref.repo}` } })
  sendHf({ type: 'hfLoad', source: { kind: 'hub', ref } })
}

export function loadHfFiles(files: File[]) {
  useStudio.setState({ busy: { task: 'model', done: 0, total: 1, label: `Reading ${files.map((f) => f.name).join(', ')}` } })
  sendHf({ type: 'hfLoad', source: { kind: 'files', files } })
}

export function listHfStored() {
  sendHf({ type: 'hfListStored' })
}

export function deleteHfStored(repo: string) {
  sendHf({ type: 'hfDeleteStored', repo })
}

/** Sets the loaded sequence classifier's own head aside: the next run trains a new one. */
export function newHfHead() {
  sendHf({ type: 'hfNewHead' })
}

/** Names a loaded head's placeholder classes (names[i] for LABEL_i) and keeps the head. */
export function nameHfHeadClasses(names: string[]) {
  sendHf({ type: 'hfNameHeadClasses', names })
}
