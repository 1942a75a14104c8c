import { defineConfig } from 'vite'
import react from '@vitejs/plugin-react'
import { cspHeader } from './csp.config'
import { wasmThreads } from './wasmThreads.plugin'

// Cross-origin isolation lets the page use SharedArrayBuffer (wasm threads, precise timers).
// Static hosts must send the same two headers; see README "Hosting".
const isolation = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
}

export default defineConfig({
  plugins: [
    react(),
    wasmThreads(),
    {
      name: 'csp-meta',
      apply: 'build',
      transformIndexHtml: () => [{ tag: 'meta', attrs: { 'http-equiv': 'Content-Security-Policy', content: cspHeader() }, injectTo: 'head-prepend' }],
    },
  ],
  // The training worker is bundled on its own: it needs the wasm-threads fix too.
  worker: { format: 'es', plugins: () => [wasmThreads()] },
  server: { headers: isolation },
  // CSP in preview and the build, not in dev: the dev server's React refresh uses an inline script.
  preview: { headers: { ...isolation, 'Content-Security-Policy': cspHeader() } },
  build: { chunkSizeWarningLimit: 4000 },
})
