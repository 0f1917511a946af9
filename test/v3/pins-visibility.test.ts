/**
 * Feeds V3 QueryPinnedActivities and ChangeFeedVisibility through @stream-io/feeds-client on every
 * store: a feed's pins filtered, sorted and paged for whoever may read the feed; a feed moved to
 * another visibility level, its pending requests answered and the follows the new level refuses
 * removed; and what other users may not do.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { startV3, type V3Server, v3Stores } from './harness.js'

/** Stream's error of `code` (4 bad input, 17 not allowed). */
const code = (n: number) => (err: Error) => new RegExp(`error code ${n}\\b`).test(err.message)

for (const store of await v3Stores('v3pinsvis')) {
  describe(`Feeds V3 pinned queries and visibility changes (${store.name})`, { skip: store.skip }, () => {
    let s: V3Server
    before(async () => {
      s = await startV3(store)
    })
    after(() => s.close())

    it('queries a feed’s pins: newest first, filtered, sorted, paged; only for who may read the feed', async () => {
      const pia = await s.connect('pia')
      await pia.feed('user', 'pia').getOrCreate({ data: { visibility: 'followers' } })
      const ids: string[] = []
      for (const text of ['a', 'b', 'c']) {
        const { activity } = await pia.addActivity({ feeds: ['user:pia'], type: 'post', text })
        await pia.pinActivity({ feed_group_id: 'user', feed_id: 'pia', activity_id: activity.id })
        ids.push(activity.id)
      }
      const query = (extra: Record<string, unknown> = {}) =>
        pia.queryPinnedActivities({ feed_group_id: 'user', feed_id: 'pia', ...extra })
      const all = await query()
      assert.deepEqual(
        all.pinned_activities.map((p) => p.activity.id),
        ids.toReversed(),
      )
      assert.equal(all.pinned_activities[0].user.id, 'pia')
      const picked = await query({ filter: { activity_id: { $in: [ids[0], ids[2]] } } })
      assert.deepEqual(
        picked.pinned_activities.map((p) => p.activity.id),
        [ids[2], ids[0]],
      )
      const first = await query({ limit: 2, sort: [{ field: 'created_at', direction: 1 }] })
      assert.deepEqual(
        first.pinned_activities.map((p) => p.activity.id),
        ids.slice(0, 2),
      )
      assert.ok(first.next)
      const second = await query({
        limit: 2,
        sort: [{ field: 'created_at', direction: 1 }],
        next: first.next,
      })
      assert.deepEqual(
        second.pinned_activities.map((p) => p.activity.id),
        [ids[2]],
      )
      assert.equal(second.next, undefined)
      await assert.rejects(query({ filter: { text: 'a' } }), code(4))
      await assert.rejects(query({ next: 'forged' }), code(4))
      await assert.rejects(query({ limit: 1000 }), code(4))
      // A followers feed: someone who does not follow it reads none of its pins.
      const quinn = await s.connect('quinn')
      await assert.rejects(quinn.queryPinnedActivities({ feed_group_id: 'user', feed_id: 'pia' }), code(17))
    })

    it('never shows another user’s private activity among a feed’s pins (attacker: a reader of the feed)', async () => {
      const uma = await s.connect('uma')
      const wes = await s.connect('wes')
      await uma.feed('user', 'uma').getOrCreate({ data: { visibility: 'public' } })
      const { activity } = await uma.addActivity({
        feeds: ['user:uma'],
        type: 'post',
        text: 'only mine',
        visibility: 'private',
      })
      await uma.pinActivity({ feed_group_id: 'user', feed_id: 'uma', activity_id: activity.id })
      const own = await uma.feed('user', 'uma').getOrCreate()
      assert.deepEqual(
        own.pinned_activities.map((p) => p.activity.id),
        [activity.id],
      )
      const read = await wes.feed('user', 'uma').getOrCreate()
      assert.deepEqual(read.activities, [], 'the page leaves it out')
      assert.deepEqual(read.pinned_activities, [], 'and so do its pins')
      const queried = await wes.queryPinnedActivities({ feed_group_id: 'user', feed_id: 'uma' })
      assert.deepEqual(queried.pinned_activities, [])
    })

    it('changes a feed’s visibility: requests approved or rejected as asked, refused follows removed', async () => {
      const rae = await s.connect('rae')
      const sam = await s.connect('sam')
      const tia = await s.connect('tia')
      await rae.feed('user', 'rae').getOrCreate({ data: { visibility: 'followers' } })
      const { activity } = await rae.addActivity({ feeds: ['user:rae'], type: 'post', text: 'hi' })
      await rae.feed('timeline', 'rae').getOrCreate()
      await rae.follow({ source: 'timeline:rae', target: 'user:rae' })
      for (const [client, id] of [
        [sam, 'sam'],
        [tia, 'tia'],
      ] as const) {
        await client.feed('timeline', id).getOrCreate()
        const { follow } = await client.follow({ source: `timeline:${id}`, target: 'user:rae' })
        assert.equal(follow.status, 'pending')
      }
      // Only the owner changes it.
      await assert.rejects(
        sam.changeFeedVisibility({ feed_group_id: 'user', feed_id: 'rae', visibility: 'public' }),
        code(17),
      )
      await assert.rejects(
        rae.changeFeedVisibility({ feed_group_id: 'user', feed_id: 'rae', visibility: 'open' as never }),
        code(4),
      )
      const { feed } = await rae.changeFeedVisibility({
        feed_group_id: 'user',
        feed_id: 'rae',
        visibility: 'public',
      })
      assert.equal(feed.visibility, 'public')
      const followers = async () =>
        (await s.eddy.feed('user', 'rae').followers()).results.map((r) => r.feed_id).sort()
      assert.deepEqual(await followers(), ['timeline:rae', 'timeline:sam', 'timeline:tia'])
      const timeline = async (id: string) =>
        (await sam.feed('timeline', id).getOrCreate()).activities.map((a) => a.id)
      assert.deepEqual(await timeline('sam'), [activity.id])

      // Private: only the owner's own follow stays; the others lose what came through theirs.
      await rae.changeFeedVisibility({ feed_group_id: 'user', feed_id: 'rae', visibility: 'private' })
      assert.deepEqual(await followers(), ['timeline:rae'])
      assert.deepEqual(await timeline('sam'), [])
      await assert.rejects(sam.follow({ source: 'timeline:sam', target: 'user:rae' }), code(17))
    })

    it('rejects pending requests when asked, and when a followers feed turns private', async () => {
      const uma = await s.connect('uma')
      const vic = await s.connect('vic')
      for (const id of ['uma-a', 'uma-b'])
        await uma.feed('user', id).getOrCreate({ data: { visibility: 'followers' } })
      await vic.feed('timeline', 'vic').getOrCreate()
      await vic.follow({ source: 'timeline:vic', target: 'user:uma-a' })
      await vic.follow({ source: 'timeline:vic', target: 'user:uma-b' })
      await uma.changeFeedVisibility({
        feed_group_id: 'user',
        feed_id: 'uma-a',
        visibility: 'visible',
        pending_follows_action: 'reject',
      })
      await uma.changeFeedVisibility({ feed_group_id: 'user', feed_id: 'uma-b', visibility: 'private' })
      for (const target of ['user:uma-a', 'user:uma-b']) {
        const { follows } = await s.server.feeds.queryFollows({
          filter: {
            source_feed: 'timeline:vic',
            target_feed: { $in: [target] },
            status: { $in: ['pending'] },
          },
        })
        assert.deepEqual(follows, [], target)
      }
      const following = await s.eddy.feed('timeline', 'vic').following()
      assert.deepEqual(following.results, [])
    })
  })
}
