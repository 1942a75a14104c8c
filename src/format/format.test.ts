import { describe, expect, it } from 'vitest'
import { formatBytes, formatBytesOf, formatCount, formatDateTime, formatDecimal, formatDuration, formatNumber, formatPercent, formatPerplexity, formatRate, formatShare } from './format'

// Expected strings are written by hand, not computed by the code under test.
describe('formatBytes', () => {
  it('writes decimal units with three significant figures', () => {
    expect(formatBytes(0)).toBe('0 B')
    expect(formatBytes(999)).toBe('999 B')
    expect(formatBytes(1000)).toBe('1.00 kB')
    expect(formatBytes(73_700)).toBe('73.7 kB')
    expect(formatBytes(288_000)).toBe('288 kB')
    expect(formatBytes(1_070_000)).toBe('1.07 MB')
    expect(formatBytes(12_900_000)).toBe('12.9 MB')
    expect(formatBytes(10_737_418_240)).toBe('10.7 GB') // a 10 GiB quota
    expect(formatBytes(2.5e12)).toBe('2.50 TB')
  })
  it('steps up a unit instead of writing 1000 of the smaller one', () => {
    expect(formatBytes(999_999)).toBe('1.00 MB')
    expect(formatBytes(999_400)).toBe('999 kB')
  })
  it('says "unknown" for what the browser did not report', () => {
    expect(formatBytes(null)).toBe('unknown')
    expect(formatBytes(undefined)).toBe('unknown')
    expect(formatBytes(Number.NaN)).toBe('unknown')
    expect(formatBytes(-1)).toBe('unknown')
  })
  it('writes both sides of a storage bar the same way (the issue\'s two styles, now one)', () => {
    expect(formatBytesOf(288_000, 10_737_418_240)).toBe('288 kB of 10.7 GB')
    expect(formatBytesOf(73_700, 10_740_000_000)).toBe('73.7 kB of 10.7 GB')
  })
})

describe('formatCount', () => {
  it('groups thousands', () => {
    expect(formatCount(0)).toBe('0')
    expect(formatCount(600)).toBe('600')
    expect(formatCount(1000)).toBe('1,000')
    expect(formatCount(621_672)).toBe('621,672')
    expect(formatCount(1_070_000)).toBe('1,070,000')
    expect(formatCount(-12_345)).toBe('-12,345')
    expect(formatCount(2.6)).toBe('3')
    expect(formatCount(Number.POSITIVE_INFINITY)).toBe('–')
  })
})

describe('formatDecimal', () => {
  it('keeps a fixed number of decimals', () => {
    expect(formatDecimal(0.693147)).toBe('0.693')
    expect(formatDecimal(0.8, 2)).toBe('0.80')
    expect(formatDecimal(12, 1)).toBe('12.0')
    expect(formatDecimal(-0.0001)).toBe('0.000')
    expect(formatDecimal(undefined)).toBe('–')
    expect(formatDecimal(Number.NaN)).toBe('–')
  })
})

describe('formatPerplexity', () => {
  it('groups thousands and keeps the decimals asked for', () => {
    expect(formatPerplexity(3.4219)).toBe('3.42')
    expect(formatPerplexity(999.994)).toBe('999.99')
    expect(formatPerplexity(12345.6, 1)).toBe('12,345.6')
    expect(formatPerplexity(1234567.891)).toBe('1,234,567.89')
    expect(formatPerplexity(50257, 0)).toBe('50,257')
    expect(formatPerplexity(Number.POSITIVE_INFINITY)).toBe('–')
    expect(formatPerplexity(undefined)).toBe('–')
  })
})

describe('formatNumber', () => {
  it('writes three significant figures without an exponent in the usual range', () => {
    expect(formatNumber(0)).toBe('0')
    expect(formatNumber(4.5612)).toBe('4.56')
    expect(formatNumber(43.94)).toBe('43.9')
    expect(formatNumber(0.00123456)).toBe('0.00123')
    expect(formatNumber(0.001)).toBe('0.001')
    expect(formatNumber(201.4)).toBe('201')
    expect(formatNumber(999.6)).toBe('1,000')
    expect(formatNumber(19_922.3)).toBe('19,922')
    expect(formatNumber(-2.345, 2)).toBe('-2.3')
  })
  it('keeps an exponent for tiny and huge values', () => {
    expect(formatNumber(1e-6)).toBe('1e-6')
    expect(formatNumber(1.234e-7)).toBe('1.23e-7')
    expect(formatNumber(2.147483647e9)).toBe('2.15e9')
  })
  it('writes a dash for what is not a number', () => {
    expect(formatNumber(Number.NaN)).toBe('–')
    expect(formatNumber(null)).toBe('–')
  })
})

describe('formatShare', () => {
  it('never reads 0% or 100% for a part that is neither', () => {
    expect(formatShare(258, 1_072_130)).toBe('0.02%')
    expect(formatShare(1, 3)).toBe('33.3%')
    expect(formatShare(0, 10)).toBe('0.0%')
    expect(formatShare(10, 10)).toBe('100.0%')
    expect(formatShare(999_999, 1_000_000)).toBe('99.9999%')
    expect(formatShare(1, 0)).toBe('–')
  })
})

describe('formatPercent', () => {
  it('turns a fraction into a percentage', () => {
    expect(formatPercent(0.1234)).toBe('12.3%')
    expect(formatPercent(1)).toBe('100.0%')
    expect(formatPercent(0.845, 0)).toBe('85%')
    expect(formatPercent(0.000123, 2)).toBe('0.01%')
    expect(formatPercent(undefined)).toBe('–')
  })
})

describe('formatDuration', () => {
  it('writes seconds, minutes and hours in words a person reads', () => {
    expect(formatDuration(0)).toBe('0 s')
    expect(formatDuration(0.42)).toBe('0.4 s')
    expect(formatDuration(4.26)).toBe('4.3 s')
    expect(formatDuration(12.4)).toBe('12 s')
    expect(formatDuration(59.6)).toBe('1 min')
    expect(formatDuration(125)).toBe('2 min 5 s')
    expect(formatDuration(3600)).toBe('1 h')
    expect(formatDuration(3725)).toBe('1 h 2 min')
    expect(formatDuration(7199)).toBe('2 h')
  })
  it('writes a dash for an unknown time', () => {
    expect(formatDuration(Number.POSITIVE_INFINITY)).toBe('–')
    expect(formatDuration(-3)).toBe('–')
    expect(formatDuration(undefined)).toBe('–')
  })
})

describe('formatRate and formatDateTime', () => {
  it('writes a rate with its unit', () => {
    expect(formatRate(43.94, 'samples')).toBe('43.9 samples/s')
  })
  it('writes a moment day first', () => {
    // Built from local time so the expectation holds in any time zone.
    const ms = new Date(2026, 11, 6, 5, 4, 45).getTime()
    expect(formatDateTime(ms)).toBe('06/12/2026, 05:04:45')
    expect(formatDateTime(ms, false)).toBe('06/12/2026, 05:04')
  })
})
