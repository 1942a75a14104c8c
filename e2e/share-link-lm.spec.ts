// The share link carries the language-model objectives panel's choices and the Hugging Face
// model they were made with (settings/lmLink.ts, state/shareLink.ts), in the built app: a DPO
// run's β and SFT weight survive Copy link into a fresh browser, and a link naming a Hub model
// names it in the page with one action to load it, downloading nothing by itself. The "Hub" is
// e2e/hfHub.ts's route at huggingface.co's own URLs: nothing leaves the machine.
import AxeBuilder from '@axe-core/playwright'
import { expect, test } from './fixtures'
import { serveHub, tinyGpt2Files } from './hfHub'

const QUICK = 'ep=1&sl=32&wu=0'
/** A link's parameters as plain name → value pairs (read by hand, not by the app's codec). */
const params = (href: string) => Object.fromEntries(new URL(href).searchParams)

test('a DPO objective with β 0.05 and an SFT weight goes into the link, and a fresh browser opening it gets them in the controls', async ({ studio, page, context, browser }) => {
  await context.grantPermissions(['clipboard-read', 'clipboard-write'])
  await studio.open(QUICK)
  const panel = page.locator('#objectives')
  await panel.getByRole('radio', { name: /Preference tuning/ }).check()
  await panel.getByLabel('DPO beta', { exact: true }).fill('0.05')
  await panel.getByLabel('DPO beta', { exact: true }).press('Tab')
  await panel.getByLabel('SFT term weight', { exact: true }).fill('0.3')
  await panel.getByLabel('SFT term weight', { exact: true }).press('Tab')
  await expect.poll(() => params(page.url())).toMatchObject({ lo: 'dpo', db: '0.05', dw: '0.3' })

  await test.step('a step-3 change afterwards keeps the panel’s part of the link', async () => {
    await page.getByLabel('Epochs', { exact: true }).fill('2')
    await page.getByLabel('Epochs', { exact: true }).press('Tab')
    await expect.poll(() => params(page.url())).toEqual({ v: '2', ep: '2', sl: '32', wu: '0', lo: 'dpo', db: '0.05', dw: '0.3' })
  })

  await page.getByRole('button', { name: 'Copy link' }).click()
  await expect(page.getByTestId('copy-status')).toHaveText('Link copied.')
  const link = await page.evaluate(() => navigator.clipboard.readText())
  // Only what differs from the defaults (DPO β 0.1, SFT weight 0, objective SFT), under short names.
  expect(params(link)).toEqual({ v: '2', ep: '2', sl: '32', wu: '0', lo: 'dpo', db: '0.05', dw: '0.3' })

  const fresh = await browser.newContext()
  try {
    const other = await fresh.newPage()
    await other.goto(link)
    await expect(other.getByTestId('link-report')).toContainText('Objective dpo, DPO beta 0.05, SFT term weight 0.3', { timeout: 90_000 })
    const otherPanel = other.locator('#objectives')
    await expect(otherPanel.getByRole('radio', { name: /Preference tuning/ })).toBeChecked()
    await expect(otherPanel.getByLabel('DPO beta', { exact: true })).toHaveValue('0.05', { timeout: 90_000 })
    await expect(otherPanel.getByLabel('SFT term weight', { exact: true })).toHaveValue('0.3')
    await expect(other.getByLabel('Epochs', { exact: true })).toHaveValue('2')
    await expect(other.getByTestId('link-model')).toHaveCount(0) // the built-in model: no Hub model named
    expect(params(other.url())).toEqual(params(link))
  } finally {
    await fresh.close()
  }
})

test('a link naming a Hub model says which, downloads nothing until asked, and loads it through the model step’s Hub load', async ({ studio, page }) => {
  const REPO = 'studio-tests/tiny-gpt2'
  const fetched = serveHub(page, new Map([[REPO, tinyGpt2Files({ d: 16, layers: 1, positions: 64, seed: 7 })]]))
  await studio.open(`${QUICK}&lo=dpo&db=0.05&hm=${REPO}`)
  const offer = page.getByTestId('link-model')
  await expect(offer).toContainText(`This link was made with the Hugging Face model ${REPO}.`)
  await expect(offer).toContainText('It is not loaded: the page has')
  const load = offer.getByRole('button', { name: `Download ${REPO} and load it` })
  await expect(load).toBeEnabled()
  await expect(page.getByTestId('model-title')).not.toContainText(REPO)
  const { violations } = await new AxeBuilder({ page }).include('[data-testid="link-model"]').withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']).analyze()
  expect(violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => `${v.id}: ${v.help}`)).toEqual([])
  await page.waitForTimeout(1000) // whatever the page would fetch by itself has had time to start
  expect(fetched).toEqual([])
  // The link keeps naming the model while it is on offer.
  expect(params(page.url())).toMatchObject({ hm: REPO, lo: 'dpo', db: '0.05' })

  await load.click()
  await expect(page.getByTestId('model-title')).toContainText(`${REPO} — pretrained`, { timeout: 60_000 })
  expect(fetched.some((f) => f.startsWith(`GET /${REPO}/resolve/main/`))).toBe(true)
  await expect(offer).toHaveCount(0)
  await expect(page.locator('#objectives').getByLabel('DPO beta', { exact: true })).toHaveValue('0.05')
  expect(params(page.url())).toMatchObject({ hm: REPO, lo: 'dpo', db: '0.05' })

  await test.step('opened again in this browser, the offer says its files are kept here and loads them with no request to the Hub', async () => {
    const link = page.url()
    await page.goto(link)
    await expect(offer).toContainText('are kept in this browser already: loading reads them from here and needs no network.', { timeout: 90_000 })
    const before = fetched.length
    await offer.getByRole('button', { name: `Load ${REPO} from this browser` }).click()
    await expect(page.getByTestId('model-title')).toContainText(`${REPO} — pretrained`, { timeout: 60_000 })
    // Nothing is asked: not the stored files, nor the optional ones the repo lacks (remembered as absent).
    expect(fetched.slice(before)).toEqual([])
  })
})

test('a link whose repo id is not owner/name is refused in words, with nothing to load', async ({ studio, page }) => {
  const fetched: string[] = []
  page.on('request', (r) => {
    if (new URL(r.url()).hostname.endsWith('huggingface.co')) fetched.push(r.url())
  })
  await studio.open(`${QUICK}&hm=${encodeURIComponent('https://evil.example/x')}&hv=main&lo=pseudo&sr=2`)
  await expect(page.getByTestId('link-model-refused')).toContainText('This link names a Hugging Face model, but "https://evil.example/x" is not of the form owner/name, so no model is offered')
  await expect(page.getByTestId('link-model')).toHaveCount(0)
  await expect(page.getByTestId('link-report')).toContainText('Hugging Face model ("https://evil.example/x" is not of the form owner/name')
  // The rest of the link still applies.
  await expect(page.locator('#objectives').getByRole('radio', { name: /Learning without labels/ })).toBeChecked()
  expect(fetched).toEqual([])
})
