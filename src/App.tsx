import { BackendBadge } from './ui/common/BackendBadge'
import { BusyBar } from './ui/common/BusyBar'
import { Notices } from './ui/common/Notices'
import { DataPanel } from './ui/data/DataPanel'
import { EvaluatePanel } from './ui/evaluate/EvaluatePanel'
import { ModelPanel } from './ui/model/ModelPanel'
import { SettingsPanel } from './ui/settings/SettingsPanel'
import { TrainPanel } from './ui/train/TrainPanel'

/** The panels in the order of the work: data → model → method & hyperparameters → train → evaluate. */
export function App() {
  return (
    <>
      <header className="top">
        <h1>Fine-tuning Studio</h1>
        <p className="tagline">Fine-tune a pretrained model on your own data, in this tab. Nothing leaves your machine.</p>
        <BackendBadge />
      </header>
      <BusyBar />
      <Notices />
      <main className="flow">
        <DataPanel />
        <ModelPanel />
        <SettingsPanel />
        <TrainPanel />
        <EvaluatePanel />
      </main>
    </>
  )
}
