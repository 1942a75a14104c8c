import { StrictMode } from 'react'
import { createRoot } from 'react-dom/client'
import { App } from './App'
import { crashWorker, restartEngine, sendCheckpoint, sendData, startStudio } from './state/actions'
import { useStudio } from './state/store'
import './ui/styles.css'

startStudio()
createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <App />
  </StrictMode>,
)

// A read-only view of the chart series and a worker-failure switch, for the browser tests.
const hooks = window as unknown as { __studio: () => unknown; __crashWorker: () => void; __setDataLimits: (l: { maxBytes?: number; maxImageFiles?: number; maxImageBytes?: number }) => void }
hooks.__crashWorker = crashWorker
// Fault tests for checkpoints: end the worker mid-run; make the storage estimate report a full disk.
const faults = window as unknown as { __killWorker: () => void; __storageFault: (f: 'none' | 'quota') => void }
faults.__killWorker = () => restartEngine('The training worker stopped unexpectedly. The page restarted it; your checkpoints are kept — resume from the last one below.')
faults.__storageFault = (fault) => sendCheckpoint({ type: 'storageFault', fault })
hooks.__setDataLimits = (l) => sendData({ type: 'setDataLimits', ...l })
hooks.__studio = () => {
  const { steps, epochs, baseline, result } = useStudio.getState()
  return { steps, epochs, baseline, result }
}
