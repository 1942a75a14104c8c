import { formatDecimal } from '../../format/format'
import { useState } from 'react'
import { generateText, stopGenerating } from '../../state/actions'
import { usePlayground } from '../../state/playground'
import { useStudio } from '../../state/store'
import { SliderField } from './SliderField'

/** Prompt → continuation from the base model and the fine-tuned one, streamed token by token;
 *  or, for a Hugging Face model whose tokenizer has a chat template, a chat turn rendered by it. */
export function TextGeneration() {
  const card = useStudio((s) => s.model?.card)
  const hasChat = card?.source === 'huggingface' && card.chatTemplate === true
  const [mode, setMode] = useState<'text' | 'chat'>('text')
  const chatMode = hasChat && mode === 'chat'
  return (
    <div className="playground-lm">
      {hasChat && (
        <fieldset>
          <legend>Mode</legend>
          <label>
            <input type="radio" name="pg-mode" checked={mode === 'text'} onChange={() => setMode('text')} aria-describedby="pg-mode-help" /> Continue a text
          </label>
          <label>
            <input type="radio" name="pg-mode" checked={mode === 'chat'} onChange={() => setMode('chat')} aria-describedby="pg-mode-help" /> Chat
          </label>
          <p className="help" id="pg-mode-help">
            This model’s tokenizer_config.json has a chat template: Chat writes your message into it (with the turn that asks for the assistant’s reply) and shows each model’s reply, which ends at the model’s end-of-turn token.
          </p>
        </fieldset>
      )}
      {chatMode ? <ChatTurn generation={typeof card?.generationConfig === 'string' ? card.generationConfig : 'greedy decoding'} /> : <TextContinuation />}
    </div>
  )
}

/** A system message and a user message through the model's chat template: greedy, or as its
 *  generation_config.json says; the rendered conversation and both replies shown. */
function ChatTurn({ generation }: { generation: string }) {
  const [system, setSystem] = useState('')
  const [user, setUser] = useState('Tell me about whales.')
  const [greedy, setGreedy] = useState(true)
  const [maxTokens, setMaxTokens] = useState(40)
  const [seed, setSeed] = useState(1)
  const pending = usePlayground((s) => s.pending)
  const sides = usePlayground((s) => s.sides)
  const message = usePlayground((s) => s.message)
  const rendered = usePlayground((s) => s.rendered)
  const send = () => {
    const messages = [...(system.trim() ? [{ role: 'system' as const, content: system }] : []), { role: 'user' as const, content: user }]
    generateText({ prompt: user, maxTokens, temperature: 0, topK: 0, seed, chat: { messages, greedy } })
  }
  return (
    <>
      <div className="field">
        <label htmlFor="pg-system">System message</label>
        <textarea id="pg-system" rows={2} value={system} onChange={(e) => setSystem(e.target.value)} aria-describedby="pg-system-help" />
        <p className="help" id="pg-system-help">
          Optional instructions before your message (left out when empty; some templates add their own).
        </p>
      </div>
      <div className="field">
        <label htmlFor="pg-user">Your message</label>
        <textarea id="pg-user" rows={3} value={user} onChange={(e) => setUser(e.target.value)} aria-describedby="pg-user-help" />
        <p className="help" id="pg-user-help">
          The user turn. Both models get the same rendered conversation.
        </p>
      </div>
      <fieldset>
        <legend>Decoding</legend>
        <label>
          <input type="radio" name="pg-decoding" checked={greedy} onChange={() => setGreedy(true)} aria-describedby="pg-decoding-help" /> Greedy
        </label>
        <label>
          <input type="radio" name="pg-decoding" checked={!greedy} onChange={() => setGreedy(false)} aria-describedby="pg-decoding-help" /> As the model’s generation_config.json says
        </label>
        <p className="help" id="pg-decoding-help">
          Greedy always takes the likeliest token (the same reply every time). The model’s generation_config.json asks for {generation}.
        </p>
      </fieldset>
      <div className="group">
        <SliderField label="Tokens to generate" help="At most this many tokens per reply; a reply ends earlier at the model’s end-of-turn token." min={1} max={200} step={1} value={maxTokens} onChange={setMaxTokens} />
        {!greedy && <SliderField label="Seed" help="Seed of the sampler: change it to draw a different reply." min={1} max={100} step={1} value={seed} onChange={setSeed} />}
      </div>
      <div className="controls">
        <button type="button" disabled={pending || !user.trim()} onClick={send} title="Send the message to the base model, then to the fine-tuned one">
          Send
        </button>
        <button type="button" disabled={!pending} onClick={stopGenerating} title="Stop generating; the reply so far stays">
          Stop generating
        </button>
      </div>
      {message && <p className="muted" role="status">{message}</p>}
      {rendered !== null && (
        <details>
          <summary>The conversation as the chat template rendered it</summary>
          <pre className="generated" data-testid="chat-rendered">{rendered}</pre>
        </details>
      )}
      <div className="side-by-side">
        {(['before', 'after'] as const).map((which) => (
          <figure key={which} className="side" data-testid={`chat-${which}`}>
            <figcaption>{which === 'before' ? 'Before fine-tuning' : 'After fine-tuning'}</figcaption>
            <p className="generated" aria-live="polite">
              {sides[which].text ?? ''}
            </p>
            {sides[which].stopped && <p className="muted">stopped</p>}
          </figure>
        ))}
      </div>
    </>
  )
}

/** Prompt → continuation, sampled with the sliders' settings. */
function TextContinuation() {
  const [prompt, setPrompt] = useState('Call me Ishmael. ')
  const [temperature, setTemperature] = useState(0.8)
  const [topK, setTopK] = useState(40)
  const [maxTokens, setMaxTokens] = useState(40)
  const [seed, setSeed] = useState(1)
  const pending = usePlayground((s) => s.pending)
  const sides = usePlayground((s) => s.sides)
  const message = usePlayground((s) => s.message)
  return (
    <>
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
    </>
  )
}
