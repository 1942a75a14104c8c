import { readFile } from 'node:fs/promises'
import { resolve } from 'node:path'
import * as tf from '@tensorflow/tfjs'
import { beforeAll, describe, expect, it } from 'vitest'
import { loadTinyGpt, type LoadedTinyGpt } from '../../models/modelFile'
import { Lora } from '../../tuning/lora'
import type { LmTokenizer } from '../lm'
import { tinyLmChatFormat } from '../sft/data'
import { encodeDpo, parseDpoJsonl } from './data'
import { dpoLoss, evaluateDpo, loraPolicyAndReference, pairLogProbs, sequenceLogProbs } from './dpo'

const root = resolve(__dirname, '../../../..')
const fileFetch = async (url: string) => new Response(await readFile(resolve(root, 'public', url.replace(/^\//, ''))))

const chars: LmTokenizer = {
  encode: (t) => Array.from(t, (c) => c.charCodeAt(0)),
  decode: (ids) => String.fromCharCode(...Array.from(ids)),
  padId: 0,
  bosId: 1,
  eosId: 2,
}
const ids = (t: string) => Array.from(t, (c) => c.charCodeAt(0))

beforeAll(async () => {
  await tf.setBackend('cpu')
})

describe('DPO data', () => {
  it('reads plain-text and chat pairs; refuses empty, identical and malformed answers naming the row', () => {
    const lines = [
      { prompt: 'Q:', chosen: ' yes', rejected: ' no' },
      { prompt: [{ role: 'user', content: 'Hi' }], chosen: [{ role: 'assistant', content: 'Hello' }], rejected: 'Go away' },
      { prompt: 'Q:', chosen: ' same ', rejected: 'same' },
      { prompt: 'Q:', chosen: '', rejected: 'x' },
      { prompt: [{ role: 'bot', content: 'Hi' }], chosen: 'a', rejected: 'b' },
      { prompt: [{ role: 'user', content: 'Hi' }], chosen: [{ role: 'user', content: 'a' }], rejected: 'b' },
      { prompt: 'Q:', chosen: 'a' },
    ]
    // Line 2, a chat pair, is read on its own: a file holds one kind of pair.
    const { rows, problems } = parseDpoJsonl(lines.map((l, i) => (i === 1 ? '' : JSON.stringify(l))).join('\n'))
    expect(rows).toEqual([{ kind: 'text', row: 1, prompt: 'Q:', chosen: ' yes', rejected: ' no' }])
    expect(parseDpoJsonl(JSON.stringify(lines[1])).rows).toEqual([{ kind: 'chat', row: 1, prompt: [{ role: 'user', content: 'Hi' }], chosen: 'Hello', rejected: 'Go away' }])
    expect(problems.map((p) => p.message)).toEqual([
      'Row 3: "chosen" and "rejected" are the same answer, so there is no preference to learn: make them differ or remove the row.',
      'Row 4: "chosen" is empty: write the preferred answer, or remove the row.',
      'Row 5: prompt[0] has the unknown role "bot": use "system", "user" or "assistant".',
      'Row 6: "chosen" must be an assistant message, got role "user": write {"role": "assistant", "content": "…"}.',
      'Row 7 lacks "rejected" (keys: prompt, chosen): each pair needs prompt, chosen and rejected.',
    ])
    expect(() => parseDpoJsonl(JSON.stringify(lines[2]), 'prefs.jsonl')).toThrow(/^prefs\.jsonl has no usable pair: Row 1: "chosen" and "rejected" are the same answer/)
  })

  it('refuses a file that mixes plain-text and chat pairs, naming the first pair of the other kind', () => {
    const text = [
      JSON.stringify({ prompt: 'Q:', chosen: ' yes', rejected: ' no' }),
      JSON.stringify({ prompt: 'R:', chosen: ' up', rejected: ' down' }),
      JSON.stringify({ prompt: [{ role: 'user', content: 'Hi' }], chosen: [{ role: 'assistant', content: 'Hello' }], rejected: 'Go away' }),
    ].join('\n')
    expect(() => parseDpoJsonl(text, 'prefs.jsonl')).toThrow(
      'prefs.jsonl mixes two kinds of row: row 1 is a text pair ("prompt" a string), but row 3 is a chat pair ("prompt" a list of messages). Each kind is written into the model differently and one file trains one way: rewrite those rows the way row 1 is written, or put them in a file of their own and train on one file at a time.',
    )
  })

  it('masks only the final answer and its eos, even after earlier assistant turns in the prompt', () => {
    const chat = tinyLmChatFormat(chars)
    const { pairs } = encodeDpo(
      [
        { kind: 'text', row: 1, prompt: 'Q', chosen: 'y', rejected: 'nn' },
        { kind: 'chat', row: 2, prompt: [{ role: 'user', content: 'a' }, { role: 'assistant', content: 'b' }, { role: 'user', content: 'c' }], chosen: 'd', rejected: 'e' },
      ],
      chars,
      { seqLen: 64, chat },
    )
    expect(pairs[0]!.chosen.ids).toEqual([1, 81, 121, 2])
    expect(pairs[0]!.chosen.mask).toEqual([0, 0, 1, 1])
    expect(pairs[0]!.rejected.ids).toEqual([1, 81, 110, 110, 2])
    expect(pairs[0]!.rejected.mask).toEqual([0, 0, 1, 1, 1])
    const c = pairs[1]!.chosen
    const before = [1, ...ids('User: a\nAssistant: b'), 2, ...ids('User: c\nAssistant:')]
    expect(c.ids).toEqual([...before, ...ids(' d'), 2])
    expect(c.mask).toEqual([...before.map(() => 0), 1, 1, 1]) // " b" + eos of the earlier turn is context here
  })
})

describe('DPO loss', () => {
  it('equals −log σ(β((π_c − ref_c) − (π_r − ref_r))) averaged, and its gradient is ∓β·σ(−z)/N (hand computation)', async () => {
    const beta = 0.5
    const pc = tf.tensor1d([-1, -2])
    const pr = tf.tensor1d([-3, -1])
    const rc = tf.tensor1d([-2, -2])
    const rr = tf.tensor1d([-2, -2])
    // z1 = 0.5·((−1+2) − (−3+2)) = 1; z2 = 0.5·((−2+2) − (−1+2)) = −0.5
    const { loss, chosenRewards, rejectedRewards } = dpoLoss(pc, pr, rc, rr, beta)
    expect((await loss.data())[0]).toBeCloseTo((Math.log(1 + Math.exp(-1)) + Math.log(1 + Math.exp(0.5))) / 2, 6)
    expect(Array.from(await chosenRewards.data())).toEqual([0.5, 0])
    expect(Array.from(await rejectedRewards.data())).toEqual([-0.5, 0.5])
    const sig = (x: number) => 1 / (1 + Math.exp(-x))
    const [gc, gr] = tf.grads((a: tf.Tensor, b: tf.Tensor) => dpoLoss(a as tf.Tensor1D, b as tf.Tensor1D, rc, rr, beta).loss)([pc, pr])
    const expC = [(-beta * sig(-1)) / 2, (-beta * sig(0.5)) / 2]
    const gotC = Array.from(await gc!.data())
    const gotR = Array.from(await gr!.data())
    gotC.forEach((g, i) => expect(g).toBeCloseTo(expC[i]!, 6))
    gotR.forEach((g, i) => expect(g).toBeCloseTo(-expC[i]!, 6))
    expect(() => dpoLoss(pc, pr, rc, rr, 0)).toThrow(/beta must be positive/)
  })

  it('sequence log-probability sums log p of the masked answer tokens only', async () => {
    // Position 0 predicts with p = (1/3, 1/3, 1/3); position 1 with (1/2, 1/4, 1/4).
    const logits = tf.tensor3d([[[0, 0, 0], [Math.log(2), 0, 0], [0, 0, 0]]])
    const ids = tf.tensor2d([[2, 1, 0]], [1, 3], 'int32')
    expect((await sequenceLogProbs(logits, ids, tf.tensor2d([[0, 1, 1]])).data())[0]).toBeCloseTo(Math.log(1 / 3) + Math.log(1 / 2), 6)
    expect((await sequenceLogProbs(logits, ids, tf.tensor2d([[0, 0, 1]])).data())[0]).toBeCloseTo(Math.log(1 / 2), 6)
  })
})

describe('DPO on the built-in LM (public/models/tiny-lm) with LoRA', () => {
  let gpt: LoadedTinyGpt
  beforeAll(async () => {
    gpt = await loadTinyGpt('/models/tiny-lm/model.json', fileFetch)
  }, 60_000)

  it('at step 0 the policy is the reference with the adapter off: rewards exactly 0, loss exactly log 2, no second copy of the weights', async () => {
    const tok = gpt.tokenizer
    const { pairs } = encodeDpo(
      [
        { kind: 'text', row: 1, prompt: 'Is the word "happy" positive or negative?\nAnswer:', chosen: ' positive', rejected: ' negative' },
        { kind: 'text', row: 2, prompt: 'The whale swam', chosen: ' away from the ship.', rejected: ' the the the' },
      ],
      tok,
      { seqLen: gpt.model.config.seqLen },
    )
    const tensorsBefore = tf.memory().numTensors
    const lora = new Lora(gpt.model, { rank: 4, alpha: 8, seed: 3 })
    expect(tf.memory().numTensors - tensorsBefore).toBe(lora.params.length) // only A and B were added
    const { policy, reference } = loraPolicyAndReference(gpt.model, lora)
    const ref = await pairLogProbs(reference, pairs, tok.padId)
    const m = await evaluateDpo(policy, pairs, ref, 0.1, tok.padId)
    expect(m.chosenReward).toBe(0)
    expect(m.rejectedReward).toBe(0)
    expect(m.rewardMargin).toBe(0)
    expect(m.rewardAccuracy).toBe(0) // no pair has r_c > r_r yet
    expect(m.loss).toBeCloseTo(Math.log(2), 6)
    expect(m.chosenLogProb).toBeLessThan(0)
    // The fluent continuation is already the likelier one for the base model.
    expect(ref.chosen[1]!).toBeGreaterThan(ref.rejected[1]!)
    lora.dispose()
  })
})
