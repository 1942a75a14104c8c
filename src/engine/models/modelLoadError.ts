/** A model that could not be loaded, with what it was (file, URL or layer) for the page. */
export class ModelLoadError extends Error {
  constructor(
    message: string,
    readonly where: string,
  ) {
    super(message)
    this.name = 'ModelLoadError'
  }
}

export function fileName(url: string): string {
  const clean = url.split(/[?#]/)[0] ?? url
  return clean.slice(clean.lastIndexOf('/') + 1) || url
}

/** Resolves a path named in model.json against model.json's own URL. */
export function resolveNextTo(modelUrl: string, path: string): string {
  if (/^[a-z][a-z0-9+.-]*:/i.test(path) || path.startsWith('/')) return path
  const base = modelUrl.split(/[?#]/)[0] ?? modelUrl
  return base.slice(0, base.lastIndexOf('/') + 1) + path
}
