import { describe, expect, it } from 'vitest'
import { describeModel, hubModelOfId, LM_LINK_DEFAULTS, LM_LINK_SPEC, MODEL_SHORT, repoIdProblem, revisionProblem } from './lmLink'
import { SCHEMA } from './schema'

describe('the link’s language-model keys (lmLink.ts)', () => {
  it('default to what the panel starts with, so a link without them reads as it always did', () => {
    // The panel's starting values, as the objectives panel shows them on a first visit.
    expect(LM_LINK_DEFAULTS).toEqual({ objective: 'sft', beta: 0.1, sftWeight: 0, pack: false, rounds: 1, threshold: 0.6, balance: true })
    // that the panel's state starts there too: state/shareLink.test.ts (settings import no state)
  })

  it('use URL names no setting uses, nor version 1’s frz and lora, nor v', () => {
    const taken = new Set([...SCHEMA.map((s) => s.short), 'frz', 'lora', 'v'])
    const mine = [...LM_LINK_SPEC.map((s) => s.short), MODEL_SHORT.repo, MODEL_SHORT.revision]
    expect(mine).toEqual(['lo', 'db', 'dw', 'pk', 'sr', 'st', 'sb', 'hm', 'hv'])
    for (const short of mine) expect(taken.has(short), short).toBe(false)
    expect(new Set(mine).size).toBe(mine.length)
  })

  it('accepts Hub repo ids of the form owner/name', () => {
    for (const ok of ['openai-community/gpt2', 'HuggingFaceTB/SmolLM2-135M', 'sentence-transformers/all-MiniLM-L6-v2', 'TinyLlama/TinyLlama-1.1B-Chat-v1.0', 'a/b', 'user_1/model_']) {
      expect(repoIdProblem(ok), ok).toBeNull()
    }
  })

  it('refuses anything else, in words', () => {
    expect(repoIdProblem('gpt2')).toBe('"gpt2" is not of the form owner/name')
    expect(repoIdProblem('a/b/c')).toBe('"a/b/c" is not of the form owner/name')
    expect(repoIdProblem('https://evil.example/x')).toBe('"https://evil.example/x" is not of the form owner/name')
    expect(repoIdProblem('../etc')).toBe('"../etc" has characters a repo id cannot have')
    expect(repoIdProblem('owner/na me')).toBe('"owner/na me" has characters a repo id cannot have')
    expect(repoIdProblem('owner/<script>')).toBe('"owner/<script>" has characters a repo id cannot have')
    expect(repoIdProblem('owner/a--b')).toBe('"owner/a--b" has characters a repo id cannot have')
    expect(repoIdProblem('owner/-name')).toBe('"owner/-name" has characters a repo id cannot have')
    expect(repoIdProblem('/name')).toBe('"/name" has characters a repo id cannot have')
    expect(repoIdProblem('owner/name.git')).toBe('"owner/name.git" ends in .git, which a repo id cannot')
    expect(repoIdProblem(`o/${'n'.repeat(97)}`)).toBe('"o/nnnnnnnnnnnnnnnnnnnnnn…" has characters a repo id cannot have')
    expect(repoIdProblem('x'.repeat(300))).toBe('the repo id is too long (300 characters)')
  })

  it('accepts branches, tags, commits and PR refs as revisions; refuses paths and odd characters', () => {
    for (const ok of ['main', 'v1.0', 'refs/pr/1', 'a1b2c3d4e5f60718293a4b5c6d7e8f9012345678']) expect(revisionProblem(ok), ok).toBeNull()
    for (const bad of ['', '../main', 'main/', '/main', 'a//b', 'a..b', 'ma in', 'main?x=1', '-rf', 'x'.repeat(101)]) {
      expect(revisionProblem(bad), bad).toMatch(/is not a branch, tag or commit name$/)
    }
  })

  it('reads the Hub model out of a page model id, and nothing else', () => {
    expect(hubModelOfId('hf:openai-community/gpt2')).toEqual({ repo: 'openai-community/gpt2', revision: 'main' })
    expect(hubModelOfId('hf:openai-community/gpt2@v1.0')).toEqual({ repo: 'openai-community/gpt2', revision: 'v1.0' })
    expect(hubModelOfId('hf:tiny/gpt2@refs/pr/1')).toEqual({ repo: 'tiny/gpt2', revision: 'refs/pr/1' })
    expect(hubModelOfId('hf-files:config.json,model.safetensors')).toBeNull()
    expect(hubModelOfId('tiny-lm')).toBeNull()
    expect(hubModelOfId('hf:gpt2')).toBeNull() // a legacy id without owner: the link cannot carry it
    expect(hubModelOfId(null)).toBeNull()
    expect(describeModel({ repo: 'a/b', revision: 'main' })).toBe('a/b')
    expect(describeModel({ repo: 'a/b', revision: 'v2' })).toBe('a/b (revision v2)')
  })
})
