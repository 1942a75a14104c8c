import { describe, expect, it } from 'vitest'
import { isQuotaExceeded } from './quota'

describe('isQuotaExceeded', () => {
  it('knows a full storage however IndexedDB reports it, and nothing else', () => {
    // Chromium's QuotaExceededError from a transaction often has an empty message.
    expect(isQuotaExceeded(new DOMException('', 'QuotaExceededError'))).toBe(true)
    // An aborted transaction whose error is the quota (idb rejects tx.done with it, or wraps it as inner).
    expect(isQuotaExceeded({ name: 'AbortError', message: '', error: new DOMException('', 'QuotaExceededError') })).toBe(true)
    expect(isQuotaExceeded(Object.assign(new Error('aborted'), { inner: new DOMException('', 'QuotaExceededError') }))).toBe(true)
    expect(isQuotaExceeded(new DOMException('The quota has been exceeded.', 'UnknownError'))).toBe(true)
    expect(isQuotaExceeded(new DOMException('', 'AbortError'))).toBe(false)
    expect(isQuotaExceeded(new DOMException('Failed to write blobs', 'DataError'))).toBe(false)
    expect(isQuotaExceeded(null)).toBe(false)
    expect(isQuotaExceeded('quota')).toBe(false)
  })
})
