import { defineConfig } from '@playwright/test'

// Debian's Chromium by default (Playwright cannot download its own browser here);
// CHROMIUM_PATH overrides it, and an empty CHROMIUM_PATH uses Playwright's own browser.
const envPath = process.env.CHROMIUM_PATH
const executablePath = envPath === undefined ? '/usr/bin/chromium' : envPath || undefined

const baseArgs = [
  '--no-sandbox',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
]
// WebGPU on a machine without a GPU: Vulkan through SwiftShader (see shared field notes).
const webgpuArgs = [
  '--enable-unsafe-webgpu',
  '--enable-features=Vulkan',
  '--use-vulkan=swiftshader',
  '--use-webgpu-adapter=swiftshader',
  '--disable-vulkan-surface',
]

const PORT = Number(process.env.PORT ?? 4173)
// Several checkouts or people can run the suite side by side with their own port and build folder.
const DIST = process.env.E2E_DIST ?? 'dist'

export default defineConfig({
  testDir: 'e2e',
  // Side-by-side runs (own E2E_DIST) keep their own traces: one run's cleanup must not delete another's.
  outputDir: DIST === 'dist' ? 'test-results' : `test-results/${DIST}`,
  timeout: 240_000,
  expect: { timeout: 30_000 },
  fullyParallel: false,
  workers: 1, // two cores: parallel training runs would only slow each other down
  retries: 0, // a test that passes only on a retry is not a pass (scripts/test-all.mjs counts flaky as failed too)
  forbidOnly: !!process.env.CI,
  reporter: [['list'], ['json', { outputFile: DIST === 'dist' ? 'test-results/e2e.json' : `test-results/${DIST}/e2e.json` }]],
  use: {
    baseURL: `http://localhost:${PORT}`,
    trace: process.env.CI ? 'retain-on-failure' : 'off',
    launchOptions: { ...(executablePath ? { executablePath } : {}), args: [...baseArgs, ...webgpuArgs] },
  },
  // The e2e build mode adds test hooks on window (src/testHooks.ts); `vite build` (npm start) leaves them out.
  webServer: {
    command: `npx vite build --mode e2e --outDir ${DIST} && npx vite preview --outDir ${DIST} --port ${PORT} --strictPort`,
    url: `http://localhost:${PORT}`,
    reuseExistingServer: !process.env.CI,
    timeout: 180_000,
  },
})
