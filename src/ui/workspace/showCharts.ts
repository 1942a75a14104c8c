/** Brings the live charts into view when none of them is: in the one-column layout (below
 *  1100 px) they sit far down the page, above the Train step, so a run started from the run
 *  bar would train out of sight. On a wide screen they are beside the settings and sticky:
 *  already in view, nothing moves. The page's scroll-padding keeps them below the run bar. */
export function showCharts(): void {
  const pane = document.querySelector<HTMLElement>('aside.live')
  if (!pane) return
  const r = pane.getBoundingClientRect()
  const bar = document.querySelector('header.top')?.getBoundingClientRect().bottom ?? 0
  const seen = r.bottom > bar && r.top < window.innerHeight
  if (!seen) pane.scrollIntoView({ block: 'start' })
}
