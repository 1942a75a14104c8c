import { formatPercent, formatPerplexity } from '../../format/format'
import { useId } from 'react'
import { loadModelFile } from '../../state/actions'
import { useExport } from '../../state/exportState'

/** Loads a .zip the studio exported (full model, or adapter-only weights for the loaded base). */
export function ModelFileInput() {
  const id = useId()
  const imported = useExport((s) => s.imported)
  const pending = useExport((s) => s.pending === 'import')
  return (
    <div className="field model-file">
      <label htmlFor={id}>Load a fine-tuned model (.zip)</label>
      <input
        id={id}
        type="file"
        accept=".zip,application/zip"
        aria-describedby={`${id}-help`}
        disabled={pending}
        onChange={(e) => {
          const f = e.target.files?.[0]
          if (f) loadModelFile(f)
          e.target.value = ''
        }}
      />
      <p className="help" id={`${id}-help`}>
        A .zip from the Export step. A merged or interpolated export replaces the base model; an adapter-only export is applied to the loaded base model.
      </p>
      {imported && (
        <p data-testid="imported-model">
          Loaded <strong>{imported.title}</strong> from {imported.fileName} ({imported.choice}).{' '}
          {imported.metrics && (
            <span data-testid="imported-accuracy">
              Validation {imported.metrics.accuracy !== undefined ? `accuracy ${formatPercent(imported.metrics.accuracy)}` : `perplexity ${formatPerplexity(imported.metrics.perplexity, 2)}`}.
            </span>
          )}{' '}
          <span className="muted">{imported.note}</span>
        </p>
      )}
    </div>
  )
}
