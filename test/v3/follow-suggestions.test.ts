/**
 * GetFollowSuggestions through @stream-io/feeds-client and node-sdk, on every store: friends of
 * friends on the engine's one follow graph (what the feeds a user follows follow), ranked by how
 * many of them follow each, without the user's own feeds, feeds it follows, or feeds it may not
 * see. The attacker cases: another user's suggestions, a huge limit, private feeds.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import type { FeedsClient } from '@stream-io/feeds-client'
import { SignJWT } from 'jose'
import { KEY, SECRET, startV3, type V3Server, v3Stores } from './harness.js'

const sign = (payload: Record<string, unknown>) =>
  new SignJWT(payload).setProtectedHeader({ alg: 'HS256' }).sign(new TextEncoder().encode(SECRET))

for (const store of await v3Stores('v3suggest')) {
  describe(`Feeds V3 follow suggestions (${store.name})`, { skip: store.skip }, () => {
    let s: V3Server
    let ann: FeedsClient
    /** A raw GetFollowSuggestions as `user`, with a query string. */
    let ask: (user: string, query: string) => Promise<{ status: number; body: { code?: number } }>
    before(async () => {
      s = await startV3(store)
      ann = await s.connect('ann')
      const pat = await s.connect('pat')
      await pat.feed('user', 'pat').getOrCreate({ data: { visibility: 'private' } })
      const follow = (source: string, target: string) =>
        s.eddy.feed('timeline', source).follow('user', target)
      // ann follows bob and cal; their timelines follow dan (both), eve (bob), and others
      // ann must not be offered: herself, cal (followed already) and pat's private feed.
      await follow('ann', 'bob')
      await follow('ann', 'cal')
      for (const target of ['eve', 'dan', 'cal', 'ann', 'pat']) await follow('bob', target)
      for (const target of ['dan', 'pat']) await follow('cal', target)
      await s.eddy.feed('timeline', 'bob').follow('timeline', 'zed')
      ask = async (user, query) => {
        const response = await fetch(
          `${s.base}/api/v2/feeds/feed_groups/user/follow_suggestions?api_key=${KEY}&${query}`,
          { headers: { authorization: await sign({ user_id: user }), 'stream-auth-type': 'jwt' } },
        )
        return { status: response.status, body: (await response.json()) as { code?: number } }
      }
    })
    after(() => s.close())

    it('suggests the feeds the followed feeds follow, most-followed first, with their data', async () => {
      const answer = await ann.getFollowSuggestions({ feed_group_id: 'user', limit: 10 })
      assert.equal(answer.algorithm_used, 'friends_of_friends')
      assert.deepEqual(
        answer.suggestions.map((f) => [f.feed, f.recommendation_score]),
        [
          ['user:dan', 2],
          ['user:eve', 1],
        ],
      )
      assert.equal(answer.suggestions[0].follower_count, 2)
      assert.equal(answer.suggestions[0].created_by.id, 'dan')
      // The client makes them feeds one can follow.
      assert.deepEqual(
        answer.feeds.map((f) => f.feed),
        ['user:dan', 'user:eve'],
      )
    })

    it('keeps to the limit and to the requested group', async () => {
      const one = await ann.getFollowSuggestions({ feed_group_id: 'user', limit: 1 })
      assert.deepEqual(
        one.suggestions.map((f) => f.feed),
        ['user:dan'],
      )
      const timelines = await ann.getFollowSuggestions({ feed_group_id: 'timeline' })
      assert.deepEqual(
        timelines.suggestions.map((f) => f.feed),
        ['timeline:zed'],
      )
    })

    it('the app asks for a user it names; without one it is refused', async () => {
      const answer = await s.server.feeds.getFollowSuggestions({ feed_group_id: 'user', user_id: 'ann' })
      assert.deepEqual(
        answer.suggestions.map((f) => f.feed),
        ['user:dan', 'user:eve'],
      )
      await assert.rejects(s.server.feeds.getFollowSuggestions({ feed_group_id: 'user' }), /user_id/)
    })

    it("refuses another user's suggestions, a huge limit and an unknown group", async () => {
      assert.equal((await ask('eve', 'user_id=ann')).status, 403)
      const huge = await ask('ann', 'limit=1000000')
      assert.equal(huge.status, 400)
      assert.equal(huge.body.code, 4)
      assert.equal((await ask('ann', 'limit=-1')).status, 400)
      const unknown = await fetch(
        `${s.base}/api/v2/feeds/feed_groups/nope/follow_suggestions?api_key=${KEY}`,
        { headers: { authorization: await sign({ user_id: 'ann' }), 'stream-auth-type': 'jwt' } },
      )
      assert.equal(unknown.status, 400)
    })

    it('never suggests a private feed, a feed already followed, or the caller’s own', async () => {
      const { suggestions } = await s.server.feeds.getFollowSuggestions({
        feed_group_id: 'user',
        user_id: 'ann',
        limit: 100,
      })
      const fids = suggestions.map((f) => f.feed)
      for (const hidden of ['user:pat', 'user:cal', 'user:ann', 'user:bob'])
        assert.ok(!fids.includes(hidden), hidden)
      // pat sees nothing of her own, and her private feed is no one's suggestion.
      const bob = await s.connect('bob')
      await bob.feed('timeline', 'bob').getOrCreate({})
      await s.eddy.feed('timeline', 'dan').follow('user', 'bob')
      const forDan = await s.server.feeds.getFollowSuggestions({ feed_group_id: 'user', user_id: 'dan' })
      assert.ok(!forDan.suggestions.some((f) => f.feed === 'user:pat'))
      assert.deepEqual(forDan.suggestions.map((f) => f.feed).sort(), ['user:ann', 'user:cal', 'user:eve'])
    })
  })
}
