/**
 * Feeds V3 notification activities are their feed owner's, on every by-id path: another user who
 * holds a notification activity's id (even the user whose action it reports) cannot get, upsert,
 * update, react to, comment on, bookmark or query it, nor watch or follow the notification feed,
 * whether the feed has V3 data or not. The owner still reads it. On every store.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import type { FeedsClient } from '@stream-io/feeds-client'
import { startV3, type V3Server, v3Stores } from './harness.js'

/** Resolves with the V3 error a refused call answers (fails when the call succeeds). */
async function refused(call: Promise<unknown>): Promise<{ code: number }> {
  try {
    await call
  } catch (err) {
    return { code: (err as { code?: number }).code ?? -1 }
  }
  assert.fail('the call was allowed')
}

for (const store of await v3Stores('v3notifpriv')) {
  describe(`Feeds V3 notification activities stay their owner's (${store.name})`, {
    skip: store.skip,
  }, () => {
    let s: V3Server
    let ann: FeedsClient
    let bob: FeedsClient
    /** A notification of ann's by carol, in a notification feed that has no V3 data. */
    let bare: string
    /** A notification of ann's whose actor is bob, in a notification feed ann created. */
    let byBob: string
    before(async () => {
      s = await startV3(store)
      ann = await s.connect('ann')
      bob = await s.connect('bob')
      await s.server.upsertUsers([{ id: 'carol' }])
      bare = (
        await s.server.feeds.addActivity({
          feeds: ['notification:ann'],
          type: 'like',
          text: 'carol liked your post',
          user_id: 'carol',
        })
      ).activity.id
      await s.server.feeds.getOrCreateFeed({ feed_group_id: 'notification', feed_id: 'ann', user_id: 'ann' })
      byBob = (
        await s.server.feeds.addActivity({
          feeds: ['notification:ann'],
          type: 'follow',
          text: 'bob followed you',
          user_id: 'bob',
        })
      ).activity.id
    })
    after(() => s.close())

    it('refuses GetActivity of another user’s notification, with or without feed data, even to its actor', async () => {
      for (const id of [bare, byBob]) {
        assert.equal((await refused(bob.getActivity({ id }))).code, 17)
      }
      assert.equal((await ann.getActivity({ id: bare })).activity.text, 'carol liked your post')
      assert.equal((await ann.getActivity({ id: byBob })).activity.text, 'bob followed you')
    })

    it('refuses reactions, comments and bookmarks on it, and their lists', async () => {
      for (const id of [bare, byBob]) {
        const attempts = [
          () => bob.addActivityReaction({ activity_id: id, type: 'like' }),
          () => bob.queryActivityReactions({ activity_id: id }),
          () => bob.addComment({ object_id: id, object_type: 'activity', comment: 'peek' }),
          () => bob.getComments({ object_id: id, object_type: 'activity' }),
          () => bob.addBookmark({ activity_id: id }),
        ]
        for (const attempt of attempts) assert.equal((await refused(attempt())).code, 17)
      }
      const own = await ann.getActivity({ id: bare })
      assert.equal(own.activity.reaction_count, 0)
      assert.equal(own.activity.comment_count, 0)
    })

    it('refuses upserting or updating it, even as its actor, and changes nothing', async () => {
      const attempts = [
        () =>
          bob.upsertActivities({
            activities: [{ id: byBob, type: 'follow', feeds: ['notification:ann'], text: 'x' }],
          }),
        () => bob.updateActivity({ id: byBob, text: 'x' }),
        () => bob.updateActivity({ id: byBob, feeds: ['user:bob'] } as never),
        () => bob.upsertActivities({ activities: [{ id: byBob, type: 'follow', feeds: ['user:bob'] }] }),
        () => bob.updateActivityPartial({ id: byBob, set: { text: 'x' } }),
      ]
      for (const attempt of attempts) assert.equal((await refused(attempt())).code, 17)
      assert.equal((await ann.getActivity({ id: byBob })).activity.text, 'bob followed you')
    })

    it('finds nothing of it through QueryActivities', async () => {
      for (const filter of [
        { id: bare },
        { feed: 'notification:ann' },
        { feed: 'notification:ann', id: byBob },
      ]) {
        const page = await bob.queryActivities({ filter }).catch(() => ({ activities: [] }))
        assert.deepEqual(page.activities, [], JSON.stringify(filter))
      }
    })

    it('refuses reading or watching the notification feed over HTTP and the WebSocket, and following it', async () => {
      const feed = bob.feed('notification', 'ann')
      assert.equal((await refused(feed.getOrCreate({ watch: true }))).code, 17)
      const timeline = await bob.feed('timeline', 'bob').getOrCreate()
      assert.ok(timeline.feed)
      assert.equal((await refused(bob.feed('timeline', 'bob').follow('notification:ann'))).code, 17)
      const page = await ann.feed('notification', 'ann').getOrCreate({ limit: 10 })
      assert.ok(page.feed.own_capabilities?.includes('read-feed'))
    })

    it('refuses GetActivity of a notification of a feed group defined through V3', async () => {
      await s.server.feeds.getOrCreateFeedGroup({
        id: 'alerts',
        default_visibility: 'public',
        notification: { track_seen: true, track_read: true },
        aggregation: { format: '{{ type }}' },
      })
      const id = (
        await s.server.feeds.addActivity({
          feeds: ['alerts:ann'],
          type: 'alert',
          text: 'psst',
          user_id: 'carol',
        })
      ).activity.id
      assert.equal((await refused(bob.getActivity({ id }))).code, 17)
      assert.equal((await ann.getActivity({ id })).activity.text, 'psst')
    })
  })
}
