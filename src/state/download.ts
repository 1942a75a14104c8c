/** Page-side file hand-off: a Blob becomes a download, or a page in a new tab. */
export function saveBlob(blob: Blob, fileName: string): void {
  const url = URL.createObjectURL(blob)
  const a = document.createElement('a')
  a.href = url
  a.download = fileName
  a.rel = 'noopener'
  a.style.display = 'none'
  document.body.append(a)
  a.click()
  a.remove()
  // The browser has the data once the click is handled; free it a little later.
  setTimeout(() => URL.revokeObjectURL(url), 60_000)
}

/** Opens self-contained HTML (no scripts: its own CSP forbids them) in a new tab. */
export function openHtml(html: string): boolean {
  const url = URL.createObjectURL(new Blob([html], { type: 'text/html' }))
  const w = window.open(url, '_blank')
  setTimeout(() => URL.revokeObjectURL(url), 60_000)
  return w !== null
}
