import { BackendBadge } from './ui/common/BackendBadge'
import { BusyBar } from './ui/common/BusyBar'
import { CheckpointsPanel } from './ui/checkpoints/CheckpointsPanel'
import { RecoveryAlerts } from './ui/checkpoints/RecoveryAlerts'
import { Notices } from './ui/common/Notices'
import { DataPanel } from './ui/data/DataPanel'
import { EvaluatePanel } from './ui/evaluate/EvaluatePanel'
import { ExportPanel } from './ui/export/ExportPanel'
import { ModelPanel } from './ui/model/ModelPanel'
import { PlaygroundPanel } from './ui/playground/PlaygroundPanel'
import { SettingsPanel } from './ui/settings/SettingsPanel'
import { TrainPanel } from './ui/train/TrainPanel'

/** The panels in the order of the work: data → model → method & hyperparameters → train →
 *  evaluate → try it → keep (checkpoints) → export and share. */
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
      <RecoveryAlerts />
      <main className="flow">
        <DataPanel />
        <ModelPanel />
        <SettingsPanel />
        <TrainPanel />
        <EvaluatePanel />
        <PlaygroundPanel />
        <CheckpointsPanel />
        <ExportPanel />
      </main>
    </>
  )
}
