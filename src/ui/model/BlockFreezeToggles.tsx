import { useId } from 'react'
import { trainableBlocks } from '../../settings/trainableBlocks'
import { frozenBlocksText } from '../../settings/frozenBlocks'
import { useStudio, runActive } from '../../state/store'

/** One checkbox per unit of the body (embeddings, each block, final norm): ticking one
 *  freezes it. Any change switches the method to 'custom' with exactly the ticked units
 *  frozen, starting from what the current method freezes; the worker's plan then updates
 *  the trainable count and the layer table. */
export function BlockFreezeToggles({ nLayers }: { nLayers: number }) {
  const settings = useStudio((s) => s.settings)
  const replaceSettings = useStudio((s) => s.replaceSettings)
  const running = useStudio((s) => runActive(s.status))
  const helpId = useId()
  const adds = settings.method === 'lora' || settings.method === 'adapter'
  // The method's own set, before any schedule (two-stage, gradual unfreezing) narrows it.
  const trains = trainableBlocks(nLayers, { ...settings, unfreezeEvery: 0, headFirstEpochs: 0 }, 0)
  const units = [
    { id: -1, label: 'Embeddings' },
    ...Array.from({ length: nLayers }, (_, i) => ({ id: i, label: `Block ${i}` })),
    { id: nLayers, label: 'Final norm' },
  ]
  const toggle = (id: number, freeze: boolean) => {
    const frozen = new Set(units.map((u) => u.id).filter((b) => !trains.has(b)))
    if (freeze) frozen.add(id)
    else frozen.delete(id)
    replaceSettings({ ...settings, method: 'custom', frozenBlocks: frozenBlocksText(frozen, nLayers) })
  }
  return (
    <fieldset className="block-toggles" data-testid="block-toggles" aria-describedby={helpId}>
      <legend>Frozen parts of the body</legend>
      {units.map((u) => (
        <label key={u.id} title={adds ? 'LoRA and adapters keep the whole body frozen; choose another method to pick blocks.' : `Tick to keep ${u.label.toLowerCase()} frozen during training`}>
          <input type="checkbox" checked={!trains.has(u.id)} disabled={adds || running} onChange={(e) => toggle(u.id, e.target.checked)} /> Freeze {u.label.toLowerCase()}
        </label>
      ))}
      <p className="help" id={helpId}>
        {adds
          ? 'LoRA and adapters train small added weights and keep every body unit frozen.'
          : 'Ticking or clearing a box switches the method to “Choose blocks to freeze” with exactly the ticked units frozen; the head always trains.'}
      </p>
    </fieldset>
  )
}
