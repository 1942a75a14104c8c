/** Byte-level BPE (GPT-2 style) for English text.
 *  Ids: 0 <pad>, 1 <bos>, 2 <eos>, 3..258 the 256 bytes (any text encodes, nothing is
 *  unknown), then one id per learned merge in the order it was learned. */

export const PAD_ID = 0
export const BOS_ID = 1
export const EOS_ID = 2
const BYTE_OFFSET = 3
const FIRST_MERGE_ID = BYTE_OFFSET + 256

/** GPT-2's pre-tokeniser: contractions, words with their leading space, up to 3 digits,
 *  punctuation runs, whitespace. Merges never cross these pieces, so tokens stay inside words. */
const PIECE = /'(?:[sdmt]|ll|ve|re)| ?\p{L}+| ?\p{N}{1,3}| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu

export interface BpeTokenizerJson {
  type: 'byte-bpe'
  version: 1
  /** Flat [left0, right0, left1, right1, ...]; merge i creates id 259 + i. */
  merges: number[]
}

export type BpeProgress = (merges: number, target: number) => void

const encoder = new TextEncoder()
const decoder = new TextDecoder()

// Pair keys pack two ids below 2^16 into one number (vocabularies here are far smaller).
const MAX_VOCAB = 1 << 16
const pairKey = (a: number, b: number) => a * MAX_VOCAB + b

export function splitPieces(text: string): string[] {
  return text.match(PIECE) ?? []
}

function pieceBytes(piece: string): number[] {
  return Array.from(encoder.encode(piece), (b) => b + BYTE_OFFSET)
}

export class BpeTokenizer {
  readonly padId = PAD_ID
  readonly bosId = BOS_ID
  readonly eosId = EOS_ID
  readonly vocabSize: number
  private readonly ranks = new Map<number, number>() // pair key → merge index
  private readonly bytesOf: Uint8Array[] // id → the bytes it stands for
  private readonly cache = new Map<string, number[]>()

  constructor(private readonly merges: ReadonlyArray<readonly [number, number]>) {
    this.vocabSize = FIRST_MERGE_ID + merges.length
    this.bytesOf = [new Uint8Array(0), new Uint8Array(0), new Uint8Array(0)]
    for (let b = 0; b < 256; b++) this.bytesOf.push(Uint8Array.of(b))
    merges.forEach(([a, b], i) => {
      const left = this.bytesOf[a]
      const right = this.bytesOf[b]
      if (!left || !right || a >= FIRST_MERGE_ID + i || b >= FIRST_MERGE_ID + i) {
        throw new Error(`BPE merge ${i} refers to an id (${a}, ${b}) not defined before it`)
      }
      const joined = new Uint8Array(left.length + right.length)
      joined.set(left)
      joined.set(right, left.length)
      this.bytesOf.push(joined)
      this.ranks.set(pairKey(a, b), i)
    })
  }

  /** Learns merges until the vocabulary has `vocabSize` ids (or no pair occurs twice). */
  static train(text: string, vocabSize: number, onProgress?: BpeProgress): BpeTokenizer {
    if (vocabSize > MAX_VOCAB) throw new Error(`vocabSize must be at most ${MAX_VOCAB}`)
    const target = Math.max(0, vocabSize - FIRST_MERGE_ID)
    const merges = learnMerges(text, target, onProgress)
    return new BpeTokenizer(merges)
  }

  static fromJSON(json: BpeTokenizerJson): BpeTokenizer {
    if (json.type !== 'byte-bpe' || json.version !== 1) {
      throw new Error(`Unsupported tokenizer (type ${String(json.type)}, version ${String(json.version)})`)
    }
    if (json.merges.length % 2 !== 0) throw new Error('Tokenizer merges list has an odd length')
    const merges: [number, number][] = []
    for (let i = 0; i < json.merges.length; i += 2) merges.push([json.merges[i] ?? 0, json.merges[i + 1] ?? 0])
    return new BpeTokenizer(merges)
  }

  toJSON(): BpeTokenizerJson {
    return { type: 'byte-bpe', version: 1, merges: this.merges.flat() }
  }

  /** Text → ids, without <bos>/<eos> (callers add them where a format needs them). */
  encode(text: string): number[] {
    const out: number[] = []
    for (const piece of splitPieces(text)) {
      let ids = this.cache.get(piece)
      if (!ids) {
        ids = this.encodePiece(piece)
        // Words repeat (Zipf), so a per-piece cache makes encoding near-linear; cap its size.
        if (this.cache.size > 200_000) this.cache.clear()
        this.cache.set(piece, ids)
      }
      for (const id of ids) out.push(id)
    }
    return out
  }

  /** Ids → text; special ids produce nothing, bytes that are not valid UTF-8 become U+FFFD. */
  decode(ids: ArrayLike<number>): string {
    const parts: Uint8Array[] = []
    let length = 0
    for (let i = 0; i < ids.length; i++) {
      const bytes = this.bytesOf[ids[i] ?? PAD_ID]
      if (!bytes) throw new Error(`Token id ${String(ids[i])} is outside the vocabulary (${this.vocabSize})`)
      parts.push(bytes)
      length += bytes.length
    }
    const all = new Uint8Array(length)
    let at = 0
    for (const p of parts) {
      all.set(p, at)
      at += p.length
    }
    return decoder.decode(all)
  }

  /** Readable form of one id, for inspection UIs. */
  tokenText(id: number): string {
    if (id === PAD_ID) return '<pad>'
    if (id === BOS_ID) return '<bos>'
    if (id === EOS_ID) return '<eos>'
    return decoder.decode(this.bytesOf[id] ?? new Uint8Array(0))
  }

