/**
 * Feeds V3's QueryFeeds through @stream-io/feeds-client and node-sdk against `eddy serve`'s app, on
 * every store: filters, sort and cursors, `watch`, and the attacks on it (another user's private
 * feeds, a huge limit, prototype keys in the filter, forged cursors).
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { startV3, type V3Server, v3Stores } from './harness.js'

for (const store of await v3Stores('v3fq')) {
  describe(`Feeds V3 QueryFeeds (${store.name})`, { skip: store.skip }, () => {
    let s: V3Server
    before(async () => {
      s = await startV3(store)
      await s.server.feeds
        .feed('user', 'amy')
        .getOrCreate({ user_id: 'amy', data: { name: 'Amy Sports', visibility: 'public' } })
      await s.server.feeds
        .feed('user', 'bob')
        .getOrCreate({ user_id: 'bob', data: { name: 'Bob Tech', visibility: 'public' } })
      await s.server.feeds
        .feed('user', 'cat')
        .getOrCreate({ user_id: 'cat', data: { name: 'Cat Secrets', visibility: 'private' } })
    })
    after(() => s.close())

    it('lists the feeds a filter names, sorted and paged by cursor', async () => {
      const amy = await s.connect('amy')
      const sports = await amy.queryFeeds({ filter: { name: { $q: 'sports' } } })
      assert.deepEqual(
        sports.feeds.map((f) => f.feed),
        ['user:amy'],
      )
      const first = await amy.queryFeeds({
        filter: { visibility: 'public' },
        limit: 1,
        sort: [{ field: 'created_at', direction: 1 }],
      })
      assert.deepEqual(
        first.feeds.map((f) => f.feed),
        ['user:amy'],
      )
      assert.ok(first.next)
      const second = await amy.queryFeeds({
        filter: { visibility: 'public' },
        limit: 1,
        sort: [{ field: 'created_at', direction: 1 }],
        next: first.next,
      })
      assert.deepEqual(
        second.feeds.map((f) => f.feed),
        ['user:bob'],
      )
      assert.equal(second.next, undefined)
    })

    it("never lists another user's private feed; its owner and the app see it", async () => {
      const amy = await s.connect('amy')
      const all = await amy.queryFeeds({ filter: {} })
      assert.ok(!all.feeds.some((f) => f.feed === 'user:cat'))
      const byOwner = await amy.queryFeeds({ filter: { created_by_id: 'cat' } })
      assert.deepEqual(byOwner.feeds, [])
      const cat = await s.connect('cat')
      assert.deepEqual(
        (await cat.queryFeeds({ filter: { created_by_id: 'cat' } })).feeds.map((f) => f.feed),
        ['user:cat'],
      )
      const app = await s.server.feeds.queryFeeds({ filter: { feed: 'user:cat' } })
      assert.deepEqual(
        app.feeds.map((f) => f.feed),
        ['user:cat'],
      )
    })

    it('watch subscribes the connection to the feeds answered', async () => {
      const amy = await s.connect('amy')
      const { feeds } = await amy.queryFeeds({ filter: { feed: 'user:bob' }, watch: true })
      assert.equal(feeds[0].currentState.watch, true)
    })

    it('refuses a huge limit, prototype keys, unknown fields and forged cursors', async () => {
      const amy = await s.connect('amy')
      await assert.rejects(amy.queryFeeds({ filter: {}, limit: 1_000_000 }), /limit/)
      // `__proto__` and `constructor` never reach the filter as fields (the body parser drops them): nothing leaks.
      const proto = await amy.queryFeeds({ filter: JSON.parse('{"__proto__": {"visibility": "private"}}') })
      assert.ok(!proto.feeds.some((f) => f.feed === 'user:cat'))
      const ctor = await amy.queryFeeds({ filter: { constructor: { prototype: 'x' } } })
      assert.ok(!ctor.feeds.some((f) => f.feed === 'user:cat'))
      await assert.rejects(amy.queryFeeds({ filter: { secret_field: 1 } }), /filter/)
      await assert.rejects(amy.queryFeeds({ filter: {}, next: '99999999' }), /next/)
    })
  })
}
