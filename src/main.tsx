import { StrictMode } from 'react'
import { createRoot } from 'react-dom/client'
import { App } from './App'
import { crashWorker, startStudio } from './state/actions'
import { useStudio } from './state/store'
import './ui/styles.css'

startStudio()
createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <App />
  </StrictMode>,
)

// A read-only view of the chart series and a worker-failure switch, for the browser tests.
const hooks = window as unknown as { __studio: () => unknown; __crashWorker: () => void }
hooks.__crashWorker = crashWorker
hooks.__studio = () => {
  const { steps, epochs, baseline, result } = useStudio.getState()
  return { steps, epochs, baseline, result }
}
