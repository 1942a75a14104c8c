// @ts-check
// How scripts/test-all.mjs counts results: pure functions, so the counting is unit-tested
// (testTally.test.ts) without running the suites.

/** @typedef {{ passed: number; failed: number }} Tally */

/** Tests in a Playwright JSON report's suites (one per spec and project).
 *  @param {any[]} suites @returns {number} */
export function playwrightTestCount(suites) {
  return (suites ?? []).reduce((n, s) => n + (s.specs ?? []).reduce((m, /** @type {any} */ sp) => m + (sp.tests?.length ?? 0), 0) + playwrightTestCount(s.suites ?? []), 0)
}

/** Browser tests: `list` is the JSON of `playwright test --list --reporter=json` (null if it
 *  could not be read), `result` the JSON report of the run (null if the run left none).
 *  Flaky and skipped count as failed; a listed test without a result counts as failed.
 *  @param {any} list @param {any} result @param {number} rc @returns {Tally} */
export function tallyPlaywright(list, result, rc) {
  const listed = list ? playwrightTestCount(list.suites) : 0
  const listErrors = list ? (list.errors ?? []).length : 1 // a spec file that does not load
  const s = result?.stats ?? {}
  const passed = s.expected ?? 0
  const reported = passed + (s.unexpected ?? 0) + (s.flaky ?? 0) + (s.skipped ?? 0)
  let failed = reported - passed + listErrors + Math.max(0, listed - reported)
  if (rc !== 0 && failed === 0) failed = 1
  return { passed, failed }
}

/** Unit tests: `listed` from `vitest list --json=FILE` (null if none), `result` Vitest's JSON
 *  report (null if none). Skipped and todo count as failed, and so does a listed test without a
 *  result. @param {any[] | null} listed @param {any} result @param {number} rc @returns {Tally} */
export function tallyVitest(listed, result, rc) {
  const passed = result?.numPassedTests ?? 0
  const reported = passed + (result?.numFailedTests ?? 0) + (result?.numPendingTests ?? 0) + (result?.numTodoTests ?? 0)
  let failed = reported - passed + Math.max(0, (listed?.length ?? 0) - reported)
  if ((rc !== 0 || !listed) && failed === 0) failed = 1 // a file that failed to load, or nothing listed
  return { passed, failed }
}
