import { useId, useState } from 'react'
import { formatBytes } from '../../format/format'
import { loadHf, loadHfFiles, probeHf, useHf } from '../../state/hfModels'
import { useStudio } from '../../state/store'
import type { HfRepoRef } from '../../worker/hfProtocol'

const HUB = 'https://huggingface.co'
const METHOD_NAMES = { head: 'Head only (cached features)', lora: 'LoRA (rank 8)', freeze: 'Last half of the blocks', full: 'Full fine-tuning' } as const

/** Hugging Face models: by repo id from the Hub (size and memory shown before downloading,
 *  files kept in this browser), or from files on this computer; the stored repos, deletable. */
export function HfModelPanel() {
  const id = useId()
  const [repo, setRepo] = useState('')
  const [revision, setRevision] = useState('')
  const [base, setBase] = useState(HUB)
  const busy = useStudio((s) => s.busy?.task === 'model')
  const { probe, probedRef, probing } = useHf()
  const ref = (): HfRepoRef => ({ repo: repo.trim(), revision: revision.trim() || 'main', ...(base.trim() && base.trim() !== HUB ? { baseUrl: base.trim() } : {}) })
  const sameAsProbed = probe && probedRef && probedRef.repo === repo.trim() && probedRef.revision === (revision.trim() || 'main')
  return (
    <section className="field hf-models" aria-labelledby={`${id}-title`}>
      <h3 id={`${id}-title`}>Hugging Face models</h3>
      <p className="help">GPT-2, Llama-family (SmolLM2, TinyLlama) and BERT-family (BERT, DistilBERT, MiniLM) checkpoints in safetensors. They fine-tune with LoRA, freezing or fully, and export as a PEFT adapter or a merged model that Hugging Face tools load.</p>
      <form
        className="field"
        onSubmit={(e) => {
          e.preventDefault()
          if (repo.trim()) probeHf(ref())
        }}
      >
        <label htmlFor={`${id}-repo`}>Hugging Face repo id</label>
        <div className="controls">
          <input id={`${id}-repo`} type="text" size={36} value={repo} placeholder="openai-community/gpt2" spellCheck={false} autoComplete="off" onChange={(e) => setRepo(e.target.value)} aria-describedby={`${id}-repo-help`} />
          <label htmlFor={`${id}-rev`}>Revision</label>
          <input id={`${id}-rev`} type="text" size={10} value={revision} placeholder="main" spellCheck={false} onChange={(e) => setRevision(e.target.value)} aria-describedby={`${id}-repo-help`} />
          <button type="submit" disabled={busy || probing || !repo.trim()} title="Reads config.json and the size of each file; downloads no weights">
            Check size and memory
          </button>
          <button type="button" disabled={busy || !repo.trim()} onClick={() => loadHf(ref())} title="Downloads the model's files (kept in this browser) and loads it">
            Download and load
          </button>
        </div>
        <p className="help" id={`${id}-repo-help`}>
          As in the model page's address, owner/name. Revision: a branch, tag or commit (empty for main). Only config.json, the safetensors weights and the tokenizer files are downloaded; they stay in this browser, with a note of the optional files the repo does not have, so once a model has loaded, loading it again asks the Hub for nothing and works offline.
        </p>
        <label htmlFor={`${id}-base`}>Hub address</label>
        <input id={`${id}-base`} type="url" size={40} value={base} onChange={(e) => setBase(e.target.value)} aria-describedby={`${id}-base-help`} />
        <p className="help" id={`${id}-base-help`}>
          Where the files are fetched from: {HUB}/&lt;repo&gt;/resolve/&lt;revision&gt;/&lt;file&gt;. A mirror works only if this page's security policy lists its host (csp.config.ts).
        </p>
      </form>
      {sameAsProbed && probe && (
        <div className="hf-probe" data-testid="hf-probe" role="region" aria-label={`${probe.repo}: size and memory`}>
          <p>
            {probe.repo} ({probe.modelType}, {formatCount(probe.params)} parameters): {formatBytes(probe.totalBytes)} in {probe.files.length} files,{' '}
            {probe.downloadBytes > 0 ? `${formatBytes(probe.downloadBytes)} to download` : 'all stored in this browser already'}.
          </p>
          <table>
            <caption>Memory for training (batch {probe.batch}, sequence {probe.seq}) on this device, which allows about {formatBytes(probe.budgetBytes)}</caption>
            <thead>
              <tr>
                <th scope="col">Method</th>
                <th scope="col">Estimate</th>
                <th scope="col">Fits</th>
              </tr>
            </thead>
            <tbody>
              {probe.plans.map((p) => (
                <tr key={p.method}>
                  <th scope="row">{METHOD_NAMES[p.method]}</th>
                  <td>{formatBytes(p.totalBytes)}</td>
                  <td>{p.fits ? 'yes' : p.refusal ? `no: ${p.refusal}` : 'no: too large for this device'}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <p id={`${id}-files-list`}>Files:</p>
          <ul aria-labelledby={`${id}-files-list`}>
              {probe.files.map((f) => (
                <li key={f.name}>
                  {f.name}: {f.bytes === null ? 'size unknown' : formatBytes(f.bytes)}
                  {f.stored ? ' (stored)' : ''}
                </li>
              ))}
          </ul>
        </div>
      )}
      <div className="field">
        <label htmlFor={`${id}-files`}>Hugging Face model files</label>
        <input
          id={`${id}-files`}
          type="file"
          multiple
          accept=".json,.safetensors,.zip,application/json,application/octet-stream,application/zip"
          disabled={busy}
          aria-describedby={`${id}-files-help`}
          onChange={(e) => {
            const files = Array.from(e.target.files ?? [])
            if (files.length) loadHfFiles(files)
            e.target.value = ''
          }}
        />
        <p className="help" id={`${id}-files-help`}>
          Choose config.json, model.safetensors (or every shard with model.safetensors.index.json), tokenizer.json, tokenizer_config.json and generation_config.json together, or a merged model's .zip. With a model loaded, adapter_config.json + adapter_model.safetensors (or a PEFT adapter's .zip) add its LoRA adapter.
        </p>
      </div>
      <p className="help">The Hugging Face files kept in this browser are listed, with their size, under step 7's storage, where each repo can be deleted.</p>
    </section>
  )
}

function formatCount(n: number): string {
  return n >= 1e9 ? `${(n / 1e9).toFixed(2)} B` : n >= 1e6 ? `${(n / 1e6).toFixed(1)} M` : n >= 1e3 ? `${(n / 1e3).toFixed(1)} k` : String(n)
}
