import { useId } from 'react'
import { formatBytes } from '../../format/format'
import { describeModel } from '../../settings/lmLink'
import { useHf } from '../../state/hfModels'
import { declineLinkModel, dismissRefusedModel, loadLinkModel, useLinkModel } from '../../state/shareLink'
import { useStudio } from '../../state/store'

/** The Hugging Face model an opened link was made with, named in words with one action to
 *  load it; the page never downloads it by itself. A repo id of the wrong form is refused in
 *  words (state/shareLink.ts). */
export function LinkModelOffer() {
  const id = useId()
  const { offered, refused, revisionNote } = useLinkModel()
  const busy = useStudio((s) => s.busy?.task === 'model')
  const current = useStudio((s) => s.model?.title ?? null)
  const stored = useHf((s) => (offered ? s.stored?.find((r) => r.repo === offered.repo && r.revision === offered.revision) ?? null : null))
  if (!offered && !refused) return null
  return (
    <>
      {offered && (
        <section className="notice info" aria-labelledby={`${id}-what`} data-testid="link-model">
          <p id={`${id}-what`}>
            <strong>This link was made with the Hugging Face model {describeModel(offered)}.</strong> It is not loaded{current ? `: the page has ${current}` : ''}.
            {revisionNote && ` The link's revision was refused (${revisionNote}), so the main revision is offered.`}
          </p>
          <p className="help" id={`${id}-help`}>
            {stored?.whole
              ? `Its files (${formatBytes(stored.bytes)}) are kept in this browser already: loading reads them from here and needs no network.`
              : stored
                ? `Some of its files (${formatBytes(stored.bytes)}) are kept in this browser, but not all are known to be: loading asks huggingface.co for the rest and keeps them here too.`
                : 'Loading downloads its files from huggingface.co (often hundreds of MB), once: they are kept in this browser. Step 2 shows its size first if you check it there.'}
          </p>
          <button type="button" onClick={loadLinkModel} disabled={busy} aria-describedby={`${id}-help`}>
            {stored?.whole ? `Load ${describeModel(offered)} from this browser` : `Download ${describeModel(offered)} and load it`}
          </button>{' '}
          <button type="button" className="link" onClick={declineLinkModel}>
            Keep the current model
          </button>
        </section>
      )}
      {refused && (
        <div className="notice error" role="alert" data-testid="link-model-refused">
          This link names a Hugging Face model, but {refused}, so no model is offered: ask whoever sent the link for the model&apos;s repo id (owner/name, as in its page&apos;s address) and load it in step 2.
          <button type="button" className="link" onClick={dismissRefusedModel}>
            Dismiss
          </button>
        </div>
      )}
    </>
  )
}
