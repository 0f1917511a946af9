/**
 * GetStream's React components (examples/react-feed: react-activity-feed 1.4.0, React 17, getstream
 * 7) in Debian's chromium against an Eddy server on another origin (CORS, Faye): alice posts with
 * StatusUpdateForm; bob sees it in his FlatFeed, likes it and comments; alice's notification bell
 * counts both without a reload; after reloads the like count, the comment and the notifications
 * (marked seen by the bell's read, as on Stream) are right. Alice sees her own post at once (not a
 * "You have 1 new activity" bar above an empty feed); the notification panel lies inside the page
 * at desktop and phone widths; `/` without `?user=` greets the visitor and signs in by name.
 * `REACT_FEED_SCREENSHOT=1` saves the panel at both widths to /tmp/react-feed-*.png.
 */
import assert from 'node:assert/strict'
import { createServer as createHttpServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { after, before, describe, it } from 'node:test'
import { type Browser, chromium, type Page } from 'playwright-core'
import { type ReactFeed, startReactFeed } from '../examples/react-feed/server.js'
import { CHROMIUM_ARGS, findChromium } from './fixtures/chromium.js'

const ARGS = CHROMIUM_ARGS

const executablePath = findChromium()
const SCREENSHOT = process.env.REACT_FEED_SCREENSHOT === '1'

describe('react-activity-feed in chromium', {
  skip: executablePath ? false : 'chromium is not installed',
}, () => {
  let app: ReactFeed
  let browser: Browser
  let article: Server
  const errors: string[] = []

  before(async () => {
    // A page with Open Graph tags for the link preview, on loopback (the operator switch is on).
    article = createHttpServer((_req, res) =>
      res
        .writeHead(200, { 'content-type': 'text/html' })
        .end(
          '<html><head><meta property="og:title" content="Lake photos"><meta property="og:description" content="A day at the lake"></head></html>',
        ),
    )
    await new Promise<void>((resolve) => article.listen(0, '127.0.0.1', resolve))
    app = await startReactFeed({ og: { allowPrivate: true } })
    await app.server.feed('timeline', 'bob').follow('user', 'alice')
    browser = await chromium.launch({ executablePath, args: ARGS })
  })

  after(async () => {
    await browser?.close()
    await app?.close()
    article?.close()
  })

  async function open(user: string, width = 1000): Promise<Page> {
    const context = await browser.newContext({ viewport: { width, height: 900 } })
    const page = await context.newPage()
    page.on('pageerror', (e) => errors.push(`${user}: ${e.message}`))
    await page.goto(`${app.pageOrigin}/?user=${user}`)
    await status(page).waitFor()
    return page
  }

  const status = (page: Page) => page.getByPlaceholder('Type your post...')
  const bell = (page: Page) => page.locator('[data-testid="unseen-count"]')

  it('posts, shows, likes, comments and notifies in realtime', async () => {
    const alice = await open('alice')
    const marker = `hello from alice ${Date.now().toString(36)}`
    await status(alice).fill(marker)
    await alice
      .locator('form', { has: status(alice) })
      .locator('button[type="submit"]')
      .click()
    // Alice sees her own post in her timeline without a click or a reload (it reached the
    // timeline by fan-out, announced over Faye), and no "new activity" bar stays behind.
    await alice.locator('.raf-activity', { hasText: marker }).first().waitFor()
    assert.equal(await alice.locator('.raf-new-activities-notification').count(), 0)
    assert.equal(await alice.getByText('No data to display').count(), 0)

    const bob = await open('bob')
    const post = bob.locator('.raf-activity', { hasText: marker }).first()
    await post.waitFor()
    await post.locator('.raf-reaction-toggle-icon').first().click()
    await post
      .locator('.raf-reaction-toggle-icon .raf-reaction-icon__label', { hasText: '1' })
      .first()
      .waitFor()
    await post.locator('.raf-comment-field textarea').fill('nice post')
    await post.locator('.raf-comment-field button[type="submit"]').click()
    await post.locator('.raf-comment-item', { hasText: 'nice post' }).first().waitFor()

    // Alice's page was never reloaded: the bell counts the like and the comment from Faye messages.
    await bell(alice).filter({ hasText: /^2$/ }).waitFor()

    await bob.reload()
    const again = bob.locator('.raf-activity', { hasText: marker }).first()
    await again.waitFor()
    await again
      .locator('.raf-reaction-toggle-icon .raf-reaction-icon__label', { hasText: '1' })
      .first()
      .waitFor()
    await again.locator('.raf-comment-item', { hasText: 'nice post' }).first().waitFor()
    // After a reload the bell's feed is read with mark_seen (as on Stream): the panel lists both.
    await alice.reload()
    await alice.locator('.raf-icon-badge').click()
    const panel = alice.locator('.raf-notification-dropdown__panel')
    await panel.getByText('bob liked your post').waitFor()
    await panel.getByText('bob commented on your post').waitFor()
    assert.equal((await app.server.feed('notification', 'alice').get({ limit: 0 })).unseen, 0)
    await panelInside(alice, 1000, 'desktop')

    // On a phone the open panel stays on screen too.
    const phone = await open('alice', 390)
    await phone.locator('.raf-icon-badge').click()
    await phone.locator('.raf-notification-dropdown__panel').getByText('bob liked your post').waitFor()
    await panelInside(phone, 390, 'phone')
    assert.deepEqual(errors, [])
  })

  it('attaches an image and previews a link; the other user sees both after a reload', async () => {
    const alice = await open('alice')
    const link = `http://127.0.0.1:${(article.address() as AddressInfo).port}/lake`
    const marker = `photo ${Date.now().toString(36)}`
    await status(alice).fill(`${marker} ${link} `)
    const form = alice.locator('form', { has: status(alice) })
    await form.locator('.raf-card__title', { hasText: 'Lake photos' }).waitFor()
    const png = Buffer.from(
      'iVBORw0KGgoAAAANSUhEUgAAAAIAAAACCAIAAAD91JpzAAAACXBIWXMAAAPoAAAD6AG1e1JrAAAAEklEQVQImWMwTjtjnHaGAUIBACS2BZUFBQd/AAAAAElFTkSuQmCC',
      'base64',
    )
    await form
      .locator('input.rfu-image-input')
      .setInputFiles({ name: 'lake.png', mimeType: 'image/png', buffer: png })
    await form.locator('.rfu-image-previewer__image--loaded, .rfu-image-previewer__image').first().waitFor()
    // The submit button waits for the upload to finish.
    await form.locator('button[type="submit"]:not([disabled])').click()
    await alice.locator('.raf-activity', { hasText: marker }).first().waitFor()

    const bob = await open('bob')
    await bob.reload()
    const post = bob.locator('.raf-activity', { hasText: marker }).first()
    await post.waitFor()
    await post.locator('.raf-card__title', { hasText: 'Lake photos' }).waitFor()
    const image = post.locator('img.raf-gallery__image').first()
    await image.waitFor()
    const src = await image.getAttribute('src')
    assert.ok(src?.startsWith(`${app.apiOrigin}/uploads/images/`), String(src))
    // The browser loaded the uploaded bytes from the API's origin (a broken image has no width).
    await bob.waitForFunction(
      (el) => (el as unknown as { naturalWidth: number }).naturalWidth === 2,
      await image.elementHandle(),
    )
    assert.deepEqual(errors, [])
  })

  /** The open notification panel lies inside the viewport (it hung off the right edge). */
  async function panelInside(page: Page, width: number, name: string): Promise<void> {
    const box = await page.locator('.raf-notification-dropdown__panel--open').boundingBox()
    assert.ok(box && box.height > 0, 'the panel is open')
    assert.ok(
      box.x >= 0 && box.x + box.width <= width,
      `the panel spans x ${box.x}..${box.x + box.width} in a ${width}px window`,
    )
    if (SCREENSHOT) await page.screenshot({ path: `/tmp/react-feed-${name}.png` })
  }

  it('greets a visitor without ?user= and signs them in by name', async () => {
    const context = await browser.newContext({ viewport: { width: 1000, height: 900 } })
    const page = await context.newPage()
    page.on('pageerror', (e) => errors.push(`visitor: ${e.message}`))
    await page.goto(`${app.pageOrigin}/`)
    await page.getByRole('heading', { name: 'Welcome to the Eddy feed demo' }).waitFor()
    await page.getByLabel('Your name').fill('carol')
    await page.getByRole('button', { name: 'Start' }).click()
    await status(page).waitFor()
    assert.equal(new URL(page.url()).searchParams.get('user'), 'carol')
    assert.equal(await page.locator('.who').textContent(), 'carol')
    assert.deepEqual(errors, [])
    await context.close()
  })
})
