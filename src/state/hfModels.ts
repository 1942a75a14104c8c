/** The page's side of Hugging Face models: the last repo looked at (sizes, memory per method),
 *  the repos stored in this browser, and the commands that ask the worker (hfModelHost.ts). */
import type { FromWorker } from '../worker/protocol'
import type { HfRepoRef } from '../worker/hfProtocol'
import { endHfLoads, onHfLoaded, sendHf } from './actions'
import { sliceHook } from './sliceHook'
import { useStudio, type RunSlice, runActive } from './store'
import type { HfLoadInFlight } from './parts'
import { withoutFailedLoads } from './hfLoadNotices'

/** The hf part of the one store (parts.ts HfState). */
export const useHf = sliceHook('hf')

export function onHfEvent(e: Extract<FromWorker, { type: 'hfProbe' | 'hfStored' | 'hfLoaded' }>): void {
  // The probe's answer and the busy line it ends: one store update.
  if (e.type === 'hfProbe') useStudio.setState((st) => ({ hf: { ...st.hf, probe: e.probe, probing: false }, busy: null }))
  else if (e.type === 'hfLoaded') {
    onHfLoaded(e)
    // the alerts of the attempts before it are over
    useStudio.setState((st) => ({ notices: withoutFailedLoads(st.notices) }))
  }
  else useHf.setState({ stored: e.repos })
}

/** An error from the worker. Only a load's own error ends it (the error says its loadId): others
 *  (a checkpoint or dataset that could not be saved, answered even mid-load) leave it loading. */
export function onHfError(e: Extract<FromWorker, { type: 'error' }>): void {
  if (e.loadId !== undefined) endHfLoads(e.loadId)
}

/** The repos whose files a load in flight reads or downloads (Hub loads; several can be out). */
export const loadingRepos = (loads: readonly HfLoadInFlight[]): string[] => loads.flatMap((l) => (l.load.source.kind === 'hub' ? [l.load.source.ref.repo.trim()] : []))

/** Why a stored repo's Delete waits (null: it need not): its files are being loaded (the delete
 *  would run once the load has ended and throw away what it just read or downloaded), or it is
 *  the open model and a run uses it (a restarted worker loads it again from those files). */
export function hfDeleteWaits(repo: string, now: { loading: readonly string[]; modelId: string | null; status: RunSlice['status'] }): string | null {
  if (now.loading.includes(repo)) return `${repo} is loading: its files can be deleted once the load has ended.`
  const running = runActive(now.status)
  if (running && (now.modelId === `hf:${repo}` || now.modelId?.startsWith(`hf:${repo}@`))) return `${repo} is the open model and the run uses it: its files can be deleted once the run has ended.`
  return null
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
  const whole = useHf.getState().stored?.some((r) => r.whole && r.repo === ref.repo.trim() && r.revision === ref.revision)
  useStudio.setState({ busy: { task: 'model', done: 0, total: 1, label: whole ? `Loading ${ref.repo} from this browser` : `Downloading ${ref.repo}` } })
  sendHf({ type: 'hfLoad', source: { kind: 'hub', ref } })
}

export function loadHfFiles(files: File[]) {
  useStudio.setState({ busy: { task: 'model', done: 0, total: 1, label: `Reading ${files.map((f) => f.name).join(', ')}` } })
  sendHf({ type: 'hfLoad', source: { kind: 'files', files } })
}

export function listHfStored() {
  sendHf({ type: 'hfListStored' })
}

export function deleteHfStored(repo: string, revision: string) {
  sendHf({ type: 'hfDeleteStored', repo, revision })
}

/** Sets the loaded sequence classifier's own head aside: the next run trains a new one. */
export function newHfHead() {
  sendHf({ type: 'hfNewHead' })
}

/** Names a loaded head's placeholder classes (names[i] for LABEL_i) and keeps the head. */
export function nameHfHeadClasses(names: string[]) {
  sendHf({ type: 'hfNameHeadClasses', names })
}
