import { defineConfig } from 'vite'
import react from '@vitejs/plugin-react'
import { cspHeader } from './csp.config'

// Cross-origin isolation lets the page use SharedArrayBuffer (wasm threads, precise timers).
// Static hosts must send the same two headers; see README "Hosting".
const isolation = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
}

export default defineConfig({
  plugins: [
    react(),
    {
      name: 'csp-meta',
      apply: 'build',
      transformIndexHtml: () => [{ tag: 'meta', attrs: { 'http-equiv': 'Content-Security-Policy', content: cspHeader() }, injectTo: 'head-prepend' }],
    },
  ],
  worker: { format: 'es' },
  server: { headers: isolation },
  // CSP in preview and the build, not in dev: the dev server's React refresh uses an inline script.
  preview: { headers: { ...isolation, 'Content-Security-Policy': cspHeader() } },
  build: { chunkSizeWarningLimit: 4000 },
})
