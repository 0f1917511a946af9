/**
 * Stream's Feeds V3 React SDK (examples/v3-react: @stream-io/feeds-react-sdk 1.0.14 on
 * @stream-io/feeds-client 2.2.0, React 17) in Debian's chromium against an Eddy server on another
 * origin (CORS, the V3 WebSocket): alice connects and posts; bob, whose timeline follows her, sees
 * the post arrive without a reload, likes it and comments; alice sees her own post at once, and
 * after a reload the like count and the comment. The browser reports no errors.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { type Browser, chromium, type Page } from 'playwright-core'
import { startV3React, type V3React } from '../examples/v3-react/server.js'
import { CHROMIUM_ARGS, findChromium } from './fixtures/chromium.js'

const executablePath = findChromium()

describe('Feeds V3 React SDK in chromium', {
  skip: executablePath ? false : 'chromium is not installed',
}, () => {
  let app: V3React
  let browser: Browser
  const errors: string[] = []

  before(async () => {
    app = await startV3React()
    await app.follow('bob', 'alice')
    browser = await chromium.launch({ executablePath, args: CHROMIUM_ARGS })
  })

  after(async () => {
    await browser?.close()
    await app?.close()
  })

  async function open(user: string): Promise<Page> {
    const context = await browser.newContext({ viewport: { width: 1000, height: 900 } })
    const page = await context.newPage()
    page.on('pageerror', (e) => errors.push(`${user}: ${e.message}`))
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(`${user} console: ${m.text()} ${m.location().url}`)
    })
    await page.goto(`${app.pageOrigin}/?user=${user}`)
    await page.locator('.who').waitFor()
    await page.locator('.timeline, .empty').first().waitFor()
    return page
  }

  it('connects, posts, shows the post to a follower in realtime, likes and comments', async () => {
    const alice = await open('alice')
    const bob = await open('bob')
    const marker = `hello from alice ${Date.now().toString(36)}`
    await alice.getByLabel('Post').fill(marker)
    await alice.getByRole('button', { name: 'Post' }).click()
    // Alice's own post reaches her timeline (it follows her user feed) over the WebSocket.
    await alice.locator('.post', { hasText: marker }).waitFor()

    // Bob's page was open before the post: it arrives on his watched timeline, no reload.
    const post = bob.locator('.post', { hasText: marker })
    await post.waitFor()
    await post.locator('.like').click()
    await post.locator('.like[aria-pressed="true"]', { hasText: '1' }).waitFor()
    await post.getByLabel('Comment').fill('nice post')
    await post.getByRole('button', { name: 'Comment' }).click()
    await post.locator('.comment', { hasText: 'nice post' }).waitFor()

    // After a reload, both read back from Eddy: alice sees bob's like and comment.
    await alice.reload()
    const mine = alice.locator('.post', { hasText: marker })
    await mine.waitFor()
    await mine.locator('.like', { hasText: '1' }).waitFor()
    assert.equal(await mine.locator('.like').getAttribute('aria-pressed'), 'false')
    await mine.locator('.comment', { hasText: 'bob nice post' }).waitFor()
    await mine.locator('.comment-count', { hasText: '1 comments' }).waitFor()

    // The server SDK sees the same activity, like and comment.
    const { activities } = await app.server.feeds.feed('user', 'alice').getOrCreate({ user_id: 'alice' })
    const read = activities.find((a) => a.text === marker)
    assert.equal(read?.reaction_groups?.like?.count, 1)
    assert.equal(read?.comment_count, 1)
    assert.deepEqual(errors, [])
  })
})
