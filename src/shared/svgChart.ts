import { escapeHtml } from './escapeHtml'

/** A small line chart as an SVG string (no library, no external resources), for reports. */
export interface SvgSeries {
  name: string
  color: string
  points: [number, number][]
}

const W = 640
const H = 240
const M = { l: 52, r: 16, t: 28, b: 36 }

export function lineChartSvg(opts: { title: string; xLabel: string; series: SvgSeries[] }): string {
  const e = escapeHtml
  const all = opts.series.flatMap((s) => s.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y)))
  const head = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="${e(opts.title)}"><title>${e(opts.title)}</title><text x="${M.l}" y="18" font-size="13" font-weight="600">${e(opts.title)}</text>`
  if (all.length === 0) return `${head}<text x="${W / 2}" y="${H / 2}" text-anchor="middle" fill="#666">no data</text></svg>`
  const xs = all.map((p) => p[0])
  const ys = all.map((p) => p[1])
  let [x0, x1] = [Math.min(...xs), Math.max(...xs)]
  let [y0, y1] = [Math.min(...ys), Math.max(...ys)]
  if (x0 === x1) [x0, x1] = [x0 - 1, x1 + 1]
  if (y0 === y1) [y0, y1] = [y0 - 1, y1 + 1]
  const pad = (y1 - y0) * 0.05
  y0 -= pad
  y1 += pad
  const px = (x: number) => M.l + ((x - x0) / (x1 - x0)) * (W - M.l - M.r)
  const py = (y: number) => H - M.b - ((y - y0) / (y1 - y0)) * (H - M.t - M.b)
  const ticks = (a: number, b: number) => Array.from({ length: 5 }, (_, i) => a + ((b - a) * i) / 4)
  const fmt = (v: number) => (Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 1 ? v.toFixed(2) : v.toFixed(3))
  const grid = [
    ...ticks(y0, y1).map((v) => `<line x1="${M.l}" x2="${W - M.r}" y1="${py(v).toFixed(1)}" y2="${py(v).toFixed(1)}" stroke="#eee"/><text x="${M.l - 4}" y="${(py(v) + 4).toFixed(1)}" font-size="10" text-anchor="end">${fmt(v)}</text>`),
    ...ticks(x0, x1).map((v) => `<text x="${px(v).toFixed(1)}" y="${H - M.b + 14}" font-size="10" text-anchor="middle">${fmt(v)}</text>`),
    `<text x="${(M.l + W - M.r) / 2}" y="${H - 6}" font-size="11" text-anchor="middle">${e(opts.xLabel)}</text>`,
    `<rect x="${M.l}" y="${M.t}" width="${W - M.l - M.r}" height="${H - M.t - M.b}" fill="none" stroke="#999"/>`,
  ].join('')
  const lines = opts.series
    .map((s, i) => {
      const pts = s.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y))
      const d = pts.map(([x, y], j) => `${j ? 'L' : 'M'}${px(x).toFixed(1)},${py(y).toFixed(1)}`).join('')
      const dots = pts.length <= 40 ? pts.map(([x, y]) => `<circle cx="${px(x).toFixed(1)}" cy="${py(y).toFixed(1)}" r="2.5" fill="${e(s.color)}"/>`).join('') : ''
      const legend = `<rect x="${W - M.r - 150}" y="${M.t + 6 + i * 15}" width="10" height="3" fill="${e(s.color)}"/><text x="${W - M.r - 136}" y="${M.t + 11 + i * 15}" font-size="10">${e(s.name)}</text>`
      return (d ? `<path d="${d}" fill="none" stroke="${e(s.color)}" stroke-width="1.5"/>` : '') + dots + legend
    })
    .join('')
  return `${head}${grid}${lines}</svg>`
}
