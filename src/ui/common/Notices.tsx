import { useStudio } from '../../state/store'
import { LinkModelOffer } from './LinkModelOffer'
import { linkSummary } from './linkSummary'
import { noticeLead } from './noticePlace'

/** Errors as role=alert with where they happened; everything is text, never HTML. */
export function Notices() {
  const notices = useStudio((s) => s.notices)
  const dismiss = useStudio((s) => s.dismiss)
  const report = useStudio((s) => s.linkReport)
  return (
    <div className="notices">
      {report && (report.applied.length > 0 || report.ignored.length > 0) && (
        <div className="notice info" role="status" data-testid="link-report">
          <strong>This link set:</strong> {linkSummary(report).applied || 'nothing'}.
          {report.ignored.length > 0 && (
            <>
              {' '}
              <strong>Ignored, so left at the default:</strong> {linkSummary(report).ignored}.
            </>
          )}
          <button type="button" className="link" onClick={() => useStudio.setState({ linkReport: null })}>
            Dismiss
          </button>
        </div>
      )}
      <LinkModelOffer />
      {notices.map((n) => (
        <div key={n.id} className={`notice ${n.kind}`} role={n.kind === 'error' ? 'alert' : 'status'}>
          {noticeLead(n.where, n.text) !== null && <span className="where">{noticeLead(n.where, n.text)}: </span>}
          {n.text}
          <button type="button" className="link" onClick={() => dismiss(n.id)} aria-label="Dismiss message">
            Dismiss
          </button>
        </div>
      ))}
    </div>
  )
}
