/**
 * The one way the studio writes sizes, numbers, percentages and times, on every screen and
 * in every message. Pure functions, no imports: the engine, the worker and the UI all use it.
 *
 * Sizes are decimal (SI) units, as browsers report storage quotas and as file managers show
 * files: 1 kB = 1,000 bytes. Everything that is not a finite number is written as a dash,
 * or "unknown" for a size the browser did not tell us.
 */

const DASH = '–'
const BYTE_UNITS = ['kB', 'MB', 'GB', 'TB'] as const

/** Three significant figures, never an exponent: 1.07, 10.7, 107 (and 1070 for the largest unit). */
function threeFigures(x: number): string {
  if (x >= 100) return x.toFixed(0)
  if (x >= 10) return x.toFixed(1)
  return x.toFixed(2)
}

/** A size in bytes: "512 B", "73.7 kB", "288 kB", "10.7 GB". */
export function formatBytes(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n) || n < 0) return 'unknown'
  if (n < 1000) return `${Math.round(n)} B`
  let v = n / 1000
  let unit = 0
  // Step up a unit when the rounded value would read 1000 or more ("1000 kB" is "1.00 MB").
  while (unit < BYTE_UNITS.length - 1 && Number(threeFigures(v)) >= 1000) {
    v /= 1000
    unit++
  }
  return `${threeFigures(v)} ${BYTE_UNITS[unit]}`
}

/** "used of total" for a storage bar: both sides in the same style, e.g. "288 kB of 10.7 GB". */
export function formatBytesOf(used: number | null | undefined, total: number | null | undefined): string {
  return `${formatBytes(used)} of ${formatBytes(total)}`
}

/** A count of things: a whole number with thousands separators, "621,672". */
export function formatCount(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return DASH
  const r = Math.round(n)
  const s = Math.abs(r)
    .toString()
    .replace(/\B(?=(\d{3})+(?!\d))/g, ',')
  return r < 0 ? `-${s}` : s
}

/** A measured value with a fixed number of decimals (a loss "0.693", a temperature "0.80"). */
export function formatDecimal(x: number | null | undefined, decimals = 3): string {
  if (x === null || x === undefined || !Number.isFinite(x)) return DASH
  const s = x.toFixed(decimals)
  // "-0.000" reads as a negative number that is not there.
  return /^-0(\.0*)?$/.test(s) ? s.slice(1) : s
}

/** A perplexity: fixed decimals with thousands separators, as an untuned model's can run to
 *  thousands ("3.42", "12,345.6"; infinite, as after a NaN loss, is a dash like any other). */
export function formatPerplexity(x: number | null | undefined, decimals = 2): string {
  const s = formatDecimal(x, decimals)
  if (s === DASH) return s
  const [whole = '', frac] = s.split('.')
  const grouped = whole.replace(/\B(?=(\d{3})+(?!\d))/g, ',')
  return frac === undefined ? grouped : `${grouped}.${frac}`
}

/**
 * A value of any size with `digits` significant figures and no exponent below a million:
 * 0.00123, 4.56, 1,235, 1.2e-7 (tiny values keep an exponent, so they are still readable).
 */
export function formatNumber(x: number | null | undefined, digits = 3): string {
  if (x === null || x === undefined || !Number.isFinite(x)) return DASH
  if (x === 0) return '0'
  const abs = Math.abs(x)
  if (abs >= 1e-4 && abs < 1e6) {
    if (abs >= 10 ** digits) return formatCount(x)
    const decimals = Math.max(0, digits - 1 - Math.floor(Math.log10(abs)))
    // toFixed then Number drops trailing zeros: 0.0010 → 0.001.
    const fixed = Number(x.toFixed(decimals))
    return Math.abs(fixed) >= 1000 ? formatCount(fixed) : String(fixed)
  }
  return x.toExponential(Math.max(0, digits - 1)).replace(/\.?0+e/, 'e').replace('e+', 'e')
}

/** A fraction in [0, 1] as a percentage: 0.1234 → "12.3%". */
export function formatPercent(fraction: number | null | undefined, decimals = 1): string {
  if (fraction === null || fraction === undefined || !Number.isFinite(fraction)) return DASH
  return `${formatDecimal(100 * fraction, decimals)}%`
}

/** A part of a whole as a percentage, with as many decimals (one at least) as it takes not to
 *  read 0% or 100% when it is neither: 258 of 1,072,130 → "0.02%", 1 of 3 → "33.3%". */
export function formatShare(part: number, whole: number): string {
  if (!Number.isFinite(part) || !Number.isFinite(whole) || whole <= 0) return DASH
  const pct = (100 * part) / whole
  const misleads = (d: number) => {
    const shown = Number(pct.toFixed(d))
    return (part > 0 && shown === 0) || (part < whole && shown === 100)
  }
  let decimals = 1
  while (decimals < 6 && misleads(decimals)) decimals++
  return formatPercent(part / whole, decimals)
}

/** A duration in seconds: "0.4 s", "12 s", "2 min 5 s", "1 h 2 min". */
export function formatDuration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds) || seconds < 0) return DASH
  if (seconds < 10 && Math.round(seconds) !== seconds) return `${seconds.toFixed(1)} s`
  const s = Math.round(seconds)
  if (s < 60) return `${s} s`
  if (s < 3600) {
    const m = Math.floor(s / 60)
    const rest = s % 60
    return rest === 0 ? `${m} min` : `${m} min ${rest} s`
  }
  const h = Math.floor(s / 3600)
  const m = Math.round((s % 3600) / 60)
  if (m === 60) return `${h + 1} h`
  return m === 0 ? `${h} h` : `${h} h ${m} min`
}

/** A rate: "43.9 samples/s". */
export function formatRate(perSecond: number | null | undefined, unit: string): string {
  return `${formatNumber(perSecond)} ${unit}/s`
}

/** A moment, in the user's time zone, day first: "06/12/2026, 05:04:45". */
// One formatter per style: toLocaleString with options builds a new Intl.DateTimeFormat on
// every call (milliseconds each), and the checkpoint and run lists format a date per row.
const dateTimeFormats = new Map<boolean, Intl.DateTimeFormat>()

export function formatDateTime(ms: number, withSeconds = true): string {
  if (!Number.isFinite(ms)) return DASH
  let f = dateTimeFormats.get(withSeconds)
  if (!f) {
    f = new Intl.DateTimeFormat('en-GB', { dateStyle: 'short', timeStyle: withSeconds ? 'medium' : 'short' })
    dateTimeFormats.set(withSeconds, f)
  }
  return f.format(ms)
}
