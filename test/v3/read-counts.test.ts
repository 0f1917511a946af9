/**
 * What one V3 request reads from the store, counted on a SQLite store whose parts count their
 * calls (no timers): a feed page reads its feed's data, members, pins, follow counts and users
 * once each, however many parts of the answer show them (the feed, its activities' current_feed,
 * its members); an added activity's event is built once however many connections watch the feed;
 * QueryFeeds reads follow counts and users only for the feeds it answers, unless the filter or
 * sort names them.
 */
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import type { FeedsClient } from '@stream-io/feeds-client'
import { openSqliteStore } from '../../src/store/sqlite/index.js'
import { nextEvent, startV3, type V3Server } from './harness.js'

/** Store calls by name (`documents.getDocs` by document kind), counted while `counting`. */
const calls = new Map<string, number>()
let counting = false

/** The store calls `run` makes, by name. */
async function readsOf(run: () => Promise<unknown>): Promise<Record<string, number>> {
  calls.clear()
  counting = true
  try {
    await run()
  } finally {
    counting = false
  }
  return Object.fromEntries(calls)
}

describe('Feeds V3 store reads per request (SQLite)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'eddy-v3-reads-'))
  let s: V3Server
  let ann: FeedsClient

  before(async () => {
    const store = openSqliteStore(join(dir, 'feeds.sqlite'))
    const count = (name: string) => {
      if (counting) calls.set(name, (calls.get(name) ?? 0) + 1)
    }
    const { documents, follows } = store
    const getDocs = documents.getDocs.bind(documents)
    documents.getDocs = (kind, ids) => {
      count(`getDocs ${kind}`)
      return getDocs(kind, ids)
    }
    const countFollows = follows.countFollows.bind(follows)
    follows.countFollows = (feed, query) => {
      count('countFollows')
      return countFollows(feed, query)
    }
    s = await startV3({ options: () => ({ store }) })
    ann = await s.connect('ann', 'Ann')
    await s.connect('bea', 'Bea')
    await ann.feed('user', 'ann').getOrCreate({ data: { name: 'Ann' } })
    await ann.feed('user', 'ann').updateFeedMembers({ operation: 'upsert', members: [{ user_id: 'bea' }] })
    for (let i = 0; i < 3; i++)
      await ann.addActivity({ feeds: ['user:ann'], type: 'post', text: `post ${i}` })
  })
  after(async () => {
    await s.close()
    rmSync(dir, { recursive: true, force: true })
  })

  it('a feed page reads the feed, its members, pins, follow counts and users once each', async () => {
    let page: Awaited<ReturnType<ReturnType<FeedsClient['feed']>['getOrCreate']>> | undefined
    const reads = await readsOf(async () => {
      page = await ann.feed('user', 'ann').getOrCreate({ limit: 10 })
    })
    // The answer shows each of them more than once: the feed itself and as every activity's current_feed.
    assert.equal(page?.activities.length, 3)
    assert.equal(page?.activities[0].current_feed?.feed, 'user:ann')
    assert.equal(page?.activities[0].current_feed?.member_count, 1)
    assert.equal(page?.feed.member_count, 1)
    assert.deepEqual(
      page?.members.map((m) => m.user.name),
      ['Bea'],
    )
    assert.equal(reads['getDocs v3_feed'], 1)
    assert.equal(reads['getDocs v3_members'], 1)
    assert.equal(reads['getDocs v3_pins'], 1)
    assert.equal(reads['getDocs user'], 1)
    assert.equal(reads.countFollows, 1)
  })

  it('the app reading a page with a server token reads them once too', async () => {
    const reads = await readsOf(() =>
      s.server.feeds.getOrCreateFeed({ feed_group_id: 'user', feed_id: 'ann', user_id: 'ann', limit: 10 }),
    )
    assert.equal(reads['getDocs v3_members'], 1)
    assert.equal(reads['getDocs v3_pins'], 1)
    assert.equal(reads['getDocs user'], 1)
    assert.equal(reads.countFollows, 1)
  })

  it("an added activity's event is built once, however many connections watch the feed", async () => {
    /** The reads of one add, from the request until every watcher has its event. */
    const addWatchedBy = async (watchers: FeedsClient[], text: string) => {
      for (const w of watchers) await w.feed('user', 'ann').getOrCreate({ watch: true })
      return readsOf(async () => {
        const heard = watchers.map((w) => nextEvent(w.feed('user', 'ann') as never, 'feeds.activity.added'))
        await ann.addActivity({ feeds: ['user:ann'], type: 'post', text })
        await Promise.all(heard)
      })
    }
    const one = await addWatchedBy([await s.connect('cy')], 'heard by one')
    const three = await addWatchedBy(
      [await s.connect('dee'), await s.connect('eve'), await s.connect('fay')],
      'heard by three',
    )
    assert.equal(three['getDocs v3_feed'], one['getDocs v3_feed'])
    assert.equal(three['getDocs user'], one['getDocs user'])
    assert.equal(three['getDocs v3_members'], one['getDocs v3_members'])
  })

  it('QueryFeeds reads follow counts and users only for the feeds it answers', async () => {
    for (const id of ['q1', 'q2', 'q3', 'q4'])
      await s.server.feeds.feed('user', id).getOrCreate({ user_id: id, data: { name: `Q ${id}` } })
    const named = await readsOf(() => s.server.feeds.queryFeeds({ filter: { name: 'Q q2' } }))
    assert.equal(named.countFollows, 1)
    assert.equal(named['getDocs user'], 1)
    // Sorting by follower count needs every seen feed's counts; the answer is the same.
    const sorted = await readsOf(async () => {
      const { feeds } = await s.server.feeds.queryFeeds({
        filter: { name: { $in: ['Q q1', 'Q q3'] } },
        sort: [{ field: 'follower_count', direction: -1 }],
      })
      assert.deepEqual(feeds.map((f) => f.feed).sort(), ['user:q1', 'user:q3'])
    })
    assert.ok((sorted.countFollows ?? 0) >= 5, 'every seen feed counted for the sort')
  })
})
