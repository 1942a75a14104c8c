import { useLayoutEffect, useRef } from 'react'
import { BusyBar } from './ui/common/BusyBar'
import { CpuNotice } from './ui/common/BackendBadge'
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
import { LmObjectivesPanel } from './ui/lmObjectives/LmObjectivesPanel'
import { LivePane } from './ui/workspace/LivePane'
import { RunBar } from './ui/workspace/RunBar'
import { StepNav } from './ui/workspace/StepNav'

/** A workspace: the run bar stays on top; on a wide screen the steps are a column on the
 *  left, the panels in the order of the work (data → model → method & hyperparameters →
 *  train → evaluate → try it → keep → export) in the middle and the live charts on the right;
 *  on a phone it is one column in that order, the charts just before the Train step. */
export function App() {
  const top = useRef<HTMLElement>(null)
  // The sticky bar's height, for the sticky columns and scroll targets under it.
  useLayoutEffect(() => {
    const el = top.current
    if (!el || typeof ResizeObserver === 'undefined') return
    // Grow-only while the width stays: the bar's height changes whenever its busy or progress
    // line comes and goes, and every new --bar-h on <html> restyled the whole page (85 ms of
    // style recalculation in a 219 ms main-thread task at a run's end, bench trace). A few
    // pixels of spare room under the bar cost nothing.
    let width = -1
    let height = 0
    const set = () => {
      const w = el.offsetWidth
      const h = el.offsetHeight
      if (w === width && h <= height) return
      width = w
      height = h
      document.documentElement.style.setProperty('--bar-h', `${h}px`)
    }
    set()
    const ro = new ResizeObserver(set)
    ro.observe(el)
    return () => ro.disconnect()
  }, [])
  return (
    <>
      <header className="top" ref={top}>
        <div className="brand">
          <h1>Fine-tuning Studio</h1>
          <p className="tagline">Fine-tune a pretrained model on your own data, in this tab. Nothing leaves your machine.</p>
        </div>
        <RunBar />
        <BusyBar />
      </header>
      <div className="workspace">
        <StepNav />
        <main className="flow">
          <div className="messages">
            <CpuNotice />
            <Notices />
            <RecoveryAlerts />
          </div>
          <DataPanel />
          <ModelPanel />
          <SettingsPanel />
          <LivePane />
          <TrainPanel />
          <LmObjectivesPanel />
          <EvaluatePanel />
          <PlaygroundPanel />
          <CheckpointsPanel />
          <ExportPanel />
        </main>
      </div>
    </>
  )
}
