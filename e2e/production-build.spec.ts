import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { build } from 'vite'
import { expect, test } from '@playwright/test'

// The browser tests run a build made with `--mode e2e`, which installs test hooks on window
// (src/testHooks.ts). The production build (`vite build`, what `npm start` and `npm run build`
// make) must not carry them.
const HOOKS = ['__killWorker', '__storageFault', '__setDataLimits', '__crashWorker', '__studio', 'installTestHooks']

async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = []
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name)
    if (e.isDirectory()) out.push(...(await filesUnder(p)))
    else out.push(p)
  }
  return out
}

test('the production build contains none of the test hooks', async () => {
  const outDir = await mkdtemp(path.join(os.tmpdir(), 'studio-prod-'))
  try {
    await build({ configFile: path.resolve('vite.config.ts'), mode: 'production', logLevel: 'warn', build: { outDir, emptyOutDir: true } })
    const code = (await filesUnder(outDir)).filter((f) => /\.(js|mjs|html)$/.test(f))
    expect(code.some((f) => f.endsWith('index.html'))).toBe(true)
    expect(code.filter((f) => f.endsWith('.js')).length).toBeGreaterThanOrEqual(2) // the page and the worker
    const found: string[] = []
    for (const f of code) {
      const text = await readFile(f, 'utf8')
      for (const h of HOOKS) if (text.includes(h)) found.push(`${path.relative(outDir, f)}: ${h}`)
    }
    expect(found).toEqual([])
  } finally {
    await rm(outDir, { recursive: true, force: true })
  }
})

test('the test build served to these tests does carry them (so the check above means something)', async ({ page }) => {
  await page.goto('/')
  await expect.poll(() => page.evaluate(() => typeof (window as unknown as { __studio?: unknown }).__studio)).toBe('function')
})
