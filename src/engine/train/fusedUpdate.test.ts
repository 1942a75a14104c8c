import * as tf from '@tensorflow/tfjs'
import '@tensorflow/tfjs-backend-wasm'
import { afterEach, describe, expect, it } from 'vitest'
import { benchSwitch } from '../benchSwitches'
import { clipByGlobalNorm } from './clipping'
import { ADAM_UPDATE, COMBINE_HALVES, SCALE_ALL, SGD_UPDATE, SUM_SQUARES, fusedBackend, runCombineHalves, updateModuleBytes } from './fusedUpdate'
import { createOptimizer, type OptimizerState, type StudioOptimizer } from './optimizers'
import type { OptimizerKind } from '../../settings/types'

// The fused update (one kernel a weight on wasm and cpu) against the tf-op path it replaces
// (benchSwitch.unfusedOptimizer) and against PyTorch's formulas written out below in float64.

let uid = 0
/** Shapes with 4k values (the SIMD loop alone), fewer than 4, and 4k + 1..3 (loop and tail). */
const SHAPES: number[][] = [[4, 8], [3], [3, 5], [7], [2, 3, 3]]
const DECAY = [true, false, true, false, true] // as models declare: kernels yes, biases no

/** Deterministic values in about ±scale (an LCG, not Math.random: same numbers every run). */
function values(n: number, seed: number, scale: number): number[] {
  let s = seed
  return Array.from({ length: n }, () => {
    s = (s * 1103515245 + 12345) % 2147483648
    return (s / 2147483648 - 0.5) * 2 * scale
  })
}
const sizeOf = (shape: number[]) => shape.reduce((a, b) => a * b, 1)
const P0 = SHAPES.map((sh, k) => values(sizeOf(sh), 11 + k, 1))
/** Gradients of step t (0-based) for variable k; some exactly zero to hit v = 0 early on. */
const grad = (t: number, k: number) => values(sizeOf(SHAPES[k]!), 1000 * (t + 1) + k, 0.5).map((x, i) => (i % 5 === 0 && t === 0 ? 0 : x))
const LRS = [0.01, 0.02, 0.005, 0.03, 0.01, 0.015]

function makeVars(): { vars: tf.Variable[]; mask: Map<tf.Variable, boolean> } {
  const vars = SHAPES.map((sh, k) => tf.variable(tf.tensor(P0[k]!, sh, 'float32'), true, `fused${++uid}/w${k}`))
  return { vars, mask: new Map(vars.map((v, k) => [v, DECAY[k]!])) }
}

interface Run {
  kind: OptimizerKind
  wd: number
  momentum?: number
  fused: boolean
}

function make(r: Run, mask: Map<tf.Variable, boolean>): StudioOptimizer {
  return createOptimizer(r.kind, { weightDecay: r.wd, momentum: r.momentum ?? 0, decayMask: mask })
}

/** Steps [from, to) with the given optimizer, in a tidy per step as fineTune does. */
function steps(opt: StudioOptimizer, vars: tf.Variable[], fused: boolean, from: number, to: number): void {
  benchSwitch.unfusedOptimizer = !fused
  try {
    for (let t = from; t < to; t++) {
      tf.tidy(() => opt.step(SHAPES.map((sh, k) => tf.tensor(grad(t, k), sh, 'float32')), vars, LRS[t]!))
    }
  } finally {
    benchSwitch.unfusedOptimizer = false
  }
}

async function read(vars: tf.Variable[]): Promise<Float32Array[]> {
  return Promise.all(vars.map(async (v) => Float32Array.from(await v.data())))
}

/** PyTorch's Adam / AdamW / SGD (torch.optim docs' pseudo-code), float64, per value. */
function reference(r: Run, n: number): number[][] {
  const [b1, b2, eps] = [0.9, 0.999, 1e-8]
  return P0.map((p0, k) => {
    const p = [...p0]
    const m = p.map(() => 0)
    const v = p.map(() => 0)
    const buf = p.map(() => 0)
    const wd = DECAY[k] ? r.wd : 0
    for (let t = 0; t < n; t++) {
      const g0 = grad(t, k)
      const lr = LRS[t]!
      for (let i = 0; i < p.length; i++) {
        let g = g0[i]!
        if (r.kind === 'adamw') p[i] = p[i]! * (1 - lr * wd)
        else g = g + wd * p[i]!
        if (r.kind === 'sgd') {
          if (r.momentum) {
            buf[i] = t === 0 ? g : r.momentum * buf[i]! + g
            g = buf[i]!
          }
          p[i] = p[i]! - lr * g
          continue
        }
        m[i] = b1 * m[i]! + (1 - b1) * g
        v[i] = b2 * v[i]! + (1 - b2) * g * g
        const mh = m[i]! / (1 - b1 ** (t + 1))
        const vh = v[i]! / (1 - b2 ** (t + 1))
        p[i] = p[i]! - (lr * mh) / (Math.sqrt(vh) + eps)
      }
    }
    return p
  })
}

