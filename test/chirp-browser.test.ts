/**
 * Chirp in a real browser: Debian's chromium driven by playwright-core. Two users in two browser
 * contexts: Ada follows Grace, Grace chirps, Ada sees it and likes it, Grace's unseen badge
 * appears and clears when she opens her notifications. `CHIRP_SCREENSHOT=1` also saves the home
 * page of a seeded user to docs/chirp.png.
 */
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'
import type { FastifyInstance } from 'fastify'
import { type Browser, chromium, type Locator, type Page } from 'playwright-core'
import { buildApp } from '../examples/chirp/app.js'

/** Network-quiet flags: without them chromium's calls home stall in a closed network. */
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
]

function findChromium(): string | undefined {
  if (existsSync('/usr/bin/chromium')) return '/usr/bin/chromium'
  try {
    return execFileSync('which', ['chromium'], { encoding: 'utf8' }).trim() || undefined
  } catch {
    return undefined
  }
}

const executablePath = findChromium()
const SCREENSHOT = process.env.CHIRP_SCREENSHOT
  ? fileURLToPath(new URL('../docs/chirp.png', import.meta.url))
  : undefined

describe('chirp in chromium', { skip: executablePath ? false : 'chromium is not installed' }, () => {
  let dir: string
  let app: FastifyInstance
  let browser: Browser
  let base: string

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'chirp-browser-'))
    app = await buildApp({ dataDir: dir, seed: true })
    base = await app.listen({ port: 0, host: '127.0.0.1' })
    browser = await chromium.launch({ executablePath, args: ARGS })
  })

  after(async () => {
    await browser?.close()
    await app?.close()
    if (dir) rmSync(dir, { recursive: true, force: true })
  })

  /** Waits (Playwright's auto-waiting) until the locator is visible; returns it. */
  async function shown(locator: Locator): Promise<Locator> {
    await locator.first().waitFor({ state: 'visible' })
    return locator
  }
  /** The locator's text, whitespace collapsed. */
  const text = async (locator: Locator) =>
    ((await locator.first().textContent()) ?? '').replace(/\s+/g, ' ').trim()

  async function signUp(username: string, name: string): Promise<Page> {
    const context = await browser.newContext({ viewport: { width: 1200, height: 900 } })
    const page = await context.newPage()
    await page.goto(`${base}/signin`)
    await page.getByLabel('Username', { exact: true }).fill(username)
    await page.getByLabel('Display name').fill(name)
    await page.getByRole('button', { name: 'Create and sign in' }).click()
    await shown(page.getByPlaceholder("What's happening?"))
    return page
  }

  it('follow, chirp, like, and the notification badge appears and clears', async () => {
    const ada = await signUp('ada', 'Ada Lovelace')
    const grace = await signUp('grace', 'Grace Hopper')
    const graceBadge = grace.getByTestId('unseen-badge')
    assert.equal(await graceBadge.count(), 0)

    // Ada follows Grace from Grace's profile.
    await ada.goto(`${base}/u/grace`)
    await ada.getByRole('button', { name: 'Follow', exact: true }).click()
    await shown(ada.getByRole('button', { name: 'Following' }))
    assert.match(await text(ada.getByTestId('followers-count')), /^1\s+followers$/)

    // Grace is told, opens her notifications, and the badge goes.
    await grace.reload()
    assert.equal(await text(await shown(graceBadge)), '1')
    await grace.getByRole('link', { name: /Notifications/ }).click()
    await shown(grace.locator('.notification', { hasText: 'Ada Lovelace followed you' }))
    assert.equal(await graceBadge.count(), 0)

    // Grace chirps; it shows on Ada's timeline.
    await grace.getByRole('link', { name: 'Home' }).click()
    await grace.getByPlaceholder("What's happening?").fill('Found a moth in the relay. First actual bug!')
    await grace.getByRole('button', { name: 'Chirp', exact: true }).click()
    await shown(grace.locator('.chirp-text', { hasText: 'First actual bug!' }))
    await ada.goto(`${base}/`)
    const chirp = await shown(ada.locator('article.chirp', { hasText: 'First actual bug!' }))
    assert.equal(await text(chirp.locator('.name')), 'Grace Hopper')

    // Ada likes it.
    await chirp.getByRole('button', { name: 'Like', exact: true }).click()
    const unlike = await shown(chirp.getByRole('button', { name: 'Unlike', exact: true }))
    assert.equal(await unlike.getAttribute('aria-pressed'), 'true')
    assert.equal(await text(unlike), '1')

    // Grace sees the badge appear, opens notifications, and it clears; the group links to the chirp.
    await grace.reload()
    assert.equal(await text(await shown(graceBadge)), '1')
    await grace.getByRole('link', { name: /Notifications/ }).click()
    const note = await shown(grace.locator('.notification', { hasText: 'Ada Lovelace liked your chirp' }))
    assert.match((await note.getAttribute('class')) ?? '', /is-unread/)
    assert.equal(await graceBadge.count(), 0)
    await note.getByRole('link').click()
    await shown(grace.locator('.thread-main .chirp-text', { hasText: 'First actual bug!' }))
    await grace.getByRole('link', { name: /Notifications/ }).click()
    const read = await shown(grace.locator('.notification', { hasText: 'Ada Lovelace liked your chirp' }))
    assert.doesNotMatch((await read.getAttribute('class')) ?? '', /is-unread|is-new/)
    assert.equal(await graceBadge.count(), 0)
  })

  it('shows a clear message for an over-long chirp and keeps the draft', async () => {
    const page = await browser.newPage()
    await page.goto(`${base}/signin`)
    await page.locator('button[data-username="leo"]').click()
    const box = await shown(page.getByPlaceholder("What's happening?"))
    await box.evaluate((el) => el.removeAttribute('maxlength'))
    await box.fill('y'.repeat(300))
    await page.getByRole('button', { name: 'Chirp', exact: true }).click()
    const alert = await shown(page.getByRole('alert'))
    assert.equal(await text(alert), 'Chirps are at most 280 characters; yours has 300.')
    assert.equal(await page.getByPlaceholder("What's happening?").inputValue(), 'y'.repeat(300))
    await page.close()
  })

  it('renders the seeded home page, grouped view and paging', async () => {
    const page = await browser.newPage({ viewport: { width: 1200, height: 1000 } })
    await page.goto(`${base}/signin`)
    await page.locator('button[data-username="mara"]').click()
    await shown(page.getByTestId('unseen-badge'))
    await shown(page.locator('.feed-item'))
    await page.getByRole('tab', { name: 'Grouped' }).click()
    await shown(page.getByText(/and \d+ others liked/))
    await page.getByRole('tab', { name: 'Latest' }).click()
    await page.getByRole('link', { name: 'Older' }).click()
    await shown(page.getByRole('link', { name: 'Newest' }))
    if (SCREENSHOT) {
      await page.goto(`${base}/`)
      await page.screenshot({ path: SCREENSHOT })
    }
    await page.close()
  })
})
