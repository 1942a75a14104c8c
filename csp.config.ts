/** The Content-Security-Policy that keeps the studio's promise "nothing leaves your machine":
 *  the page and its worker may only talk to their own origin, except for GET requests to
 *  the model hosts a person can type into "load model from URL". Sent as a header by
 *  `vite preview` (the header also covers the worker, which a <meta> tag cannot) and as a
 *  <meta> tag in the built index.html for hosts that cannot set headers. See README "Hosting". */

/** Hosts a model URL may point at. A CSP cannot tell a model download from any other
 *  request, so this list is the whole exception: add your own model server here (and
 *  rebuild) rather than opening connect-src to every https: origin. */
export const MODEL_HOSTS = [
  'https://huggingface.co',
  'https://*.huggingface.co',
  'https://*.hf.co', // Hugging Face's file CDN (redirect targets of /resolve/ URLs)
  'https://storage.googleapis.com', // tfjs-models' hosted layers models
  'https://tfhub.dev',
  'https://www.kaggle.com',
]

export const CSP_DIRECTIVES: Record<string, string[]> = {
  'default-src': ["'self'"],
  // tfjs-backend-wasm compiles its .wasm files: that needs 'wasm-unsafe-eval', not 'unsafe-eval'.
  'script-src': ["'self'", "'wasm-unsafe-eval'"],
  'worker-src': ["'self'", 'blob:'],
  'connect-src': ["'self'", 'blob:', 'data:', ...MODEL_HOSTS],
  'img-src': ["'self'", 'blob:', 'data:'],
  // React and recharts set style properties from script; some set style attributes.
  'style-src': ["'self'", "'unsafe-inline'"],
  'font-src': ["'self'"],
  'object-src': ["'none'"],
  'base-uri': ["'self'"],
  'form-action': ["'none'"],
}

export function cspHeader(directives = CSP_DIRECTIVES): string {
  return Object.entries(directives)
    .map(([k, v]) => `${k} ${v.join(' ')}`)
    .join('; ')
}