function expectBitEqual(a: Float32Array[], b: Float32Array[]): void {
  expect(a.length).toBe(b.length)
  a.forEach((x, k) => expect(Array.from(x), `variable ${k}`).toEqual(Array.from(b[k]!)))
}

function expectNear(actual: Float32Array[], expected: number[][], rel: number): void {
  let worst = 0
  actual.forEach((x, k) => x.forEach((y, i) => (worst = Math.max(worst, Math.abs(y - expected[k]![i]!) / Math.max(1, Math.abs(expected[k]![i]!))))))
  expect(worst).toBeLessThan(rel)
}

const RUNS: Run[] = [
  { kind: 'adamw', wd: 0.1, fused: true },
  { kind: 'adam', wd: 0.1, fused: true },
  { kind: 'adamw', wd: 0, fused: true },
  { kind: 'sgd', wd: 0.05, momentum: 0.9, fused: true },
  { kind: 'sgd', wd: 0.05, momentum: 0, fused: true },
]

afterEach(() => {
  benchSwitch.unfusedOptimizer = false
})

for (const backend of ['wasm', 'cpu'] as const) {
  describe(`fused optimizer update on ${backend}`, () => {
    it('the backend runs the fused kernels (wasm: the SIMD module reaches its memory)', async () => {
      expect(await tf.setBackend(backend)).toBe(true)
      expect(fusedBackend()).toBe(true)
      // The module's bytes are a valid WebAssembly module with SIMD (both memory kinds).
      expect(WebAssembly.validate(updateModuleBytes(false))).toBe(true)
      expect(WebAssembly.validate(updateModuleBytes(true))).toBe(true)
    })

    for (const r of RUNS) {
      const label = `${r.kind}, wd ${r.wd}${r.kind === 'sgd' ? `, momentum ${r.momentum}` : ''}`
      it(`${label}: 6 steps with the rate changing equal the tf-op path bit for bit and PyTorch's formulas to 1e-6`, async () => {
        expect(await tf.setBackend(backend)).toBe(true)
        const a = makeVars()
        const b = makeVars()
        const fused = make(r, a.mask)
        const ops = make(r, b.mask)
        steps(fused, a.vars, true, 0, 1)
        steps(ops, b.vars, false, 0, 1)
        const before = tf.memory().numTensors
        steps(fused, a.vars, true, 1, 6)
        steps(ops, b.vars, false, 1, 6)
        expect(tf.memory().numTensors).toBe(before) // flat after the first step made the moments
        const [x, y] = [await read(a.vars), await read(b.vars)]
        expectBitEqual(x, y)
        expectNear(x, reference(r, 6), 1e-6)
        // Decay reached only the flagged variables: with wd the flagged ones differ from a run without it.
        if (r.wd > 0) {
          const c = makeVars()
          const plain = make({ ...r, wd: 0 }, c.mask)
          steps(plain, c.vars, true, 0, 6)
          const z = await read(c.vars)
          z.forEach((w, k) => expect(Array.from(w).some((q, i) => q !== x[k]![i]), `variable ${k} decayed`).toBe(DECAY[k]))
          plain.dispose()
          tf.dispose(c.vars)
        }
        // The saved state is the same, key for key and bit for bit.
        // Keys are "<slot>:<position>:<variable name>"; the names are each run's own variables'.
        const [sa, sb] = [await fused.state(), await ops.state()]
        const keysA = Object.keys(sa.values)
        const keysB = Object.keys(sb.values)
        keysA.forEach((key) => expect(key.split(':')[2]).toBe(a.vars[Number(key.split(':')[1])]!.name))
        expect(keysA.map((key) => key.replace(/:fused\d+\//, ':'))).toEqual(keysB.map((key) => key.replace(/:fused\d+\//, ':')))
        expect(keysA.length).toBe(r.kind === 'sgd' ? (r.momentum ? SHAPES.length : 0) : 2 * SHAPES.length)
        expect(sa.step).toBe(sb.step)
        keysA.forEach((key, j) => {
          expect(sa.shapes[key], key).toEqual(sb.shapes[keysB[j]!])
          expect(Array.from(sa.values[key]!), key).toEqual(Array.from(sb.values[keysB[j]!]!))
        })
        tf.dispose([...a.vars, ...b.vars])
        fused.dispose()
        ops.dispose()
      })
    }

    it('a state saved by either path restores into the other: 3 + 3 steps equal 6 unbroken ones', async () => {
      expect(await tf.setBackend(backend)).toBe(true)
      const r: Run = { kind: 'adamw', wd: 0.1, fused: true }
      const whole = makeVars()
      const opt = make(r, whole.mask)
      steps(opt, whole.vars, true, 0, 6)
      const expected = await read(whole.vars)
      for (const [first, second] of [[false, true], [true, false]] as const) {
        const a = makeVars()
        const o1 = make(r, a.mask)
        steps(o1, a.vars, first, 0, 3)
        // Through a JSON round trip, as an exported checkpoint may come back (number arrays).
        const saved = JSON.parse(JSON.stringify(await o1.state(), (_k, v: unknown) => (v instanceof Float32Array ? Array.from(v) : v))) as OptimizerState
        o1.dispose()
        const o2 = make(r, a.mask)
        o2.restore(saved)
        steps(o2, a.vars, second, 3, 6)
        expectBitEqual(await read(a.vars), expected)
        o2.dispose()
        tf.dispose(a.vars)
      }
      expectNear(expected, reference(r, 6), 1e-6)
      opt.dispose()
      tf.dispose(whole.vars)
    })

    it('one fused kernel a weight per step, instead of a dozen tf ops', async () => {
      expect(await tf.setBackend(backend)).toBe(true)
      for (const [r, name] of [[{ kind: 'adamw', wd: 0.1, fused: true }, ADAM_UPDATE], [{ kind: 'sgd', wd: 0.1, momentum: 0.9, fused: true }, SGD_UPDATE]] as const) {
        const a = makeVars()
        const opt = make(r, a.mask)
        steps(opt, a.vars, true, 0, 1) // the moments exist from here on
        const gs = SHAPES.map((sh, k) => tf.tensor(grad(1, k), sh, 'float32'))
        const prof = await tf.profile(() => tf.tidy(() => opt.step(gs, a.vars, 0.01)))
        expect(prof.kernels.map((k) => k.name)).toEqual(SHAPES.map(() => name))
        benchSwitch.unfusedOptimizer = true
        const old = await tf.profile(() => tf.tidy(() => opt.step(gs, a.vars, 0.01)))
        benchSwitch.unfusedOptimizer = false
        expect(old.kernels.length).toBeGreaterThanOrEqual(5 * SHAPES.length)
        tf.dispose([...gs, ...a.vars])
        opt.dispose()
      }
    })

    it('gradient clipping: the norm and the clipped gradients equal the tf-op path bit for bit, in two kernels', async () => {
      expect(await tf.setBackend(backend)).toBe(true)
      // SHAPES plus a scalar and 9,999 values: long enough that summing in another order (or
      // precision) than the backend's own Sum would change the norm's last bits.
      const shapes = [...SHAPES, [], [101, 99]]
      const data = shapes.map((sh, k) => values(sizeOf(sh), 77 + k, 0.3))
      const grads = shapes.map((sh, k) => tf.tensor(data[k]!, sh, 'float32'))
      const exact = Math.sqrt(data.flat().reduce((a, x) => a + Math.fround(x) ** 2, 0)) // float64
      for (const maxNorm of [0.5, 1e4]) {
        const before = tf.memory().numTensors
        const run = async (fused: boolean) => {
          benchSwitch.unfusedOptimizer = !fused
          const { grads: out, norm } = clipByGlobalNorm(grads, maxNorm)
          benchSwitch.unfusedOptimizer = false
          const r = { norm: (await norm.data())[0]!, out: await read(out as tf.Variable[]) }
          tf.dispose([...out, norm])
          return r
        }
        const [a, b] = [await run(true), await run(false)]
        expect(tf.memory().numTensors).toBe(before)
        expect(a.norm).toBe(b.norm)
        expect(Math.abs(a.norm - exact) / exact).toBeLessThan(1e-6)
        expectBitEqual(a.out, b.out)
        // Clipped to the bound, or (within it) multiplied by exactly 1: the inputs' own values.
        const scale = Math.min(1, maxNorm / (exact + 1e-6))
        expectNear(a.out, data.map((d) => d.map((x) => Math.fround(x) * scale)), 1e-6)
        if (maxNorm > exact) expectBitEqual(a.out, data.map((d) => Float32Array.from(d)))
      }
      const prof = await tf.profile(() => tf.tidy(() => clipByGlobalNorm(grads, 0.5).grads))
      const names = prof.kernels.map((k) => k.name)
      expect(names.filter((x) => x === SUM_SQUARES).length).toBe(1)
      expect(names.filter((x) => x === SCALE_ALL).length).toBe(1)
      expect(names.filter((x) => x === 'Square' || x === 'Sum' || x === 'Multiply')).toEqual([])
      tf.dispose(grads)
    })

    it('two workers\' halves combined in one kernel equal the tf ops dataParallel.ts used, bit for bit (equal and unequal halves)', async () => {
      expect(await tf.setBackend(backend)).toBe(true)
      const shapes = [...SHAPES, [], [101, 99]]
      const mine = shapes.map((sh, k) => tf.tensor(values(sizeOf(sh), 300 + k, 0.4), sh, 'float32'))
      const theirs = Float32Array.from(shapes.flatMap((sh, k) => values(sizeOf(sh), 500 + k, 0.4)))
      for (const [n0, n1] of [[8, 8], [5, 4], [3, 1]] as const) {
        const before = tf.memory().numTensors
        const fused = tf.tidy(() => runCombineHalves(mine, tf.tensor1d(theirs, 'float32'), [n0, n1]))
        // dataParallel.ts's op path, as it was
        const ops = tf.tidy(() => {
          let o = 0
          return mine.map((g) => {
            const part = tf.tensor(theirs.subarray(o, o + g.size), g.shape, 'float32')
            o += g.size
            return n0 === n1 ? tf.mul(tf.add(g, part), 0.5) : tf.div(tf.add(tf.mul(g, n0), tf.mul(part, n1)), n0 + n1)
          })
        })
        expect(fused.map((t) => t.shape)).toEqual(shapes)
        const [a, b] = [await read(fused as tf.Variable[]), await read(ops as tf.Variable[])]
        expectBitEqual(a, b)
        // and the weighted mean, in float64
        let o = 0
        const expected = shapes.map((sh, k) => {
          const m = values(sizeOf(sh), 300 + k, 0.4).map((x, i) => (Math.fround(x) * n0 + theirs[o + i]! * n1) / (n0 + n1))
          o += sizeOf(sh)
          return m
        })
        expectNear(a, expected, 1e-6)
        tf.dispose([...fused, ...ops])
        expect(tf.memory().numTensors).toBe(before)
      }
      const prof = await tf.profile(() => tf.tidy(() => runCombineHalves(mine, tf.tensor1d(theirs, 'float32'), [8, 8])))
      expect(prof.kernels.map((k) => k.name)).toEqual([COMBINE_HALVES])
      tf.dispose(mine)
    })

    it('the inputs are left as they were: a clone of a weight keeps its old values', async () => {
      expect(await tf.setBackend(backend)).toBe(true)
      const a = makeVars()
      const opt = make({ kind: 'adamw', wd: 0.1, fused: true }, a.mask)
      const clones = a.vars.map((v) => v.clone()) // on wasm a clone shares the weight's buffer
      const gs = SHAPES.map((sh, k) => tf.tensor(grad(0, k), sh, 'float32'))
      tf.tidy(() => opt.step(gs, a.vars, 0.01))
      expectBitEqual(await read(clones), P0.map((p) => Float32Array.from(p)))
      for (const [k, g] of gs.entries()) expect(Array.from(await g.data())).toEqual(Array.from(Float32Array.from(grad(0, k))))
      tf.dispose([...clones, ...gs, ...a.vars])
      opt.dispose()
    })
  })
}
