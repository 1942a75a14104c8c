import { StrictMode } from 'react'
import { createRoot } from 'react-dom/client'
import { App } from './App'
import { startStudio } from './state/actions'
import { installTestHooks } from './testHooks'
import { followModel } from './state/settingsFit'
import './state/shareLink' // keeps the address bar a link to what the page holds
import './ui/styles.css'

followModel() // step 3's defaults follow the loaded model; what the person or a link set stays
startStudio()
createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <App />
  </StrictMode>,
)

// Only in the test build (`vite build --mode e2e`): the constant check lets the bundler drop the hooks.
if (import.meta.env.MODE === 'e2e') installTestHooks()
