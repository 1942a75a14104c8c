import * as tf from '@tensorflow/tfjs'
import { beforeAll, describe, expect, it } from 'vitest'
import { createOptimizer, type OptimizerState, type StudioOptimizer } from './optimizers'

beforeAll(async () => {
  await tf.setBackend('cpu')
})

// tf.variable names are global to the engine: make each test's names unique.
let uid = 0
const named = (name: string) => `opt${++uid}/${name}`

const W0 = [1, 2, 3, -4]
const B0 = [0.5, -0.5]
const GW = [
  [0.1, -0.2, 0.3, 0.4],
  [-0.3, 0.1, 0.2, -0.5],
  [0.05, 0.05, -0.1, 0.2],
]
const GB = [
  [1, -2],
  [0.5, 0.25],
  [-1, 1],
]

// Weight decay per variable, as a model declares it (Param.decay): kernels yes, biases no.
const decayOf = new Map<tf.Variable, boolean>()

function makeVars(w = W0, b = B0): tf.Variable[] {
  const kernel = tf.variable(tf.tensor2d(w, [2, 2]), true, named('dense.kernel'))
  const bias = tf.variable(tf.tensor1d(b), true, named('dense.bias'))
  decayOf.set(kernel, true).set(bias, false)
  return [kernel, bias]
}

function stepWith(opt: StudioOptimizer, vars: tf.Variable[], k: number, lr: number): void {
  const grads = [tf.tensor2d(GW[k]!, [2, 2]), tf.tensor1d(GB[k]!)]
  opt.step(grads, vars, lr)
  tf.dispose(grads)
}

async function values(v: tf.Tensor): Promise<number[]> {
  return Array.from(await v.data())
}

function expectClose(actual: number[], expected: number[], tol = 1e-6): void {
  expect(actual.length).toBe(expected.length)
  actual.forEach((a, i) => expect(Math.abs(a - expected[i]!)).toBeLessThan(tol))
}

/** Scalar AdamW / Adam, written straight from the formulas, in float64. */
function adamRef(p0: number[], grads: number[][], lr: number, wd: number, decoupled: boolean) {
  const [b1, b2, eps] = [0.9, 0.999, 1e-8]
  const p = [...p0]
  const m = p.map(() => 0)
  const v = p.map(() => 0)
  grads.forEach((g, k) => {
    const t = k + 1
    for (let i = 0; i < p.length; i++) {
      const gi = decoupled ? g[i]! : g[i]! + wd * p[i]!
      m[i] = b1 * m[i]! + (1 - b1) * gi
      v[i] = b2 * v[i]! + (1 - b2) * gi * gi
      const mh = m[i]! / (1 - b1 ** t)
      const vh = v[i]! / (1 - b2 ** t)
      if (decoupled) p[i] = p[i]! - lr * wd * p[i]!
      p[i] = p[i]! - (lr * mh) / (Math.sqrt(vh) + eps)
    }
  })
  return p
}

