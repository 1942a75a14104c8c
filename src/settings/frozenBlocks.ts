/** The 'custom' method's list of frozen units: "emb" (embeddings), block numbers and
 *  ranges ("0-2"), "norm" (the final norm). Canonical form: "emb,0-1,3,norm" — embeddings
 *  first, blocks ascending with runs as ranges, norm last — so links stay short. */

export const MAX_BLOCK = 47 // the deepest model the schema allows (freezeFirst max 48)

export interface FrozenUnits {
  embeddings: boolean
  blocks: number[] // ascending, unique
  finalNorm: boolean
}

/** Reads a list in any order and spacing; null when an item is not in the vocabulary. */
export function readFrozenBlocks(raw: string): FrozenUnits | null {
  const out: FrozenUnits = { embeddings: false, blocks: [], finalNorm: false }
  const blocks = new Set<number>()
  const items = raw.split(',').map((p) => p.trim().toLowerCase())
  if (items.length === 1 && items[0] === '') return out // nothing frozen
  for (const item of items) {
    if (item === 'emb') out.embeddings = true
    else if (item === 'norm') out.finalNorm = true
    else {
      const m = /^(\d{1,2})(?:-(\d{1,2}))?$/.exec(item)
      if (!m) return null
      const a = Number(m[1])
      const b = m[2] === undefined ? a : Number(m[2])
      if (a > b || b > MAX_BLOCK) return null
      for (let i = a; i <= b; i++) blocks.add(i)
    }
  }
  out.blocks = [...blocks].sort((x, y) => x - y)
  return out
}

export function formatFrozenBlocks(u: FrozenUnits): string {
  const parts: string[] = []
  if (u.embeddings) parts.push('emb')
  const bs = [...new Set(u.blocks)].sort((x, y) => x - y)
  for (let i = 0; i < bs.length; ) {
    let j = i
    while (j + 1 < bs.length && bs[j + 1] === bs[j]! + 1) j++
    parts.push(j > i ? `${bs[i]}-${bs[j]}` : String(bs[i]))
    i = j + 1
  }
  if (u.finalNorm) parts.push('norm')
  return parts.join(',')
}

/** The schema's parse: canonical text, or null to refuse. */
export function parseFrozenBlocks(raw: string): string | null {
  const u = readFrozenBlocks(raw)
  return u ? formatFrozenBlocks(u) : null
}

/** Block ids as the engine numbers them (-1 = embeddings, 0..n-1, n = final norm). */
export function frozenBlockIds(raw: string, nLayers: number): Set<number> {
  const u = readFrozenBlocks(raw)
  const ids = new Set<number>()
  if (!u) return ids
  if (u.embeddings) ids.add(-1)
  for (const b of u.blocks) if (b < nLayers) ids.add(b)
  if (u.finalNorm) ids.add(nLayers)
  return ids
}

/** The setting's text for a set of frozen block ids of an n-block model. */
export function frozenBlocksText(ids: Iterable<number>, nLayers: number): string {
  const set = new Set(ids)
  return formatFrozenBlocks({
    embeddings: set.has(-1),
    blocks: [...set].filter((b) => b >= 0 && b < nLayers),
    finalNorm: set.has(nLayers),
  })
}
