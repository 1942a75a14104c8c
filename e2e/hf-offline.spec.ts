// A Hugging Face model whose files are stored in this browser loads again with no request to the
// Hub at all, and with the Hub unreachable (offline, a firewall): the repo's files and the
// optional files it does not have (a 404 once, remembered with the stored files). A store that a
// cut-off download left, loaded offline, is refused naming the missing file and what to do.
// The Hub is a route here that answers at its resolve URLs as the Hub does, counts every request
// (preflights and HEADs too), and can be switched off: its requests then fail as a disconnected
// network's do, in the worker's real fetch, with the real IndexedDB store.
import type { Page, Route } from '@playwright/test'
import { expect, test } from './fixtures'
import { CORS, tinyGpt2Files } from './hfHub'

const REPO = 'studio-e2e/offline-gpt2'
/** config.json, model.safetensors, tokenizer.json, tokenizer_config.json, generation_config.json:
 *  no shard index and no special_tokens_map.json, which the load asks for. */
const FILES = tinyGpt2Files({ d: 16, layers: 1, positions: 64, seed: 99 })

function fakeHub(page: Page) {
  const hub = { up: true, refuse: new Set<string>(), asked: [] as string[] }
  void page.context().route('https://huggingface.co/**', async (route: Route) => {
    const req = route.request()
    const url = new URL(req.url())
    hub.asked.push(`${req.method()} ${url.pathname}`)
    if (!hub.up) return route.abort('internetdisconnected')
    if (req.method() === 'OPTIONS') return route.fulfill({ status: 204, headers: { ...CORS, 'access-control-allow-headers': '*', 'access-control-allow-methods': 'GET, HEAD' } })
    const m = /^\/([^/]+\/[^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(url.pathname)
    const file = m && m[1] === REPO ? decodeURIComponent(m[3]!) : null
    if (!file) return route.fulfill({ status: 401, headers: { ...CORS, 'x-error-code': 'RepoNotFound' }, body: 'Repository not found' })
    if (hub.refuse.has(file)) return route.fulfill({ status: 503, headers: CORS, body: 'Service unavailable' })
    const body = FILES.get(file)
    if (!body) return route.fulfill({ status: 404, headers: { ...CORS, 'x-error-code': 'EntryNotFound' }, body: 'Entry not found' })
    return route.fulfill({ status: 200, headers: { ...CORS, 'content-type': 'application/octet-stream' }, body })
  })
  return hub
}

async function load(page: Page) {
  const section = page.locator('details.model-load')
  if ((await section.getAttribute('open')) === null) await section.locator('summary').first().click()
  await page.getByLabel('Hugging Face repo id').fill(REPO)
  await page.getByRole('button', { name: 'Download and load' }).click()
}

test('a stored Hugging Face model loads again asking the Hub nothing, also with the Hub unreachable', async ({ studio, page }) => {
  const hub = fakeHub(page)
  await studio.open()
  const title = page.getByTestId('model-title')
  const row = page.getByTestId('hf-stored').getByRole('listitem').filter({ hasText: `${REPO}: ` })

  await load(page)
  await expect(title).toContainText(`${REPO} — pretrained`, { timeout: 60_000 })
  // the first load asked for the files the repo lacks, and got 404s
  expect(hub.asked).toContain(`GET /${REPO}/resolve/main/model.safetensors.index.json`)
  expect(hub.asked).toContain(`GET /${REPO}/resolve/main/special_tokens_map.json`)
  await expect(row).toContainText(`${REPO}: 5 files, `)
  await expect(row).not.toContainText('not all its files')

  await test.step('a fresh page (a new worker): the second load sends no request to the Hub', async () => {
    hub.asked.length = 0
    await page.reload()
    await expect(title).toBeVisible({ timeout: 60_000 })
    await load(page)
    await expect(title).toContainText(`${REPO} — pretrained`, { timeout: 60_000 })
    expect(hub.asked).toEqual([])
  })

  await test.step('the Hub unreachable: the stored model loads all the same, and nothing was even tried', async () => {
    hub.up = false
    await page.reload()
    await expect(title).toBeVisible({ timeout: 60_000 })
    await load(page)
    await expect(title).toContainText(`${REPO} — pretrained`, { timeout: 60_000 })
    // (a settings alert about the tiny model's one block is not the load's)
    await expect(studio.alerts.filter({ hasText: /offline-gpt2|huggingface|download|reach/i })).toHaveCount(0)
    expect(hub.asked).toEqual([])
  })
})

test('a partly stored model with the Hub unreachable: the alert names the missing file and says to reconnect or delete and load again', async ({ studio, page }) => {
  const hub = fakeHub(page)
  await studio.open()
  const title = page.getByTestId('model-title')
  const row = page.getByTestId('hf-stored').getByRole('listitem').filter({ hasText: `${REPO}: ` })

  // the weights refused: config.json came whole and stays stored
  hub.refuse.add('model.safetensors')
  await load(page)
  await expect(studio.alerts.filter({ hasText: /Could not download model\.safetensors from studio-e2e\/offline-gpt2 \(HTTP 503/ })).toBeVisible({ timeout: 60_000 })
  await expect(row).toContainText(`${REPO}: 1 file, `)
  await expect(row).toContainText('; not all its files are known to be here, so its next load asks the Hub for the rest')

  await test.step('offline: refused naming model.safetensors, with what to do, in the page’s words', async () => {
    hub.up = false
    hub.asked.length = 0
    await page.reload()
    await expect(title).toBeVisible({ timeout: 60_000 })
    await load(page)
    const alert = studio.alerts.filter({ hasText: 'model.safetensors of' })
    await expect(alert).toContainText(
      'model.safetensors of studio-e2e/offline-gpt2 is not among its files stored in this browser (1 is), and https://huggingface.co did not answer to download it. Reconnect and load studio-e2e/offline-gpt2 again: only what is missing is downloaded. Or delete studio-e2e/offline-gpt2 from this browser (step 7, Hugging Face models stored in this browser) and load it again once online, to download it whole.',
      { timeout: 60_000 },
    )
    await expect(studio.alerts.filter({ hasText: /Failed to fetch|NetworkError|ERR_INTERNET|cut off after/ })).toHaveCount(0)
    await expect(title).not.toContainText(REPO)
    // only the missing file was tried: config.json and the index's absence came from the store
    expect(new Set(hub.asked)).toEqual(new Set([`GET /${REPO}/resolve/main/model.safetensors`]))
  })

  await test.step('back online: the load downloads what was missing, and the next one needs no network', async () => {
    hub.up = true
    hub.refuse.clear()
    hub.asked.length = 0
    await load(page)
    await expect(title).toContainText(`${REPO} — pretrained`, { timeout: 60_000 })
    expect(hub.asked.filter((r) => r.endsWith('/config.json'))).toEqual([])
    await expect(row).toContainText(`${REPO}: 5 files, `)
    await expect(row).not.toContainText('not all its files')
    hub.up = false
    hub.asked.length = 0
    await page.reload()
    await expect(title).toBeVisible({ timeout: 60_000 })
    await load(page)
    await expect(title).toContainText(`${REPO} — pretrained`, { timeout: 60_000 })
    expect(hub.asked).toEqual([])
  })
})
