import { useEffect, useState } from 'react'
import { useStudio, runActive } from '../../state/store'

export type StepState = 'done' | 'attention' | 'active' | 'not-yet'

const WORDS: Record<StepState, string> = { done: 'done', attention: 'needs attention', active: 'in progress', 'not-yet': 'not yet' }
const MARKS: Record<StepState, string> = { done: '✓', attention: '!', active: '…', 'not-yet': '' }

/** Each step's state from the store: what is done, what needs the person, what is still ahead. */
function useStepStates(): { id: string; title: string; state: StepState }[] {
  const dataset = useStudio((s) => !!s.dataset)
  const model = useStudio((s) => !!s.model)
  const problems = useStudio((s) => s.problems.length)
  const status = useStudio((s) => s.status)
  // Evaluate and Try it have tuned weights to show: a run's result, or (outside a run) the
  // validation metrics of weights put back since, e.g. a restored checkpoint.
  const tuned = useStudio((s) => !!s.result || (!runActive(s.status) && !!s.lastVal))
  const storageFull = useStudio((s) => !!s.checkpoints.storageFull)
  const checkpoints = useStudio((s) => s.checkpoints.items.length)
  const exported = useStudio((s) => !!s.exporting.lastExport)
  const loading = useStudio((s) => s.busy?.task)
  const running = runActive(status)
  return [
    { id: 'data', title: 'Data', state: dataset ? 'done' : loading === 'dataset' ? 'active' : 'not-yet' },
    { id: 'model', title: 'Base model', state: model ? 'done' : loading === 'model' ? 'active' : 'not-yet' },
    { id: 'settings', title: 'Method and settings', state: problems ? 'attention' : dataset && model ? 'done' : 'not-yet' },
    { id: 'train', title: 'Train', state: storageFull ? 'attention' : running ? 'active' : status === 'done' ? 'done' : 'not-yet' },
    { id: 'evaluate', title: 'Evaluate', state: tuned ? 'done' : 'not-yet' },
    { id: 'playground', title: 'Try it', state: tuned ? 'done' : 'not-yet' },
    { id: 'checkpoints', title: 'Checkpoints and runs', state: checkpoints ? 'done' : 'not-yet' },
    { id: 'export', title: 'Export and share', state: exported ? 'done' : 'not-yet' },
  ]
}

/** The steps as a navigation column: each with its state; the one in view is marked current. */
export function StepNav() {
  const steps = useStepStates()
  const [current, setCurrent] = useState('data')
  useEffect(() => {
    // The current step is the last one whose heading has passed a line a third of the way
    // down the space under the run bar; measured once per frame while scrolling.
    let frame = 0
    const measure = () => {
      frame = 0
      const bar = document.querySelector('header.top')?.getBoundingClientRect().bottom ?? 0
      const line = bar + (window.innerHeight - bar) / 3
      let at: string | null = null
      for (const s of document.querySelectorAll<HTMLElement>('main.flow > section.panel')) if (s.getBoundingClientRect().top <= line) at = s.id
      setCurrent(at ?? 'data')
    }
    const onScroll = () => {
      if (!frame) frame = requestAnimationFrame(measure)
    }
    window.addEventListener('scroll', onScroll, { passive: true })
    window.addEventListener('resize', onScroll)
    return () => {
      window.removeEventListener('scroll', onScroll)
      window.removeEventListener('resize', onScroll)
      if (frame) cancelAnimationFrame(frame)
    }
  }, [])
  return (
    <nav className="steps" aria-label="Steps">
      <ol>
        {steps.map((s, i) => (
          <li key={s.id} className={`step-link ${s.state}`} data-testid={`step-${s.id}`} data-state={s.state}>
            <a href={`#${s.id}`} aria-current={current === s.id ? 'step' : undefined}>
              <span className="step-no" aria-hidden="true">
                {MARKS[s.state] || i + 1}
              </span>
              <span className="step-title">{s.title}</span>
              <span className="step-state">{WORDS[s.state]}</span>
            </a>
          </li>
        ))}
      </ol>
    </nav>
  )
}
