import { useId, useState } from 'react'
import { sendChat, useLm } from '../../state/lmObjectives'

/** Chat with the model before and after tuning, rendered with the same chat template as the
 *  training rows; the conversation goes on with the tuned model's answers. */
export function ChatPlayground() {
  const chat = useLm((s) => s.chat)
  const pending = useLm((s) => s.chatPending)
  const chatRows = useLm((s) => s.data?.chat ?? false)
  const template = useLm((s) => (chatRows ? (s.data?.template ?? null) : null))
  const [text, setText] = useState('')
  const [system, setSystem] = useState('')
  const id = useId()
  const send = () => {
    if (!text.trim() || pending) return
    sendChat(text.trim(), system)
    setText('')
  }
  return (
    <div className="chat-playground" data-testid="lm-chat">
      <h3>{chatRows ? 'Chat' : 'Prompt'}: before and after tuning</h3>
      {!chatRows && <p className="help">The rows are prompt → completion, so each message is a prompt the models continue, as in training (write it the way the rows' prompts are written).</p>}
      {chatRows && <div className="field">
        <label htmlFor={`${id}-system`}>System message (optional)</label>
        <input id={`${id}-system`} type="text" value={system} onChange={(e) => setSystem(e.target.value)} aria-describedby={`${id}-system-help`} />
        <p className="help" id={`${id}-system-help`}>
          Instructions the conversation starts with, as a chat row&apos;s system message.
        </p>
      </div>}
      <ol className="chat-log" aria-live="polite">
        {chat.map((t, i) => (
          <li key={i}>
            <p>
              <strong>You:</strong> {t.user}
            </p>
            <div className="side-by-side">
              <p data-testid="chat-base">
                <strong>Before tuning:</strong> {t.base ?? '…'}
              </p>
              <p data-testid="chat-tuned">
                <strong>After tuning:</strong> {t.tuned ?? (t.base === null ? '…' : 'no tuned model yet: train first')}
              </p>
            </div>
          </li>
        ))}
      </ol>
      <form
        onSubmit={(e) => {
          e.preventDefault()
          send()
        }}
      >
        <label htmlFor={`${id}-msg`}>{chatRows ? 'Message' : 'Prompt'}</label>{' '}
        <textarea id={`${id}-msg`} rows={2} value={text} onChange={(e) => setText(e.target.value)} />{' '}
        <button type="submit" disabled={!text.trim() || !!pending}>
          Send
        </button>
      </form>
      {template && (
        <details>
          <summary>The chat template (Jinja)</summary>
          <pre>{template}</pre>
        </details>
      )}
    </div>
  )
}
