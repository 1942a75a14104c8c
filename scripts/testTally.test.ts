import { describe, expect, it } from 'vitest'
import { playwrightTestCount, tallyPlaywright, tallyVitest } from './testTally.mjs'

// Hand-written reports in the shape Playwright's and Vitest's JSON reporters write.
const spec = (n: number) => ({ title: 's', tests: Array.from({ length: n }, () => ({ status: 'expected' })) })
const list = { suites: [{ title: 'a.spec.ts', specs: [spec(1), spec(1)], suites: [{ title: 'group', specs: [spec(1)] }] }, { title: 'b.spec.ts', specs: [spec(2)] }], errors: [] }

describe('browser-test tally', () => {
  it('counts the listed tests through nested suites', () => {
    expect(playwrightTestCount(list.suites)).toBe(5)
  })
  it('a clean run: all passed', () => {
    expect(tallyPlaywright(list, { stats: { expected: 5, unexpected: 0, flaky: 0, skipped: 0 } }, 0)).toEqual({ passed: 5, failed: 0 })
  })
  it('a flaky and a skipped test count as failed', () => {
    expect(tallyPlaywright(list, { stats: { expected: 3, unexpected: 0, flaky: 1, skipped: 1 } }, 0)).toEqual({ passed: 3, failed: 2 })
  })
  it('a run that crashed after two tests: the three without a result count as failed', () => {
    expect(tallyPlaywright(list, { stats: { expected: 1, unexpected: 1, flaky: 0, skipped: 0 } }, 1)).toEqual({ passed: 1, failed: 4 })
  })
  it('a run that left no report: every listed test failed', () => {
    expect(tallyPlaywright(list, null, 1)).toEqual({ passed: 0, failed: 5 })
  })
  it('a spec file that does not load is a failure, as is a listing that could not be read', () => {
    expect(tallyPlaywright({ ...list, errors: [{ message: 'SyntaxError' }] }, { stats: { expected: 5 } }, 1)).toEqual({ passed: 5, failed: 1 })
    expect(tallyPlaywright(null, { stats: { expected: 5 } }, 0)).toEqual({ passed: 5, failed: 1 })
  })
  it('a non-zero exit with nothing else wrong is still one failure', () => {
    expect(tallyPlaywright(list, { stats: { expected: 5 } }, 1)).toEqual({ passed: 5, failed: 1 })
  })
})

describe('unit-test tally', () => {
  const listed = Array.from({ length: 10 }, (_, i) => ({ name: `t${i}`, file: 'x.test.ts' }))
  it('a clean run', () => {
    expect(tallyVitest(listed, { numPassedTests: 10, numFailedTests: 0, numPendingTests: 0, numTodoTests: 0 }, 0)).toEqual({ passed: 10, failed: 0 })
  })
  it('skipped and todo count as failed', () => {
    expect(tallyVitest(listed, { numPassedTests: 7, numFailedTests: 1, numPendingTests: 1, numTodoTests: 1 }, 1)).toEqual({ passed: 7, failed: 3 })
  })
  it('a crash part way: listed tests without a result count as failed', () => {
    expect(tallyVitest(listed, { numPassedTests: 4, numFailedTests: 0 }, 1)).toEqual({ passed: 4, failed: 6 })
    expect(tallyVitest(listed, null, 1)).toEqual({ passed: 0, failed: 10 })
  })
  it('nothing listed and no report is one failure, never a pass', () => {
    expect(tallyVitest(null, null, 1)).toEqual({ passed: 0, failed: 1 })
  })
})
