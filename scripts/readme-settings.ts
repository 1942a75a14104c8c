// Writes the settings table from the schema into README.md between the markers.
import { readFileSync, writeFileSync } from 'node:fs'
import { settingsMarkdownTable } from '../src/settings/schema'

export function withSettingsTable(readme: string): string {
  return readme.replace(/<!-- settings:start -->[\s\S]*<!-- settings:end -->/, `<!-- settings:start -->\n${settingsMarkdownTable()}\n<!-- settings:end -->`)
}

if (process.argv[1]?.endsWith('readme-settings.ts')) {
  const path = new URL('../README.md', import.meta.url)
  writeFileSync(path, withSettingsTable(readFileSync(path, 'utf8')))
  console.log('README settings table updated')
}
