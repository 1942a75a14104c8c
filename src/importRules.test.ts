// The import rules of docs/architecture.md, checked on the source: the engine (TensorFlow.js,
// runs in the worker and in Node) never reaches into the worker, the store or the page, and
// the main thread (ui/, state/, App, main) never imports the engine, so tfjs cannot leak into
// the page's bundle. Pure modules both sides share (shared/, settings/, format/) import no
// side: at most the engine's types, which vanish at build time.
import { readdirSync, readFileSync, statSync } from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'

const SRC = path.resolve(__dirname)

interface Import {
  file: string // relative to src/
  spec: string // as written
  target: string // relative to src/ for relative imports, else the package name
  typeOnly: boolean
}

/** Every import and re-export in one file's text: static (also multi-line and `import type`),
 *  side-effect and dynamic `import('…')`. */
export function importsOf(file: string, text: string): Import[] {
  const out: Import[] = []
  const code = text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '')
  const add = (spec: string, typeOnly: boolean) => {
    const target = spec.startsWith('.') ? path.relative(SRC, path.resolve(SRC, path.dirname(file), spec)).split(path.sep).join('/') : spec
    out.push({ file, spec, target, typeOnly })
  }
  for (const m of code.matchAll(/\b(import|export)\s+(type\s+)?([^'";]*?)\s*from\s*['"]([^'"]+)['"]/g)) {
    const typeOnly = !!m[2] || /^\{[^}]*\}$/.test(m[3]!.trim()) && m[3]!.replace(/[{}\s]/g, '').split(',').filter(Boolean).every((n) => n.startsWith('type'))
    add(m[4]!, typeOnly)
  }
  for (const m of code.matchAll(/\bimport\s*['"]([^'"]+)['"]/g)) add(m[1]!, false)
  for (const m of code.matchAll(/\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g)) add(m[1]!, false)
  return out
}

function sourceFiles(dir: string): string[] {
  const out: string[] = []
  for (const name of readdirSync(dir)) {
    const p = path.join(dir, name)
    if (statSync(p).isDirectory()) out.push(...sourceFiles(p))
    else if (/\.tsx?$/.test(name)) out.push(p)
  }
  return out
}

function importsUnder(...dirs: string[]): Import[] {
  return dirs.flatMap((d) => {
    const abs = path.join(SRC, d)
    const files = statSync(abs).isDirectory() ? sourceFiles(abs) : [abs]
    return files.flatMap((f) => importsOf(path.relative(SRC, f), readFileSync(f, 'utf8')))
  })
}

const inside = (target: string, ...dirs: string[]) => dirs.some((d) => target === d || target.startsWith(`${d}/`))
const show = (list: Import[]) => list.map((i) => `${i.file} imports ${i.spec}`)

describe('import rules', () => {
  it('reads every kind of import, so the rules below can fail', () => {
    const text = [
      "import * as tf from '@tensorflow/tfjs'",
      "import type { Metrics } from '../engine/types/metrics'",
      "import {\n  a,\n  b,\n} from '../../worker/protocol'",
      "import { type X, type Y } from './x'",
      "export { bestOf } from '../../shared/bestCheckpoint'",
      "import './side.css'",
      "const m = await import('../engine/backend')",
      "// import { gone } from '../engine/commented'",
    ].join('\n')
    expect(importsOf('ui/train/Chart.tsx', text).map((i) => [i.target, i.typeOnly])).toEqual([
      ['@tensorflow/tfjs', false],
      ['ui/engine/types/metrics', true],
      ['worker/protocol', false],
      ['ui/train/x', true],
      ['shared/bestCheckpoint', false],
      ['ui/train/side.css', false],
      ['ui/engine/backend', false],
    ])
    // The real tree has the imports the rules are about: the worker does use the engine.
    expect(importsUnder('worker').some((i) => inside(i.target, 'engine'))).toBe(true)
    expect(importsUnder('engine').some((i) => i.target.startsWith('@tensorflow/'))).toBe(true)
  })

  it('the engine imports nothing from the worker, the store, the page or React', () => {
    const bad = importsUnder('engine').filter((i) => inside(i.target, 'worker', 'state', 'ui', 'App.tsx', 'main.tsx') || /^(react|react-dom|zustand|recharts)(\/|$)/.test(i.target))
    expect(show(bad)).toEqual([])
  })

  it('engine code outside tests imports no Node module (it runs in the worker too)', () => {
    // A test's shared set-up (`*.testSetup.ts`) is test code too: only tests import it (below).
    const bad = importsUnder('engine').filter((i) => !/\.test(Setup)?\.ts$/.test(i.file) && (i.target.startsWith('node:') || /^(fs|path|os|url|child_process|worker_threads)(\/|$)/.test(i.target)))
    expect(show(bad)).toEqual([])
  })

  it('only tests import a test set-up module (*.testSetup.ts), so none reaches a build', () => {
    const all = importsUnder('.')
    expect(all.some((i) => /\.testSetup$/.test(i.target)), 'the tree has such imports, so this can fail').toBe(true)
    const bad = all.filter((i) => /\.testSetup$/.test(i.target) && !/\.test(Setup)?\.tsx?$/.test(i.file))
    expect(show(bad)).toEqual([])
  })

  it('the main thread (ui, state, App, main) imports nothing from the engine and no TensorFlow.js', () => {
    const bad = importsUnder('ui', 'state', 'App.tsx', 'main.tsx').filter((i) => inside(i.target, 'engine') || i.target.startsWith('@tensorflow/'))
    expect(show(bad)).toEqual([])
  })

  it('the worker imports nothing from the store or the page', () => {
    const bad = importsUnder('worker').filter((i) => inside(i.target, 'state', 'ui', 'App.tsx', 'main.tsx') || /^(react|react-dom|zustand|recharts)(\/|$)/.test(i.target))
    expect(show(bad)).toEqual([])
  })

  it('shared modules (shared, settings, format) import neither side, only the engine’s types', () => {
    const bad = importsUnder('shared', 'settings', 'format').filter(
      (i) => inside(i.target, 'worker', 'state', 'ui') || i.target.startsWith('@tensorflow/') || /^(react|react-dom|zustand)(\/|$)/.test(i.target) || (inside(i.target, 'engine') && !i.typeOnly),
    )
    expect(show(bad)).toEqual([])
  })
})