describe('AdamW', () => {
  const lr = 0.1
  const wd = 0.01

  it('first step matches the formula: decay on the 2-D kernel, none on the bias', async () => {
    const vars = makeVars()
    const opt = createOptimizer('adamw', { weightDecay: wd, momentum: 0, decayMask: decayOf })
    stepWith(opt, vars, 0, lr)
    // Step 1: m̂ = g, v̂ = g², so the Adam part is lr·g/(|g| + ε) ≈ lr·sign(g) = ±0.1; decay
    // multiplies each weight by 1 − lr·wd = 0.999. By hand: W = [1, 2, 3, −4]·0.999 − 0.1·sign([0.1, −0.2, 0.3, 0.4])
    expectClose(await values(vars[0]!), [0.899, 2.098, 2.897, -4.096], 1e-6)
    expectClose(await values(vars[0]!), adamRef(W0, [GW[0]!], lr, wd, true))
    // Bias: no decay, so b − lr·sign(g): 0.5 − 0.1, −0.5 + 0.1
    expectClose(await values(vars[1]!), [0.4, -0.4])
    opt.dispose()
    tf.dispose(vars)
  })

  it('second step matches the formula with bias correction', async () => {
    const vars = makeVars()
    const opt = createOptimizer('adamw', { weightDecay: wd, momentum: 0, decayMask: decayOf })
    stepWith(opt, vars, 0, lr)
    stepWith(opt, vars, 1, lr)
    expectClose(await values(vars[0]!), adamRef(W0, [GW[0]!, GW[1]!], lr, wd, true))
    expectClose(await values(vars[1]!), adamRef(B0, [GB[0]!, GB[1]!], lr, 0, true))
    // One coordinate written out: b[1], g = −2 then 0.25.
    const m = 0.9 * (0.1 * -2) + 0.1 * 0.25
    const v = 0.999 * (0.001 * 4) + 0.001 * 0.0625
    const b1 = -0.5 + 0.1 // after step 1
    const expected = b1 - (lr * (m / (1 - 0.81))) / (Math.sqrt(v / (1 - 0.999 ** 2)) + 1e-8)
    expect((await values(vars[1]!))[1]).toBeCloseTo(expected, 6)
    opt.dispose()
    tf.dispose(vars)
  })

  it('follows the decay mask it is given, whatever the shapes', async () => {
    const [w, b] = makeVars()
    const opt = createOptimizer('adamw', { weightDecay: 0.5, momentum: 0, decayMask: new Map([[w!, false], [b!, true]]) })
    const grads = [tf.zeros([2, 2]), tf.zeros([2])]
    opt.step(grads, [w!, b!], 0.1)
    expectClose(await values(w!), W0)
    expectClose(await values(b!), B0.map((x) => x * 0.95))
    tf.dispose([w!, b!, ...grads])
    opt.dispose()
  })
})

describe('Adam', () => {
  it('applies weight decay as an L2 term in the gradient (PyTorch Adam)', async () => {
    const vars = makeVars()
    const opt = createOptimizer('adam', { weightDecay: 0.1, momentum: 0, decayMask: decayOf })
    stepWith(opt, vars, 0, 0.01)
    stepWith(opt, vars, 1, 0.01)
    expectClose(await values(vars[0]!), adamRef(W0, [GW[0]!, GW[1]!], 0.01, 0.1, false))
    expectClose(await values(vars[1]!), adamRef(B0, [GB[0]!, GB[1]!], 0.01, 0, false))
    opt.dispose()
    tf.dispose(vars)
  })
})

describe('SGD with momentum', () => {
  it('two steps follow b ← μb + g, p ← p − lr·b', async () => {
    const vars = makeVars()
    const opt = createOptimizer('sgd', { weightDecay: 0, momentum: 0.9, decayMask: decayOf })
    stepWith(opt, vars, 0, 0.1)
    stepWith(opt, vars, 1, 0.1)
    // bias[0]: g = 1 then 0.5. b1 = 1, p = 0.5 − 0.1 = 0.4; b2 = 0.9 + 0.5 = 1.4, p = 0.4 − 0.14 = 0.26
    // bias[1]: g = −2 then 0.25. b1 = −2, p = −0.3; b2 = −1.8 + 0.25 = −1.55, p = −0.3 + 0.155 = −0.145
    expectClose(await values(vars[1]!), [0.26, -0.145])
    const w = GW[0]!.map((g1, i) => {
      const b2 = 0.9 * g1 + GW[1]![i]!
      return W0[i]! - 0.1 * g1 - 0.1 * b2
    })
    expectClose(await values(vars[0]!), w)
    opt.dispose()
    tf.dispose(vars)
  })

  it('adds L2 decay to the kernel gradient only', async () => {
    const vars = makeVars()
    const opt = createOptimizer('sgd', { weightDecay: 0.1, momentum: 0.9, decayMask: decayOf })
    stepWith(opt, vars, 0, 0.1)
    // W[0]: g' = 0.1 + 0.1·1 = 0.2 → 1 − 0.02 = 0.98; bias: no decay → 0.5 − 0.1 = 0.4
    expect((await values(vars[0]!))[0]).toBeCloseTo(0.98, 6)
    expect((await values(vars[1]!))[0]).toBeCloseTo(0.4, 6)
    opt.dispose()
    tf.dispose(vars)
  })
})

