import { useId, useState, type DragEvent } from 'react'
import { WELL_KNOWN_MODELS } from '../../shared/wellKnownModels'
import { BUILTIN_MODELS } from '../../shared/builtinModels'
import { loadBuiltinModelById, loadModelFiles, loadModelUrl } from '../../state/actions'
import { useStudio } from '../../state/store'
import { HfModelPanel } from '../models/HfModelPanel'

/** Load another base model: a TensorFlow.js layers model by URL (or a well-known one), or
 *  model.json + its weight files from disk. Progress shows in the busy bar; errors as alerts. */
export function LoadModelSection() {
  const id = useId()
  const [url, setUrl] = useState('')
  const busy = useStudio((s) => s.busy?.task === 'model')
  const [dragging, setDragging] = useState(false)
  const onDrop = (e: DragEvent) => {
    e.preventDefault()
    setDragging(false)
    const files = Array.from(e.dataTransfer.files)
    if (files.length) loadModelFiles(files)
  }
  return (
    <>
    <div className="field" role="group" aria-labelledby={`${id}-builtins`}>
      <span id={`${id}-builtins`} className="label">Built-in pretrained models</span>
      <div className="controls">
        {BUILTIN_MODELS.map((m) => (
          <button key={m.id} type="button" disabled={busy} onClick={() => loadBuiltinModelById(m.id)} title={m.description}>
            {m.title}
          </button>
        ))}
      </div>
      <p className="help">The text model fine-tunes on text classification and language modelling; the emoji CNN on image folders or zips.</p>
    </div>
    <details className="model-load">
      <summary>Load a model</summary>
      <HfModelPanel />
      <form
        className="field"
        onSubmit={(e) => {
          e.preventDefault()
          if (url.trim()) loadModelUrl(url.trim())
        }}
      >
        <label htmlFor={`${id}-url`}>Model URL (model.json)</label>
        <div className="controls">
          <input id={`${id}-url`} type="url" size={60} value={url} placeholder="https://…/model.json" onChange={(e) => setUrl(e.target.value)} aria-describedby={`${id}-url-help`} />
          <button type="submit" disabled={busy || !url.trim()} title="Download the model (weights are cached in this browser for next time)">
            Load model from URL
          </button>
        </div>
        <p className="help" id={`${id}-url-help`}>
          A TensorFlow.js layers model (e.g. a Teachable Machine export or MobileNet). The host must allow cross-origin requests (CORS). Downloads are kept in this browser, so the next load needs no network.
        </p>
      </form>
      <div className="field">
        <label htmlFor={`${id}-known`}>Well-known models</label>
        <select
          id={`${id}-known`}
          value=""
          disabled={busy}
          aria-describedby={`${id}-known-help`}
          onChange={(e) => {
            if (!e.target.value) return
            setUrl(e.target.value)
            loadModelUrl(e.target.value)
          }}
        >
          <option value="">Choose one to load…</option>
          {WELL_KNOWN_MODELS.map((m) => (
            <option key={m.url + m.title} value={m.url} title={m.note}>
              {m.title}
            </option>
          ))}
        </select>
        <p className="help" id={`${id}-known-help`}>
          Public layers models on Google's storage; they need internet access.
        </p>
      </div>
      <div
        className={`field dropzone${dragging ? ' over' : ''}`}
        onDragOver={(e) => {
          e.preventDefault()
          setDragging(true)
        }}
        onDragLeave={() => setDragging(false)}
        onDrop={onDrop}
        data-testid="model-dropzone"
      >
        <label htmlFor={`${id}-files`}>Model files (model.json + .bin weights, or a studio .zip)</label>
        <input
          id={`${id}-files`}
          type="file"
          multiple
          accept=".json,.bin,.zip,application/json,application/octet-stream,application/zip"
          disabled={busy}
          aria-describedby={`${id}-files-help`}
          onChange={(e) => {
            const files = Array.from(e.target.files ?? [])
            if (files.length) loadModelFiles(files)
            e.target.value = ''
          }}
        />
        <p className="help" id={`${id}-files-help`}>
          Choose model.json together with all its .bin files (hold Ctrl or Shift), or drop them here.
        </p>
      </div>
    </details>
    </>
  )
}
