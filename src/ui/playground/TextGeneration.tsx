import { formatDecimal } from '../../format/format'
import { useState } from 'react'
import { generateText, stopGenerating } from '../../state/actions'
import { usePlayground } from '../../state/playground'
import { SliderField } from './SliderField'

/** Prompt → continuation from the base model and the fine-tuned one, streamed token by token. */
export function TextGeneration() {
  const [prompt, setPrompt] = useState('Call me Ishmael. ')
  const [temperature, setTemperature] = useState(0.8)
  const [topK, setTopK] = useState(40)
  const [maxTokens, setMaxTokens] = useState(40)
  const [seed, setSeed] = useState(1)
  const pending = usePlayground((s) => s.pending)
  const sides = usePlayground((s) => s.sides)
  const message = usePlayground((s) => s.message)
  return (
    <div className="playground-lm">
      <div className="field">
        <label htmlFor="pg-prompt">Prompt</label>
        <textarea id="pg-prompt" rows={3} value={prompt} onChange={(e) => setPrompt(e.target.value)} aria-describedby="pg-prompt-help" />
        <p className="help" id="pg-prompt-help">
          The models continue this text. Same prompt, settings and seed give the same text.
        </p>
      </div>
      <div className="group">
        <SliderField label="Temperature" help="Divides the logits before sampling: 0 always picks the likeliest token, higher values give more varied (and more random) text." min={0} max={2} step={0.05} value={temperature} onChange={setTemperature} format={(v) => formatDecimal(v, 2)} />
        <SliderField label="Top-k" help="Sample only among the k likeliest next tokens; 0 means all tokens, 1 is greedy." min={0} max={100} step={1} value={topK} onChange={setTopK} />
        <SliderField label="Tokens to generate" help="How many tokens each model adds (it may stop earlier at an end-of-text token)." min={1} max={200} step={1} value={maxTokens} onChange={setMaxTokens} />
        <SliderField label="Seed" help="Seed of the sampler: change it to draw a different continuation." min={1} max={100} step={1} value={seed} onChange={setSeed} />
      </div>
      <div className="controls">
        <button type="button" disabled={pending || !prompt.trim()} onClick={() => generateText({ prompt, maxTokens, temperature, topK, seed })} title="Continue the prompt with the base model, then with the fine-tuned one">
          Generate
        </button>
        <button type="button" disabled={!pending} onClick={stopGenerating} title="Stop generating; the text so far stays">
          Stop generating
        </button>
      </div>
      {message && <p className="muted" role="status">{message}</p>}
      <div className="side-by-side">
        {(['before', 'after'] as const).map((which) => (
          <figure key={which} className="side" data-testid={`generation-${which}`}>
            <figcaption>{which === 'before' ? 'Before fine-tuning' : 'After fine-tuning'}</figcaption>
            <p className="generated" aria-live="polite">
              <span className="muted">{prompt}</span>
              {sides[which].text ?? ''}
            </p>
            {sides[which].stopped && <p className="muted">stopped</p>}
          </figure>
        ))}
      </div>
    </div>
  )
}
