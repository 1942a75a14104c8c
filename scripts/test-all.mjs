// Runs every test the project has — type check, unit tests (Vitest), browser tests
// (Playwright) — and ends with one line "N passed, N failed" counting all of them.
import { spawnSync } from 'node:child_process'
import { existsSync, readFileSync, mkdirSync } from 'node:fs'

mkdirSync('test-results', { recursive: true })
let passed = 0
let failed = 0
const run = (cmd, args) => {
  console.log(`\n$ ${cmd} ${args.join(' ')}`)
  return spawnSync(cmd, args, { stdio: 'inherit', env: process.env }).status ?? 1
}

// 1. Type check counts as one test: the app, then the engine alone without the DOM library.
if (run('npx', ['tsc', '--noEmit', '-p', 'tsconfig.json']) === 0 && run('npx', ['tsc', '--noEmit', '-p', 'tsconfig.engine.json']) === 0) passed++
else failed++

// 2. Unit tests.
const unitOut = 'test-results/unit.json'
const unitRc = run('npx', ['vitest', 'run', '--reporter=default', '--reporter=json', `--outputFile=${unitOut}`])
if (existsSync(unitOut)) {
  const r = JSON.parse(readFileSync(unitOut, 'utf8'))
  passed += r.numPassedTests
  failed += r.numFailedTests
  if (unitRc !== 0 && r.numFailedTests === 0) failed++ // a suite that failed to load
} else failed++

// 3. Browser tests.
const e2eOut = 'test-results/e2e.json'
const e2eRc = run('npx', ['playwright', 'test'])
if (existsSync(e2eOut)) {
  const r = JSON.parse(readFileSync(e2eOut, 'utf8'))
  const s = r.stats ?? {}
  passed += (s.expected ?? 0) + (s.flaky ?? 0)
  failed += (s.unexpected ?? 0)
  if (e2eRc !== 0 && !s.unexpected) failed++
} else failed++

console.log(`\n${passed} passed, ${failed} failed`)
process.exit(failed === 0 ? 0 : 1)
