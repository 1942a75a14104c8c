import { readFileSync } from 'node:fs'
import { expect, it } from 'vitest'
import { withSettingsTable } from './readme-settings'

it('the README settings table matches the schema (run `npm run docs:settings` after changing a setting)', () => {
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8')
  expect(withSettingsTable(readme)).toBe(readme)
})
