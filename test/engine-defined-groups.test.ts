/**
 * Feed groups defined while engines run (`engine.defineFeedGroup`, Feeds V3's GetOrCreateFeedGroup):
 * the configured groups' rules, kept in the store so another engine on it learns them, never
 * changed once made, and never over a configured group.
 */
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import { connect } from '../src/client/client.js'
import { rejection } from './helpers.js'

describe('feed groups defined at run time', () => {
  const dir = mkdtempSync(join(tmpdir(), 'eddy-defined-groups-'))
  const store = `sqlite:${join(dir, 'feeds.db')}`
  const a = connect({ store })
  const b = connect({ store })
  after(async () => {
    await a.close()
    await b.close()
    rmSync(dir, { recursive: true, force: true })
  })

  it('defines a group once; another engine on the store learns it; it groups by its format', async () => {
    await Promise.all([a.ready(), b.ready()])
    const made = await a.engine.defineFeedGroup('by-verb', {
      type: 'notification',
      aggregationFormat: '{{ verb }}',
    })
    assert.equal(made.created, true)
    const again = await a.engine.defineFeedGroup('by-verb', { type: 'flat' })
    assert.equal(again.created, false)
    assert.equal(again.group.kind, 'notification')
    assert.equal(b.engine.groups.has('by-verb'), false)
    assert.deepEqual(await b.engine.loadFeedGroups(), ['by-verb'])
    const feed = b.feed('by-verb' as never, 'ann')
    await feed.addActivities([
      { actor: 'x', verb: 'like', object: '1' },
      { actor: 'y', verb: 'like', object: '2' },
      { actor: 'x', verb: 'follow', object: '3' },
    ])
    const page = (await a.feed('by-verb' as never, 'ann').get()) as unknown as {
      results: { verb: string; activity_count: number }[]
      unseen: number
    }
    assert.deepEqual(
      page.results.map((g) => [g.verb, g.activity_count]),
      [
        ['follow', 1],
        ['like', 2],
      ],
    )
    assert.equal(page.unseen, 2)
  })

  it('keeps configured groups and refuses bad definitions with the configured groups’ errors', async () => {
    const user = await a.engine.defineFeedGroup('user', { type: 'notification' })
    assert.equal(user.created, false)
    assert.equal(user.group.kind, 'flat')
    for (const [slug, options] of [
      ['bad slug', { type: 'flat' }],
      ['bad-format', { type: 'aggregated', aggregationFormat: '{{ verb|upper }}' }],
      ['bad-type', { type: 'tree' }],
      ['bad-option', { type: 'flat', aggregation_format: 'x' }],
    ] as const) {
      const err = await rejection(() => a.engine.defineFeedGroup(slug, options as never))
      assert.equal(err.exception, 'FeedConfigException', slug)
      assert.equal(a.engine.groups.has(slug), false)
    }
  })

  it('soft-deletes a defined group on every engine of the store and restores it with its feeds', async () => {
    await a.engine.defineFeedGroup('rooms', { type: 'flat' })
    await b.engine.loadFeedGroups()
    await b.feed('rooms' as never, 'hall').addActivity({ actor: 'x', verb: 'say', object: 'hi' })
    await a.engine.deleteFeedGroup('rooms')
    assert.equal(a.engine.groups.has('rooms'), false)
    assert.equal(b.engine.groups.has('rooms'), true) // until it loads the definitions again
    await b.engine.loadFeedGroups()
    assert.equal(b.engine.groups.has('rooms'), false)
    assert.ok(b.engine.deletedFeedGroup('rooms')?.deletedAt)
    await assert.rejects(() => b.feed('rooms' as never, 'hall').get())
    // A deleted name is restored, not defined anew; configured groups are not deleted here.
    const again = await rejection(() => a.engine.defineFeedGroup('rooms', { type: 'aggregated' }))
    assert.equal(again.exception, 'InputException')
    assert.equal((await rejection(() => a.engine.deleteFeedGroup('user'))).exception, 'InputException')
    assert.equal(
      (await rejection(() => a.engine.deleteFeedGroup('rooms'))).exception,
      'DoesNotExistException',
    )
    const restored = await b.engine.restoreFeedGroup('rooms')
    assert.equal(restored.kind, 'flat')
    await a.engine.loadFeedGroups()
    const { results } = await a.feed('rooms' as never, 'hall').get()
    assert.deepEqual(
      results.map((r) => r.verb),
      ['say'],
    )
  })
})
