/**
 * Feeds V3's OwnBatch through @stream-io/feeds-client and node-sdk against `eddy serve`'s app, on
 * every store: the caller's own_capabilities, own_follows, own_followings and own_membership of
 * many feeds at once, the same as a feed read shows them, and the attacks on it (asking as another
 * user, unbounded feed lists, unknown fields).
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { startV3, type V3Server, v3Stores } from './harness.js'

for (const store of await v3Stores('v3own')) {
  describe(`Feeds V3 own fields (${store.name})`, { skip: store.skip }, () => {
    let s: V3Server
    before(async () => {
      s = await startV3(store)
      for (const user of ['amy', 'bob']) {
        await s.server.feeds.feed('user', user).getOrCreate({ user_id: user })
        await s.server.feeds.feed('timeline', user).getOrCreate({ user_id: user })
      }
      await s.server.feeds
        .feed('user', 'cat')
        .getOrCreate({ user_id: 'cat', data: { visibility: 'private' } })
      await s.server.feeds.follow({ source: 'timeline:amy', target: 'user:bob' })
      await s.server.feeds.follow({ source: 'timeline:bob', target: 'user:amy' })
      await s.server.feeds.updateFeedMembers({
        feed_group_id: 'user',
        feed_id: 'bob',
        members: [{ user_id: 'amy', role: 'feed_member' }],
        operation: 'upsert',
      })
    })
    after(() => s.close())

    it("answers the caller's own fields of each feed it names, as a feed read shows them", async () => {
      const amy = await s.connect('amy')
      const { data } = await amy.ownBatch({ feeds: ['user:bob', 'user:cat'] })
      const bob = data['user:bob']
      assert.deepEqual(
        bob.own_follows?.map((f) => [f.source_feed.feed, f.target_feed.feed]),
        [['timeline:amy', 'user:bob']],
      )
      assert.deepEqual(
        bob.own_followings?.map((f) => [f.source_feed.feed, f.target_feed.feed]),
        [['timeline:bob', 'user:amy']],
        "bob's feeds following amy's",
      )
      assert.equal(bob.own_membership?.user.id, 'amy')
      const read = await amy.feed('user', 'bob').getOrCreate()
      assert.deepEqual(bob.own_capabilities, read.feed.own_capabilities)
      // cat's private feed: amy may not read it, follows nothing of it, and is no member.
      const cat = data['user:cat']
      assert.ok(!cat.own_capabilities?.includes('read-feed' as never))
      assert.deepEqual(cat.own_follows, [])
      assert.deepEqual(cat.own_followings, [])
      assert.equal(cat.own_membership, undefined)
    })

    it('answers only the fields asked for; the app asks on behalf of a user', async () => {
      const amy = await s.connect('amy')
      const { data } = await amy.ownBatch({ feeds: ['user:bob'], fields: ['own_follows'] })
      assert.deepEqual(Object.keys(data['user:bob']), ['own_follows'])
      const asBob = await s.server.feeds.ownBatch({ feeds: ['user:amy'], user_id: 'bob' })
      assert.deepEqual(
        asBob.data['user:amy'].own_follows?.map((f) => f.source_feed.feed),
        ['timeline:bob'],
      )
    })

    it("refuses another user's fields, unbounded lists and unknown fields", async () => {
      const amy = await s.connect('amy')
      const token = s.server.generateUserToken({ user_id: 'amy' })
      const post = (body: unknown) =>
        fetch(`${s.base}/api/v2/feeds/feeds/own/batch?api_key=v3-key`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: token, 'stream-auth-type': 'jwt' },
          body: JSON.stringify(body),
        })
      assert.equal((await post({ feeds: ['user:bob'], user_id: 'bob' })).status, 403)
      const many = Array.from({ length: 101 }, (_, i) => `user:u${i}`)
      await assert.rejects(amy.ownBatch({ feeds: many }), /code 4/)
      await assert.rejects(amy.ownBatch({ feeds: [] }), /code 4/)
      await assert.rejects(amy.ownBatch({ feeds: ['user:bob'], fields: ['__proto__'] }), /code 4/)
      await assert.rejects(amy.ownBatch({ feeds: ['nogroup:bob'] }), /code 4/)
    })
  })
}
