import { crashWorker, sendCheckpoint, sendData } from './state/actions'
import { useStudio } from './state/store'
import { useExport } from './state/exportState'

/** Hooks for the browser tests only. main.tsx installs them when the app is built with
 *  `vite build --mode e2e` (what playwright.config.ts serves); the production build drops this
 *  module (e2e/production-build.spec.ts checks the built files). */
export function installTestHooks() {
  const w = window as unknown as {
    __studio: () => unknown
    __crashWorker: () => void
    __storageFault: (f: 'none' | 'quota') => void
    __setDataLimits: (l: { maxBytes?: number; maxImageFiles?: number; maxImageBytes?: number }) => void
  }
  // A read-only view of the chart series.
  w.__studio = () => {
    const { steps, epochs, baseline, result } = useStudio.getState()
    const { sweep, applied } = useExport.getState() // the Evaluate panel's blend: its sweep over α and the α applied
    return { steps, epochs, baseline, result, sweep, applied }
  }
  // An error thrown inside the worker's handler reaches the page.
  w.__crashWorker = crashWorker
  // The worker's storage estimate reports a full disk (see checkpointProtocol.ts).
  w.__storageFault = (fault) => sendCheckpoint({ type: 'storageFault', fault })
  // Smaller dataset limits, so refusals can be tested with small files.
  w.__setDataLimits = (l) => sendData({ type: 'setDataLimits', ...l })
}
