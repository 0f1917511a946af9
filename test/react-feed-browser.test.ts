/**
 * GetStream's React components (examples/react-feed: react-activity-feed 1.4.0, React 17, getstream
 * 7) in Debian's chromium against an Eddy server on another origin (CORS, Faye): alice posts with
 * StatusUpdateForm; bob sees it in his FlatFeed, likes it and comments; alice's notification bell
 * counts both without a reload; after reloads the like count, the comment and the notifications
 * (marked seen by the bell's read, as on Stream) are right.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { type Browser, chromium, type Page } from 'playwright-core'
import { type ReactFeed, startReactFeed } from '../examples/react-feed/server.js'
import { CHROMIUM_ARGS, findChromium } from './fixtures/chromium.js'

const ARGS = CHROMIUM_ARGS

const executablePath = findChromium()

describe('react-activity-feed in chromium', {
  skip: executablePath ? false : 'chromium is not installed',
}, () => {
  let app: ReactFeed
  let browser: Browser
  const errors: string[] = []

  before(async () => {
    app = await startReactFeed()
    await app.server.feed('timeline', 'bob').follow('user', 'alice')
    browser = await chromium.launch({ executablePath, args: ARGS })
  })

  after(async () => {
    await browser?.close()
    await app?.close()
  })

  async function open(user: string): Promise<Page> {
    const context = await browser.newContext({ viewport: { width: 1000, height: 900 } })
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
    // The post is stored (through the API, on the other origin) before bob looks.
    for (;;) {
      const { results } = await app.server.feed('user', 'alice').get({ limit: 1 })
      if (results.length === 1) break
      await alice.waitForTimeout(50)
    }

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
    assert.deepEqual(errors, [])
  })
})
