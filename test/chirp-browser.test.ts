/**
 * Chirp in a real browser: Debian's chromium driven by playwright-core. New users' empty states;
 * three users in their own browser contexts follow each other, chirp with an @mention, rechirp
 * and like: wording ("1 follower", "followed you", "You and Ben Carter liked"), one-line follow
 * rows, one grouped card per chirp, combined follows, the unseen badge; and the styled 404. A phone
 * (390 px) sees the whole top bar, "Sign out" included, and no page scrolls sideways.
 * `CHIRP_SCREENSHOT=1` also saves the home page of a seeded user to docs/chirp.png and the phone
 * view to /tmp/chirp-390.png.
 */
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer as createHttpServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'
import type { FastifyInstance } from 'fastify'
import { type Browser, chromium, type Locator, type Page } from 'playwright-core'
import { buildApp } from '../examples/chirp/app.js'
import { CHROMIUM_ARGS, findChromium } from './fixtures/chromium.js'

const ARGS = CHROMIUM_ARGS

const executablePath = findChromium()
const SCREENSHOT = process.env.CHIRP_SCREENSHOT
  ? fileURLToPath(new URL('../docs/chirp.png', import.meta.url))
  : undefined

describe('chirp in chromium', { skip: executablePath ? false : 'chromium is not installed' }, () => {
  let dir: string
  let app: FastifyInstance
  let browser: Browser
  let base: string
  let article: Server

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'chirp-browser-'))
    // A page to preview, on loopback: the test turns on the operator switch for private addresses.
    article = createHttpServer((_req, res) =>
      res
        .writeHead(200, { 'content-type': 'text/html' })
        .end(
          '<html><head><meta property="og:title" content="Lake photos"><meta property="og:description" content="A day at the lake"><meta property="og:site_name" content="Lakes"></head></html>',
        ),
    )
    await new Promise<void>((resolve) => article.listen(0, '127.0.0.1', resolve))
    app = await buildApp({ dataDir: dir, seed: true, og: { allowPrivate: true } })
    base = await app.listen({ port: 0, host: '127.0.0.1' })
    browser = await chromium.launch({ executablePath, args: ARGS })
  })

  after(async () => {
    await browser?.close()
    await app?.close()
    article?.close()
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

  /** Follows `username` from their profile page. */
  async function followFrom(page: Page, username: string): Promise<void> {
    await page.goto(`${base}/u/${username}`)
    await page.getByRole('button', { name: 'Follow', exact: true }).click()
    await shown(page.getByRole('button', { name: 'Following' }))
  }

  it('shows helpful empty states to a new user', async () => {
    const nia = await signUp('nia', 'Nia Obi')
    assert.match(await text(nia.locator('.feed .empty')), /^Your timeline is empty\. Write your first chirp/)
    await nia.getByRole('tab', { name: 'Grouped' }).click()
    assert.match(await text(await shown(nia.locator('.feed .empty'))), /^Nothing to group yet\./)
    await nia.goto(`${base}/u/nia`)
    assert.match(await text(nia.locator('.feed .empty')), /^Nothing here yet\./)
    await nia.goto(`${base}/u/leo`)
    assert.equal(await nia.locator('.feed .empty').count(), 0)
    await nia.close()
  })

  it('follow, chirp, mention, like and rechirp: notifications, wording and grouped cards', async () => {
    const ada = await signUp('ada', 'Ada Lovelace')
    const grace = await signUp('grace', 'Grace Hopper')
    const ben = await signUp('ben2', 'Ben Carter')
    const graceBadge = grace.getByTestId('unseen-badge')
    assert.equal(await graceBadge.count(), 0)

    // Ada follows Grace from Grace's profile: one follower, in the singular.
    await followFrom(ada, 'grace')
    assert.equal(await text(ada.getByTestId('followers-count')), '1 follower')

    // Grace is told, opens her notifications, and the badge goes.
    await grace.reload()
    assert.equal(await text(await shown(graceBadge)), '1')
    await grace.getByRole('link', { name: /Notifications/ }).click()
    await shown(grace.locator('.notification', { hasText: 'Ada Lovelace followed you' }))
    assert.equal(await graceBadge.count(), 0)

    // Ada follows three more; Grace and Ben follow back. Ada's home says "Grace Hopper followed
    // you" on one line.
    for (const name of ['ben2', 'leo', 'mara']) await followFrom(ada, name)
    for (const name of ['ada', 'ben2']) await followFrom(grace, name)
    await followFrom(ben, 'grace')
    await ada.goto(`${base}/`)
    const line = await shown(
      ada.locator('.activity-line .line-text', { hasText: 'Grace Hopper followed you' }),
    )
    assert.equal(await text(line), 'Grace Hopper followed you')
    // Runs in the page (this project's tsconfig has no DOM lib, hence the typed window).
    const lines = await line.first().evaluate((el) => {
      const view = globalThis as unknown as { getComputedStyle(e: unknown): { fontSize: string } }
      return el.getBoundingClientRect().height / Number.parseFloat(view.getComputedStyle(el).fontSize)
    })
    assert.ok(lines < 2, `the follow row is one line, got ${lines} font-sizes high`)

    // Grace chirps and mentions Ada: it shows on Ada's timeline and Ada is notified.
    await grace.getByRole('link', { name: 'Home' }).click()
    await grace
      .getByPlaceholder("What's happening?")
      .fill('Found a moth in the relay. First actual bug! @ada')
    await grace.getByRole('button', { name: 'Chirp', exact: true }).click()
    await shown(grace.locator('.chirp-text', { hasText: 'First actual bug!' }))
    await ada.goto(`${base}/notifications`)
    await shown(ada.locator('.notification', { hasText: 'Grace Hopper mentioned you' }))
    await shown(ada.locator('.notification', { hasText: 'Grace Hopper followed you' }))
    await ada.goto(`${base}/`)
    const chirp = await shown(ada.locator('article.chirp', { hasText: 'First actual bug!' }))
    assert.equal(await text(chirp.locator('.name')), 'Grace Hopper')

    // Ben rechirps it, then Ada likes it.
    await ben.goto(`${base}/`)
    const bens = await shown(ben.locator('article.chirp', { hasText: 'First actual bug!' }))
    await bens.getByRole('button', { name: 'Rechirp', exact: true }).click()
    await ada.reload()
    const adas = await shown(ada.locator('article.chirp', { hasText: 'First actual bug!' }))
    await adas.first().getByRole('button', { name: 'Like', exact: true }).click()
    const unlike = await shown(adas.first().getByRole('button', { name: 'Unlike', exact: true }))
    assert.equal(await unlike.getAttribute('aria-pressed'), 'true')
    assert.equal(await text(unlike), '1')

    // Grace's grouped view: one card for her chirp, and Ada's follows combined.
    await grace.goto(`${base}/?view=aggregated`)
    const card = await shown(grace.locator('.feed-item', { hasText: 'First actual bug!' }))
    assert.equal(await card.count(), 1)
    assert.match(
      await text(card.locator('.activity-context')),
      /^Ada Lovelace liked, Ben Carter rechirped · /,
    )
    const follows = await shown(grace.locator('.feed-item', { hasText: 'Ada Lovelace followed' }))
    assert.equal(
      await text(follows.locator('.line-text')),
      'Ada Lovelace followed you, Mara Okafor and 2 others',
    )

    // Ben likes it too: Ada reads "You and Ben Carter liked", the viewer first.
    await ben.reload()
    const liked = await shown(ben.locator('article.chirp', { hasText: 'First actual bug!' }))
    await liked.first().getByRole('button', { name: 'Like', exact: true }).click()
    await shown(liked.first().getByRole('button', { name: 'Unlike', exact: true }))
    await ada.goto(`${base}/?view=aggregated`)
    const adaCard = await shown(ada.locator('.feed-item', { hasText: 'First actual bug!' }))
    assert.match(
      await text(adaCard.locator('.activity-context')),
      /^You and Ben Carter liked, Ben Carter rechirped · /,
    )

    // Grace sees the badge, opens notifications, and it clears; the group links to the chirp.
    await grace.reload()
    await shown(graceBadge)
    await grace.getByRole('link', { name: /Notifications/ }).click()
    const note = await shown(
      grace.locator('.notification', { hasText: 'Ben Carter and Ada Lovelace liked your chirp' }),
    )
    assert.match((await note.getAttribute('class')) ?? '', /is-unread/)
    assert.equal(await graceBadge.count(), 0)
    await note.getByRole('link').click()
    await shown(grace.locator('.thread-main .chirp-text', { hasText: 'First actual bug!' }))
    await grace.getByRole('link', { name: /Notifications/ }).click()
    const read = await shown(
      grace.locator('.notification', { hasText: 'Ben Carter and Ada Lovelace liked your chirp' }),
    )
    assert.doesNotMatch((await read.getAttribute('class')) ?? '', /is-unread|is-new/)
    assert.equal(await graceBadge.count(), 0)
  })

  it("answers unknown pages with Chirp's own 404 page", async () => {
    const page = await browser.newPage()
    await page.goto(`${base}/signin`)
    await page.locator('button[data-username="leo"]').click()
    await shown(page.getByPlaceholder("What's happening?"))
    const response = await page.goto(`${base}/no/such/page`)
    assert.equal(response?.status(), 404)
    assert.equal(await text(page.getByRole('heading', { level: 1 })), 'Not found')
    assert.equal(await text(page.locator('main p')), 'There is no page at /no/such/page.')
    assert.ok(await page.getByRole('link', { name: 'Back home' }).isVisible())
    await page.close()
  })

  it('posts a picture and a link: a thumbnail and a preview in the timeline, after a reload too', async () => {
    const ivy = await signUp('ivy', 'Ivy Chen')
    const link = `http://127.0.0.1:${(article.address() as AddressInfo).port}/lake`
    await ivy.getByPlaceholder("What's happening?").fill(`At the lake ${link}`)
    const png = Buffer.from(
      'iVBORw0KGgoAAAANSUhEUgAAAAIAAAACCAIAAAD91JpzAAAACXBIWXMAAAPoAAAD6AG1e1JrAAAAEklEQVQImWMwTjtjnHaGAUIBACS2BZUFBQd/AAAAAElFTkSuQmCC',
      'base64',
    )
    await ivy
      .locator('input[name="image"]')
      .setInputFiles({ name: 'lake.png', mimeType: 'image/png', buffer: png })
    await ivy.getByRole('button', { name: 'Chirp', exact: true }).click()
    // Checked once after the post lands and once after a reload. (The reload must wait for the
    // first check: reloading while the form's own navigation is under way detaches the page.)
    for (const reload of [false, true]) {
      if (reload) await ivy.reload()
      const page = ivy
      const chirp = page.locator('article.chirp', { hasText: 'At the lake' }).first()
      const picture = await shown(chirp.locator('.chirp-picture img'))
      assert.match(
        String(await picture.getAttribute('src')),
        /^\/uploads\/images\/[0-9a-f-]{36}\/picture\?w=520&h=360&resize=clip$/,
      )
      await page.waitForFunction(
        (el) => (el as unknown as { naturalWidth: number }).naturalWidth === 2,
        await picture.first().elementHandle(),
      )
      assert.equal(await text(chirp.locator('.link-card-title')), 'Lake photos')
      assert.equal(await text(chirp.locator('.link-card-description')), 'A day at the lake')
      assert.equal(await chirp.locator('.link-card').getAttribute('href'), link)
    }
    // The upload is served with Eddy's headers; a text file is refused as a picture, draft kept.
    const src = await ivy.locator('.chirp-picture img').first().getAttribute('src')
    const res = await fetch(`${base}${src}`)
    assert.equal(res.headers.get('content-type'), 'image/png')
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff')
    await ivy.getByPlaceholder("What's happening?").fill('not a picture')
    await ivy
      .locator('input[name="image"]')
      .setInputFiles({ name: 'x.png', mimeType: 'image/png', buffer: Buffer.from('hello') })
    await ivy.getByRole('button', { name: 'Chirp', exact: true }).click()
    assert.match(
      await text(await shown(ivy.getByRole('alert'))),
      /^That picture could not be attached: File type text\/plain is not supported/,
    )
    await ivy.close()
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

  it('fits a 390 px phone: the top bar keeps "Sign out" on screen, no page scrolls sideways', async () => {
    // Leo: opening notifications here marks them seen, and the last test counts on Mara's badge.
    const page = await browser.newPage({ viewport: { width: 390, height: 844 } })
    await page.goto(`${base}/signin`)
    await page.locator('button[data-username="leo"]').click()
    await shown(page.getByPlaceholder("What's happening?"))
    const signOut = await shown(page.getByRole('button', { name: 'Sign out' }))
    const box = await signOut.first().boundingBox()
    assert.ok(box, 'Sign out has a box')
    assert.ok(box.x >= 0 && box.x + box.width <= 390, `Sign out spans x ${box.x}..${box.x + box.width}`)
    // One line: the label does not wrap into a tall button.
    assert.ok(box.height < 40, `Sign out is ${box.height}px high`)
    for (const path of ['/', '/?view=aggregated', '/notifications', '/u/mara', '/u/leo']) {
      await page.goto(`${base}${path}`)
      const width = await page.evaluate(() => {
        const root = (globalThis as unknown as { document: { documentElement: { scrollWidth: number } } })
          .document.documentElement
        return root.scrollWidth
      })
      assert.equal(width, 390, `${path} is ${width}px wide at 390`)
    }
    if (SCREENSHOT) {
      await page.goto(`${base}/`)
      await page.screenshot({ path: '/tmp/chirp-390.png' })
    }
    await page.close()
  })

  it('renders the seeded home page, grouped view and paging', async () => {
    const page = await browser.newPage({ viewport: { width: 1200, height: 1000 } })
    await page.goto(`${base}/signin`)
    await page.locator('button[data-username="mara"]').click()
    await shown(page.getByTestId('unseen-badge'))
    await shown(page.locator('.feed-item'))
    await page.getByRole('tab', { name: 'Grouped' }).click()
    await shown(page.getByText(/and \d+ others? liked/))
    // One card per chirp: no chirp shows twice on the grouped page.
    const cards = await page
      .locator('.feed-item article.chirp')
      .evaluateAll((els) =>
        els.filter((el) => !el.closest('.chirp-replies')).map((el) => el.getAttribute('data-chirp')),
      )
    assert.ok(cards.length > 5)
    assert.equal(new Set(cards).size, cards.length, `each chirp once: ${cards.join(',')}`)
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
