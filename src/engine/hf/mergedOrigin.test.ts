// A studio "Merged model" export of a Hugging Face model, loaded back, says what it is: a model
// fine-tuned from the base it was exported from (config.json's studio_fine_tuned_from), not a
// pretrained one. The fixture is the committed tiny GPT-2 checkpoint; expected names by hand.
import { readFileSync } from 'node:fs'
import path from 'node:path'
import * as tf from '@tensorflow/tfjs'
import { beforeAll, describe, expect, it } from 'vitest'
import { holdHf, type HeldHf } from '../session/families/hf'
import { loadHfBundle, mapSource } from './hfLoad'
import { exportZip } from './seqClsTestRows'

const DIR = path.join(__dirname, 'fixtures', 'gpt2')

beforeAll(async () => {
  await tf.setBackend('cpu')
})

function tinyTokenizer(n: number): string {
  const vocab = Object.fromEntries(['[UNK]', ...Array.from({ length: n - 1 }, (_, i) => `w${i}`)].map((t, i) => [t, i]))
  return JSON.stringify({ version: '1.0', added_tokens: [], normalizer: null, pre_tokenizer: { type: 'WhitespaceSplit' }, post_processor: null, decoder: null, model: { type: 'WordPiece', unk_token: '[UNK]', continuing_subword_prefix: '##', max_input_chars_per_word: 100, vocab } })
}

async function hold(files: Map<string, Uint8Array>, title: string): Promise<HeldHf> {
  return holdHf(await loadHfBundle(mapSource(files)), new Map([['tokenizer.json', files.get('tokenizer.json')!]]), [...files.keys()], title, `hf-files:${title}`, 'in a test')
}

describe('a merged export loaded back', () => {
  it('is fine-tuned from the model it was exported from, also after a second round', async () => {
    const configText = readFileSync(path.join(DIR, 'config.json'), 'utf8')
    const vocab = (JSON.parse(configText) as { vocab_size: number }).vocab_size
    const published = await hold(
      new Map([
        ['config.json', new TextEncoder().encode(configText)],
        ['model.safetensors', new Uint8Array(readFileSync(path.join(DIR, 'model.safetensors')))],
        ['tokenizer.json', new TextEncoder().encode(tinyTokenizer(vocab))],
      ]),
      'tiny-gpt2',
    )
    expect(published.summary.finetunedFrom).toBeUndefined()
    expect(published.summary.pretrained).toBe(true)

    const first = await exportZip(published, 'merged')
    expect(first.fileName).toBe('tiny-gpt2-merged.zip')
    expect((JSON.parse(new TextDecoder().decode(first.files['config.json'])) as Record<string, unknown>).studio_fine_tuned_from).toBe('tiny-gpt2')
    const back = await hold(new Map(Object.entries(first.files)), 'tiny-gpt2-merged.zip')
    expect(back.summary.title).toBe('tiny-gpt2-merged.zip')
    expect(back.summary.finetunedFrom).toBe('tiny-gpt2')

    // Exported again from the loaded-back model: still the published base, not the zip's name.
    const second = await exportZip(back, 'merged')
    const again = await hold(new Map(Object.entries(second.files)), second.fileName)
    expect(again.summary.finetunedFrom).toBe('tiny-gpt2')
    for (const h of [published, back, again]) h.body.dispose()
  })
})
