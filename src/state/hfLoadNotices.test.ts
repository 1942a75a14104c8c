import { describe, expect, it } from 'vitest'
import { withoutFailedLoads } from './hfLoadNotices'
import type { Notice } from './store'

const n = (id: number, where: string | undefined, kind: Notice['kind'] = 'error'): Notice => ({ id, kind, text: `notice ${id}`, ...(where ? { where } : {}) })

describe('the alerts of failed Hugging Face loads, once a load has succeeded', () => {
  it('go: the load command and the model or adapter files it names', () => {
    const failed = [n(1, 'tokenizer.json'), n(2, 'config.json'), n(3, 'hfLoad'), n(4, 'model.safetensors'), n(5, 'model-00001-of-00002.safetensors'), n(6, 'adapter_model.safetensors'), n(7, 'e2e-chat-merged.zip'), n(8, 'hfProbe')]
    expect(withoutFailedLoads(failed)).toEqual([])
  })

  it('stay for everything else: a dataset, training, an info notice, a notice with no place', () => {
    const others = [n(1, 'dataset spam.zip'), n(2, 'train'), n(3, 'tokenizer.json', 'info'), n(4, undefined), n(5, 'lmData'), n(6, 'file model.json')]
    expect(withoutFailedLoads([n(9, 'tokenizer.json'), ...others])).toEqual(others)
  })
})
