/** Which units of a network train at a given epoch: a pure function of the settings, used by
 *  the engine's freezing (src/engine/tuning/freeze.ts) and by the page's freeze toggles. */
import { frozenBlockIds } from './frozenBlocks'
import type { Settings } from './types'

/** Which of the model's own weights train at a given epoch (0-based), from the method and
 *  the two schedules:
 *  - full: everything; freeze: blocks ≥ freezeFirst and the final norm, embeddings too only
 *    when freezeFirst is 0; head, lora, adapter: none of the body.
 *  - two-stage (headFirstEpochs > 0): the first headFirstEpochs epochs train the head alone
 *    (LoRA and adapter weights wait too).
 *  - gradual unfreezing (unfreezeEvery = K > 0, full/freeze only): the head alone for K
 *    epochs, then every K epochs one more unit from the top: the last block with the final
 *    norm, the block below, …, the embeddings last. With two-stage also on, the head-first
 *    stage replaces the first head-only stage.
 *  - custom: every unit not listed in frozenBlocks ("emb,0-1,norm"), in any pattern.
 *  The method's set caps the schedule: 'freeze' never unfreezes below freezeFirst, 'custom'
 *  never unfreezes a listed unit. */
export type FreezeSettings = Pick<Settings, 'method' | 'freezeFirst' | 'unfreezeEvery' | 'headFirstEpochs'> & Partial<Pick<Settings, 'frozenBlocks'>>

/** Block ids (-1 = embeddings, 0..n-1 = blocks, n = final norm) whose weights train. */
export function trainableBlocks(nLayers: number, settings: FreezeSettings, epoch: number): Set<number> {
  const out = new Set<number>()
  if (inHeadOnlyStage(settings, epoch)) return out
  const all = Array.from({ length: nLayers + 2 }, (_, i) => i - 1)
  let chosen: number[]
  switch (settings.method) {
    case 'full':
      chosen = all
      break
    case 'freeze': {
      const first = clampInt(settings.freezeFirst, 0, nLayers)
      chosen = all.filter((b) => b >= first || (b === -1 && first === 0))
      break
    }
    case 'custom': {
      const frozen = frozenBlockIds(settings.frozenBlocks ?? '', nLayers)
      chosen = all.filter((b) => !frozen.has(b))
      break
    }
    case 'head':
    case 'lora':
    case 'adapter':
      chosen = []
      break
  }
  const stage = unfreezeStage(settings, epoch)
  for (const b of chosen) if (stage === null || unfrozenAt(b, nLayers, stage)) out.add(b)
  return out
}

/** Whether LoRA/adapter weights train at this epoch (not during the head-first stage). */
export function tuningParamsTrain(settings: FreezeSettings, epoch: number): boolean {
  return !inHeadOnlyStage(settings, epoch)
}

/** Whether gradual unfreezing or two-stage training changes the trainable set over the run. */
export function hasSchedule(settings: FreezeSettings): boolean {
  return settings.headFirstEpochs > 0 || (settings.unfreezeEvery > 0 && (settings.method === 'full' || settings.method === 'freeze' || settings.method === 'custom'))
}

function inHeadOnlyStage(settings: FreezeSettings, epoch: number): boolean {
  return settings.headFirstEpochs > 0 && epoch < settings.headFirstEpochs
}

/** Units unfrozen from the top at this epoch, or null when gradual unfreezing is off. */
function unfreezeStage(settings: FreezeSettings, epoch: number): number | null {
  const k = settings.unfreezeEvery
  if (!(k > 0)) return null
  const hf = Math.max(0, settings.headFirstEpochs)
  return hf > 0 ? Math.floor((epoch - hf) / k) + 1 : Math.floor(epoch / k)
}

/** Stage j unfreezes the final norm and the top j blocks; stage n+1 the embeddings. */
function unfrozenAt(block: number, nLayers: number, stage: number): boolean {
  if (stage < 1) return false
  if (block === nLayers) return true
  if (block === -1) return stage > nLayers
  return block >= nLayers - stage
}

function clampInt(x: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, Math.round(x)))
}
