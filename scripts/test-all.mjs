// @ts-check
// Runs every test the project has — type checks, unit tests (Vitest), browser tests
// (Playwright) — and ends with one line "N passed, N failed" counting all of them.
//
// Counting is honest: result files are removed before each run; the tests are listed first,
// and a listed test with no result afterwards (a runner that crashed or was killed) counts as
// failed; so do skipped tests and flaky ones (Playwright retries are off; a test that passed
// only on a retry would still count as failed).
import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs'
import { tallyPlaywright, tallyVitest } from './testTally.mjs'

mkdirSync('test-results', { recursive: true })
let passed = 0
let failed = 0

/** Runs a command with the output shown; returns its exit status (1 if it could not run). */
const run = (/** @type {string} */ cmd, /** @type {string[]} */ args) => {
  console.log(`\n$ ${cmd} ${args.join(' ')}`)
  return spawnSync(cmd, args, { stdio: 'inherit', env: process.env }).status ?? 1
}
/** Runs a command and returns its standard output (the listing commands print JSON). */
const capture = (/** @type {string} */ cmd, /** @type {string[]} */ args) => {
  console.log(`\n$ ${cmd} ${args.join(' ')}`)
  const r = spawnSync(cmd, args, { encoding: 'utf8', env: process.env, maxBuffer: 64 * 1024 * 1024, stdio: ['ignore', 'pipe', 'inherit'] })
  return { status: r.status ?? 1, stdout: r.stdout ?? '' }
}
/** @param {string} file */
const readJson = (file) => {
  try {
    return existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : null
  } catch {
    return null // a half-written file from a crashed run counts as no result
  }
}
/** @param {string} name @param {number} p @param {number} f */
const tally = (name, p, f) => {
  passed += p
  failed += f
  console.log(`[test-all] ${name}: ${p} passed, ${f} failed`)
}

// 1. The type check (`npm run typecheck`: the app and tests, the engine on its own, the Node
//    scripts, the Node WebGPU bench) counts as one test.
{
  const ok = run('npm', ['run', 'typecheck']) === 0
  tally('type check', ok ? 1 : 0, ok ? 0 : 1)
}

// 2. Unit tests (Vitest).
{
  const out = 'test-results/unit.json'
  const listOut = 'test-results/unit-list.json'
  rmSync(out, { force: true })
  rmSync(listOut, { force: true })
  const listRc = run('npx', ['vitest', 'list', `--json=${listOut}`])
  const rc = run('npx', ['vitest', 'run', '--reporter=default', '--reporter=json', `--outputFile=${out}`])
  const t = tallyVitest(listRc === 0 ? readJson(listOut) : null, readJson(out), rc)
  tally('unit tests', t.passed, t.failed)
}

// 3. Browser tests (Playwright).
{
  const out = 'test-results/e2e.json' // written by the json reporter in playwright.config.ts
  const list = capture('npx', ['playwright', 'test', '--list', '--reporter=json'])
  rmSync(out, { force: true })
  let listed = null
  try {
    listed = JSON.parse(list.stdout)
  } catch {
    // counted as a spec that does not load
  }
  const rc = run('npx', ['playwright', 'test'])
  const t = tallyPlaywright(listed, readJson(out), rc)
  tally('browser tests', t.passed, t.failed)
}

console.log(`\n${passed} passed, ${failed} failed`)
process.exit(failed === 0 ? 0 : 1)