describe('optimizer memory', () => {
  for (const kind of ['adamw', 'adam', 'sgd'] as const) {
    it(`${kind}: tensor count is flat over 50 steps`, () => {
      const vars = makeVars()
      const opt = createOptimizer(kind, { weightDecay: 0.01, momentum: 0.9, decayMask: decayOf })
      let afterTwo = -1
      for (let s = 0; s < 50; s++) {
        stepWith(opt, vars, s % 3, 0.01)
        if (s === 1) afterTwo = tf.memory().numTensors
      }
      expect(tf.memory().numTensors).toBe(afterTwo)
      const before = tf.memory().numTensors
      opt.dispose()
      expect(tf.memory().numTensors).toBe(before - (kind === 'sgd' ? 2 : 4))
      tf.dispose(vars)
    })
  }
})

describe('optimizer state', () => {
  for (const kind of ['adamw', 'adam', 'sgd'] as const) {
    it(`${kind}: state() → restore() into a fresh optimizer resumes bit-identically`, async () => {
      const opts = { weightDecay: 0.05, momentum: 0.9, decayMask: decayOf }
      // Uninterrupted: three steps.
      const a = makeVars()
      const optA = createOptimizer(kind, opts)
      for (let k = 0; k < 3; k++) stepWith(optA, a, k, 0.05)

      // Interrupted after two steps; weights and state go through plain arrays (as JSON would).
      const b = makeVars()
      const optB = createOptimizer(kind, opts)
      for (let k = 0; k < 2; k++) stepWith(optB, b, k, 0.05)
      const saved = await optB.state()
      expect(saved.name).toBe(kind)
      expect(saved.step).toBe(2)
      const keys = Object.keys(saved.values)
      expect(keys).toContain(kind === 'sgd' ? `momentum:0:${b[0]!.name}` : `m:0:${b[0]!.name}`)
      expect(saved.shapes[keys[0]!]).toEqual([2, 2])
      const json: OptimizerState = JSON.parse(
        JSON.stringify({ ...saved, values: Object.fromEntries(keys.map((k) => [k, Array.from(saved.values[k]!)])) }),
      ) as OptimizerState
      const resumed = makeVars(await values(b[0]!), await values(b[1]!))
      optB.dispose()
      const optC = createOptimizer(kind, opts)
      optC.restore(json)
      stepWith(optC, resumed, 2, 0.05)

      expect(await values(resumed[0]!)).toEqual(await values(a[0]!))
      expect(await values(resumed[1]!)).toEqual(await values(a[1]!))
      tf.dispose([...a, ...b, ...resumed])
      optA.dispose()
      optC.dispose()
    })
  }

  it('refuses state of another optimizer and a changed variable list', async () => {
    const vars = makeVars()
    const opt = createOptimizer('adamw', { weightDecay: 0, momentum: 0, decayMask: decayOf })
    stepWith(opt, vars, 0, 0.1)
    const saved = await opt.state()
    const sgd = createOptimizer('sgd', { weightDecay: 0, momentum: 0.9, decayMask: decayOf })
    expect(() => sgd.restore(saved)).toThrow(/adamw/)
    const fresh = createOptimizer('adamw', { weightDecay: 0, momentum: 0, decayMask: decayOf })
    fresh.restore(saved)
    const swapped = [vars[1]!, vars[0]!]
    const grads = [tf.zeros([2]), tf.zeros([2, 2])]
    expect(() => fresh.step(grads, swapped, 0.1)).toThrow(/shape/)
    tf.dispose([...vars, ...grads])
    opt.dispose()
    fresh.dispose()
  })

  it('refuses a variable whose decay nobody declared', () => {
    const stray = tf.variable(tf.zeros([2, 2]), true, named('stray'))
    const opt = createOptimizer('adamw', { weightDecay: 0.1, momentum: 0, decayMask: decayOf })
    const g = tf.zeros([2, 2])
    expect(() => opt.step([g], [stray], 0.1)).toThrow(/No weight-decay flag/)
    tf.dispose([stray, g])
    opt.dispose()
  })
})
