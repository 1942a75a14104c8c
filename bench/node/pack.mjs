#!/usr/bin/env node
// Packs the Node WebGPU bench (bench/node/webgpuBench.ts) into dist-webgpu-bench/, to carry to
// a GPU machine without Chromium, network or node_modules (it needs Node 20+ and the GPU's
// Vulkan driver): one bundled script, Dawn for Node (linux-x64), the built-in models, the two
// samples and tfjs' wasm binaries (for the CPU comparison). About 30 MB.
//   npm run bench:webgpu:pack && bash dist-webgpu-bench/run.sh [--gpt2] [bench options]
import { cp, mkdir, rm, stat, writeFile, readdir } from 'node:fs/promises'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { rolldown } from 'rolldown'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
const out = path.join(root, 'dist-webgpu-bench')
await rm(out, { recursive: true, force: true })
await mkdir(out, { recursive: true })

const bundle = await rolldown({
  input: path.join(root, 'bench/node/webgpuBench.ts'),
  platform: 'node',
  external: ['webgpu'], // loads its native dawn.node from its own folder: copied below
  logLevel: 'warn',
})
await bundle.write({ file: path.join(out, 'webgpuBench.cjs'), format: 'cjs', codeSplitting: false })
await bundle.close()

const copy = (from, to = from) => cp(path.join(root, from), path.join(out, to), { recursive: true })
const webgpu = 'node_modules/webgpu'
for (const f of ['index.js', 'package.json', 'LICENSE.md', `dist/linux-x64/dawn.node`]) await copy(`${webgpu}/${f}`)
for (const f of ['models/tiny-lm', 'models/emoji-cnn', 'samples/spam-ham.csv', 'samples/emoji-openmoji.zip']) await copy(`public/${f}`)
for (const f of ['tfjs-backend-wasm.wasm', 'tfjs-backend-wasm-simd.wasm', 'tfjs-backend-wasm-threaded-simd.wasm']) await copy(`node_modules/@tensorflow/tfjs-backend-wasm/dist/${f}`, `wasm/${f}`)
await writeFile(
  path.join(out, 'run.sh'),
  `#!/usr/bin/env bash
# The studio's training benchmarks on WebGPU (Dawn) and wasm, without a browser. Results go to results/.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
export BENCH_PUBLIC="$here/public" BENCH_WASM_DIR="$here/wasm"
export XDG_RUNTIME_DIR="\${XDG_RUNTIME_DIR:-$(mktemp -d)}"
exec node "$here/webgpuBench.cjs" --out "$here/results" "$@"
`,
  { mode: 0o755 },
)

async function size(p) {
  const s = await stat(p)
  if (!s.isDirectory()) return s.size
  let n = 0
  for (const e of await readdir(p)) n += await size(path.join(p, e))
  return n
}
const mb = (await size(out)) / 2 ** 20
console.log(`packed ${path.relative(root, out)}/: ${mb.toFixed(1)} MiB (limit 64 MiB); run: bash ${path.relative(root, out)}/run.sh`)
if (mb > 64) process.exit(1)
