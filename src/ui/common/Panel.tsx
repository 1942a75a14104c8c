import type { ReactNode } from 'react'

/** A numbered step of the flow, as a labelled region screen readers can jump to. */
export function Panel({ step, title, id, children, aside }: { step: number; title: string; id: string; children: ReactNode; aside?: ReactNode }) {
  return (
    <section className="panel" aria-labelledby={`${id}-title`} id={id}>
      <h2 id={`${id}-title`}>
        <span className="step" aria-hidden="true">
          {step}
        </span>
        {title}
        {aside}
      </h2>
      {children}
    </section>
  )
}