  private encodePiece(piece: string): number[] {
    const ids = pieceBytes(piece)
    // Repeatedly merge the adjacent pair learned earliest, as training did.
    for (;;) {
      let best = -1
      let bestRank = Infinity
      for (let i = 0; i + 1 < ids.length; i++) {
        const r = this.ranks.get(pairKey(ids[i] ?? 0, ids[i + 1] ?? 0))
        if (r !== undefined && r < bestRank) {
          bestRank = r
          best = i
        }
      }
      if (best < 0) return ids
      const a = ids[best] ?? 0
      const b = ids[best + 1] ?? 0
      const merged = FIRST_MERGE_ID + bestRank
      const next: number[] = []
      for (let i = 0; i < ids.length; i++) {
        if (i + 1 < ids.length && ids[i] === a && ids[i + 1] === b) {
          next.push(merged)
          i++
        } else next.push(ids[i] ?? 0)
      }
      ids.length = 0
      ids.push(...next)
    }
  }
}

/** Counts pieces once, then keeps pair counts up to date as merges rewrite only the words
 *  that contain the merged pair; a lazy max-heap finds the next best pair. */
function learnMerges(text: string, target: number, onProgress?: BpeProgress): [number, number][] {
  const freqOf = new Map<string, number>()
  for (const piece of splitPieces(text)) freqOf.set(piece, (freqOf.get(piece) ?? 0) + 1)
  const words: number[][] = []
  const freqs: number[] = []
  for (const [piece, f] of freqOf) {
    words.push(pieceBytes(piece))
    freqs.push(f)
  }

  const counts = new Map<number, number>()
  const where = new Map<number, Set<number>>() // pair → words that (may) contain it
  const heap = new PairHeap()
  const bump = (key: number, delta: number, w: number) => {
    const c = (counts.get(key) ?? 0) + delta
    counts.set(key, c)
    if (delta > 0) {
      let s = where.get(key)
      if (!s) where.set(key, (s = new Set()))
      s.add(w)
    }
  }
  words.forEach((ids, w) => {
    for (let i = 0; i + 1 < ids.length; i++) bump(pairKey(ids[i] ?? 0, ids[i + 1] ?? 0), freqs[w] ?? 0, w)
  })
  for (const [key, c] of counts) heap.push(c, key)

  const merges: [number, number][] = []
  while (merges.length < target) {
    const top = heap.popBest(counts)
    if (!top || top.count < 2) break
    const a = Math.floor(top.key / MAX_VOCAB)
    const b = top.key % MAX_VOCAB
    const merged = FIRST_MERGE_ID + merges.length
    merges.push([a, b])
    const touched = new Set<number>()
    for (const w of where.get(top.key) ?? []) {
      const ids = words[w]
      const f = freqs[w] ?? 0
      if (!ids) continue
      let has = false
      for (let i = 0; i + 1 < ids.length; i++) if (ids[i] === a && ids[i + 1] === b) has = true
      if (!has) continue
      for (let i = 0; i + 1 < ids.length; i++) {
        const k = pairKey(ids[i] ?? 0, ids[i + 1] ?? 0)
        bump(k, -f, w)
        touched.add(k)
      }
      const next: number[] = []
      for (let i = 0; i < ids.length; i++) {
        if (i + 1 < ids.length && ids[i] === a && ids[i + 1] === b) {
          next.push(merged)
          i++
        } else next.push(ids[i] ?? 0)
      }
      words[w] = next
      for (let i = 0; i + 1 < next.length; i++) {
        const k = pairKey(next[i] ?? 0, next[i + 1] ?? 0)
        bump(k, f, w)
        touched.add(k)
      }
    }
    where.delete(top.key)
    counts.delete(top.key)
    for (const k of touched) {
      const c = counts.get(k) ?? 0
      if (c > 0) heap.push(c, k)
      else counts.delete(k)
    }
    if (onProgress && (merges.length % 64 === 0 || merges.length === target)) onProgress(merges.length, target)
  }
  return merges
}

/** Max-heap of (count, pair) with stale entries skipped on pop; ties go to the smaller
 *  pair key so training is deterministic. */
class PairHeap {
  private counts: number[] = []
  private keys: number[] = []

  push(count: number, key: number): void {
    this.counts.push(count)
    this.keys.push(key)
    let i = this.counts.length - 1
    while (i > 0) {
      const p = (i - 1) >> 1
      if (!this.before(i, p)) break
      this.swap(i, p)
      i = p
    }
  }

  popBest(current: Map<number, number>): { count: number; key: number } | undefined {
    while (this.counts.length > 0) {
      const count = this.counts[0] ?? 0
      const key = this.keys[0] ?? 0
      this.removeTop()
      if (current.get(key) === count) return { count, key }
    }
    return undefined
  }

  private removeTop(): void {
    const last = this.counts.length - 1
    this.swap(0, last)
    this.counts.pop()
    this.keys.pop()
    let i = 0
    const n = this.counts.length
    for (;;) {
      const l = 2 * i + 1
      const r = l + 1
      let m = i
      if (l < n && this.before(l, m)) m = l
      if (r < n && this.before(r, m)) m = r
      if (m === i) return
      this.swap(i, m)
      i = m
    }
  }

  private before(i: number, j: number): boolean {
    const ci = this.counts[i] ?? 0
    const cj = this.counts[j] ?? 0
    return ci > cj || (ci === cj && (this.keys[i] ?? 0) < (this.keys[j] ?? 0))
  }

  private swap(i: number, j: number): void {
    const c = this.counts[i] ?? 0
    this.counts[i] = this.counts[j] ?? 0
    this.counts[j] = c
    const k = this.keys[i] ?? 0
    this.keys[i] = this.keys[j] ?? 0
    this.keys[j] = k
  }
}
