// Main-thread tasks of a Chrome trace with what ran inside them, so every long task the bench
// counts comes with its cause (script by function and file, layout, paint, GC...). Used by
// bench/run.mjs (the app runs) and bench/longtasks.mjs (the diagnosis script).

/** Trace categories that give the renderer's RunTask events and their children. */
export const TRACE_CATEGORIES = ['devtools.timeline', 'disabled-by-default-devtools.timeline', 'v8.execute', 'blink.user_timing']

/**
 * Tasks of at least `minMs` on the page's main thread (CrRendererMain), from `sinceClick`
 * (the first click event in the trace) on when asked, each with its heaviest children.
 * @returns {{ atSec: number, ms: number, inside: string[] }[]} atSec: seconds after the click (or the first task)
 */
export function longTraceTasks(buf, { minMs = 50, sinceClick = true, top = 6 } = {}) {
  const events = JSON.parse(buf.toString()).traceEvents
  const main = events.find((e) => e.name === 'thread_name' && e.args?.name === 'CrRendererMain' && events.some((x) => x.pid === e.pid && x.name === 'FunctionCall'))
  if (!main) return []
  const mine = events.filter((e) => e.pid === main.pid && e.tid === main.tid && e.ph === 'X')
  const click = sinceClick ? mine.find((e) => e.name === 'EventDispatch' && e.args?.data?.type === 'click') : null
  const t0 = click?.ts ?? Math.min(...mine.map((e) => e.ts))
  const tasks = mine.filter((e) => e.name === 'RunTask' && e.dur >= minMs * 1000 && e.ts >= t0 - 5000).sort((a, b) => a.ts - b.ts)
  return tasks.map((t) => {
    const kids = mine.filter((e) => e !== t && e.ts >= t.ts && e.ts + e.dur <= t.ts + t.dur && e.dur >= 2000)
    const by = new Map()
    for (const k of kids) {
      const d = k.args?.data ?? {}
      const name = k.name === 'FunctionCall' || k.name === 'EvaluateScript' ? `${k.name} ${d.functionName || '(anonymous)'} ${(d.url ?? '').split('/').pop()}:${d.lineNumber ?? ''}:${d.columnNumber ?? ''}` : k.name === 'EventDispatch' ? `EventDispatch ${d.type ?? ''}` : k.name
      by.set(name, (by.get(name) ?? 0) + k.dur)
    }
    const inside = [...by].sort((a, b) => b[1] - a[1]).slice(0, top).map(([n, d]) => `${n} ${(d / 1000).toFixed(0)} ms`)
    return { atSec: Number(((t.ts - t0) / 1e6).toFixed(2)), ms: Number((t.dur / 1000).toFixed(1)), inside }
  })
}
