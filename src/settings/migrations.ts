/** Versions of the settings link, and one `up` migration per version.
 *
 *  Migrations work on the raw query parameters (short name → string), before the schema
 *  reads them, because an old link may use parameters the current schema no longer has.
 *  Rules that keep old links meaning what they meant:
 *  - a short name is never reused for a different meaning (rename = new short name);
 *  - changing a default is a version bump: links carry only non-default values, so the
 *    `up` migration must write the old default into a link that does not mention the key;
 *  - every version keeps a fixture link in fixtures/ that must still decode as it did. */

export const Versions = {
  /** v1: `frz` (freeze all but the last block, on by default) and `lora` booleans chose the
   *  method; default epochs were 3. */
  Initial: 1,
  /** v2: one `m` method choice (head, freeze, lora, adapter, full) plus `ff`, the number
   *  of frozen blocks; default epochs raised to 4. */
  SplitMethod: 2,
} as const

export type Version = (typeof Versions)[keyof typeof Versions]

export const CURRENT: Version = Versions.SplitMethod

/** Raw parameters of one link: short name → value. */
export type Params = Map<string, string>

/** Called by a migration for a parameter it had to drop. */
export type Ignore = (param: string, reason: string) => void

export interface Migration {
  to: Version
  why: string
  /** Rewrites `p` (in place) from version `to - 1` to version `to`. */
  up: (p: Params, ignore: Ignore) => void
}

export const MIGRATIONS: readonly Migration[] = [
  {
    to: Versions.SplitMethod,
    why: 'Head-only and adapters needed a method choice, and the number of frozen blocks became a setting, so the frz and lora booleans became m + ff.',
    up(p, ignore) {
      const frz = take(p, 'frz')
      const lora = take(p, 'lora')
      // v1 had one 4-block built-in model; "freeze" meant every block but the last.
      const V1_FROZEN_BLOCKS = '3'
      const V1_EPOCHS = '3'
      const flag = (name: string, v: string | undefined): boolean | undefined => {
        if (v === undefined) return undefined
        if (v === '1' || v === 'true') return true
        if (v === '0' || v === 'false') return false
        ignore(name, 'expected 1 or 0 (a version 1 setting)')
        return undefined
      }
      const useLora = flag('lora', lora)
      const freeze = flag('frz', frz) ?? true // v1 default: frozen
      if (!p.has('m')) {
        if (useLora === true) p.set('m', 'lora')
        else if (freeze) {
          p.set('m', 'freeze')
          p.set('ff', V1_FROZEN_BLOCKS)
        } else p.set('m', 'full')
      }
      if (!p.has('ep')) p.set('ep', V1_EPOCHS)
    },
  },
]

function take(p: Params, name: string): string | undefined {
  const v = p.get(name)
  p.delete(name)
  return v
}

/** Applies every migration after `from`, up to CURRENT. A link from a newer version is
 *  left as it is: the codec then applies the keys this version knows (see codec.ts). */
export function migrate(p: Params, from: number, ignore: Ignore): Params {
  const out: Params = new Map(p)
  for (const m of MIGRATIONS) {
    if (m.to > from && m.to <= CURRENT) m.up(out, ignore)
  }
  return out
}
