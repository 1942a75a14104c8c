/**
 * The two-worker tests' set-up in Node (dataParallel*.test.ts, session/blendTwoWorkers.test.ts):
 * tinyLmSpamHamFixture.ts's tiny LM and spam-ham rows, read from public/ with node:fs. A
 * test-only module (the `.testSetup.ts` name: left out of the engine's build and type check, and
 * only test files may import it, src/importRules.test.ts), since the engine imports no Node module.
 */
import { readFile } from 'node:fs/promises'
import { resolve } from 'node:path'
import { beforeAll, expect } from 'vitest'
import { differingBits, tinyLmOnSpamHam, type runWithPeer, type TinyLmSpamHam } from './tinyLmSpamHamFixture'

const root = resolve(__dirname, '../../..')
const fileFetch = async (url: string) => new Response(await readFile(resolve(root, 'public', url.replace(/^\//, ''))))

/** Loads the fixture in the calling test file's beforeAll (60 s allowed) and returns it: its
 *  fields are there from then on, for the tests and hooks after. */
export function tinyLmOnSpamHamFiles(rows: { train: number; val: number }): TinyLmSpamHam {
  const lm = {} as TinyLmSpamHam
  beforeAll(async () => {
    Object.assign(lm, await tinyLmOnSpamHam(fileFetch, new Uint8Array(await readFile(resolve(root, 'public/samples/spam-ham.csv'))), rows))
  }, 60_000)
  return lm
}

type PeerRun = Awaited<ReturnType<typeof runWithPeer>>

/** A two-worker run (`now`) ended as the old path's run (`old`): no worker lost, the same epoch
 *  losses, all finite, and every weight the same bits. */
export function expectSameRun(old: PeerRun, now: PeerRun): void {
  expect(now.lost).toEqual([])
  expect(now.epochs).toEqual(old.epochs)
  expect(now.epochs.every((e) => Number.isFinite(e.train) && Number.isFinite(e.val))).toBe(true)
  expect(differingBits(old.weights, now.weights), 'weights that differ in any bit').toBe(0)
}
