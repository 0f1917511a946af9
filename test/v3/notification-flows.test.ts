/**
 * Feeds V3 notification and aggregated feeds through @stream-io/feeds-client and node-sdk against
 * `eddy serve`'s app, on every store: automatic notification activities, grouped pages with
 * cursors, notification_status, MarkActivity and its realtime event, feed groups defined through
 * V3 (aggregated, and flat notification groups), filters; V1 sees the same groups and marks. The
 * attacker cases: other users' notification feeds, feed groups without the app's token, bad marks.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import type { Feed, FeedsClient, NotificationFeedUpdatedEvent, WSEvent } from '@stream-io/feeds-client'
import { nextEvent, startV3, type V3Server, v3Stores } from './harness.js'

/** The next `feeds.notification_feed.updated` event of `feed`. */
const updatedEvent = async (feed: Feed) =>
  (await nextEvent<WSEvent>(feed, 'feeds.notification_feed.updated')) as NotificationFeedUpdatedEvent

/** The first `feeds.notification_feed.updated` event of `feed` that `wanted` accepts (earlier adds' may come late). */
const updatedWhere = (feed: Feed, wanted: (e: NotificationFeedUpdatedEvent) => boolean) =>
  new Promise<NotificationFeedUpdatedEvent>((resolve, reject) => {
    const timer = setTimeout(() => {
      off()
      reject(new Error('no matching feeds.notification_feed.updated within 5 s'))
    }, 5000)
    const off = feed.on('feeds.notification_feed.updated', (e) => {
      if (!wanted(e as NotificationFeedUpdatedEvent)) return
      clearTimeout(timer)
      off()
      resolve(e as NotificationFeedUpdatedEvent)
    })
  })

for (const store of await v3Stores('v3notif')) {
  describe(`Feeds V3 notification and aggregated feeds (${store.name})`, { skip: store.skip }, () => {
    let s: V3Server
    let ann: FeedsClient
    let bob: FeedsClient
    let postId: string
    before(async () => {
      s = await startV3(store)
      ann = await s.connect('ann')
      bob = await s.connect('bob')
      await ann.feed('user', 'ann').getOrCreate({ data: { visibility: 'public' } })
      await bob.feed('timeline', 'bob').getOrCreate()
      postId = (await ann.feed('user', 'ann').addActivity({ type: 'post', text: 'hello' })).activity.id
    })
    after(() => s.close())

    it('notifies a feed owner of follows, reactions and comments, one group per type, live and on reads', async () => {
      const inbox = ann.feed('notification', 'ann')
      await inbox.getOrCreate({ watch: true })
      assert.deepEqual(inbox.currentState.aggregated_activities, [])
      const updated = updatedEvent(inbox)
      await bob.feed('timeline', 'bob').follow('user:ann', { create_notification_activity: true })
      const event = await updated
      assert.equal(event.notification_status?.unseen, 1)
      assert.equal(event.aggregated_activities?.[0].activities[0].type, 'follow')
      await bob.addActivityReaction({ activity_id: postId, type: 'like', create_notification_activity: true })
      const { comment } = await bob.addComment({
        object_id: postId,
        object_type: 'activity',
        comment: 'nice',
        create_notification_activity: true,
      })
      // Ann's own reaction notifies nobody.
      await ann.addActivityReaction({
        activity_id: postId,
        type: 'heart',
        create_notification_activity: true,
      })
      const page = await inbox.getOrCreate({ limit: 10 })
      assert.deepEqual(
        page.aggregated_activities.map((g) => g.activities[0].type),
        ['comment', 'reaction', 'follow'],
      )
      const first = page.aggregated_activities[2]
      assert.equal(first.activity_count, 1)
      assert.equal(first.user_count, 1)
      assert.equal(first.is_seen, false)
      assert.equal(first.activities[0].user.id, 'bob')
      assert.equal(first.activities[0].notification_context?.trigger?.type, 'follow')
      assert.equal(page.notification_status?.unread, 3)
      assert.equal(page.notification_status?.read_activities, undefined)
      // V1 reads the same groups: a V3 group is the engine group of the same id.
      const v1 = (await s.eddy.feed('notification', 'ann').get()) as unknown as {
        results: { id: string }[]
        unseen: number
      }
      assert.deepEqual(
        v1.results.map((g) => g.id),
        page.aggregated_activities.map((g) => g.group),
      )
      assert.equal(v1.unseen, 3)
      // Bob's reaction on Ann's comment's reply chain: a comment reaction notifies the comment's author.
      const carl = await s.connect('carl')
      await carl.addCommentReaction({ id: comment.id, type: 'like', create_notification_activity: true })
      const bobs = await s.server.feeds.feed('notification', 'bob').getOrCreate({ user_id: 'bob' })
      assert.equal(bobs.aggregated_activities[0]?.activities[0]?.type, 'comment_reaction')
    })

    it('pages groups with next and prev cursors and marks them seen and read, live and for V1', async () => {
      const fid = `pages-${store.name.replace(/\W/g, '')}`
      const feed = ann.feed('notification', fid)
      await feed.getOrCreate({ watch: true })
      await s.server.feeds.upsertActivities({
        activities: [1, 2, 3].map((i) => ({ type: `t${i}`, feeds: [`notification:${fid}`], user_id: 'ann' })),
      })
      const one = await feed.getOrCreate({ limit: 2 })
      assert.equal(one.aggregated_activities.length, 2)
      assert.ok(one.next)
      const two = await s.server.feeds.feed('notification', fid).getOrCreate({ limit: 2, next: one.next })
      assert.deepEqual(
        two.aggregated_activities.map((g) => g.activities[0].type),
        ['t1'],
      )
      assert.equal(two.next, undefined)
      assert.ok(two.prev)
      const marked = updatedWhere(feed, (e) => e.notification_status?.seen_activities !== undefined)
      const groups = one.aggregated_activities.map((g) => g.group)
      await feed.markActivity({ mark_seen: groups, mark_read: [groups[0]] })
      const status = (await marked).notification_status
      assert.equal(status?.unseen, 1)
      assert.equal(status?.unread, 2)
      assert.deepEqual(new Set(status?.seen_activities), new Set(groups))
      assert.deepEqual(status?.read_activities, [groups[0]])
      const v1 = (await s.eddy.feed('notification', fid).get()) as unknown as {
        results: { id: string; is_seen: boolean; is_read: boolean }[]
      }
      assert.deepEqual(
        v1.results.map((g) => [g.is_seen, g.is_read]),
        [
          [true, true],
          [true, false],
          [false, false],
        ],
      )
      await feed.markActivity({ mark_all_read: true, mark_all_seen: true })
      const after = (await feed.getOrCreate()).notification_status
      assert.equal(after?.unread, 0)
      assert.equal(after?.unseen, 0)
      assert.ok(after?.last_read_at instanceof Date)
      assert.ok(after?.last_seen_at instanceof Date)
      // A V1 add makes its group unseen again (the engine's rule G2), which V3 shows.
      await s.eddy.feed('notification', fid).addActivity({ actor: 'SU:ann', verb: 't1', object: 'x' })
      assert.equal((await feed.getOrCreate()).notification_status?.unseen, 1)
    })

    it('defines feed groups: aggregated by a format, and flat notification groups read as activities', async () => {
      const made = await s.server.feeds.getOrCreateFeedGroup({
        id: 'by-type',
        aggregation: { format: '{{ type }}' },
      })
      assert.equal(made.was_created, true)
      assert.equal(made.feed_group.aggregation?.format, '{{ type }}')
      assert.equal(
        (
          await s.server.feeds.getOrCreateFeedGroup({
            id: 'by-type',
            aggregation: { format: '{{ user_id }}' },
          })
        ).was_created,
        false,
      )
      await ann.feed('by-type', 'ann').getOrCreate()
      for (const type of ['a', 'b', 'a'])
        await s.server.feeds.addActivity({ type, feeds: ['by-type:ann'], user_id: 'ann' })
      const agg = await ann.feed('by-type', 'ann').getOrCreate()
      assert.deepEqual(
        agg.aggregated_activities.map((g) => [g.activities[0].type, g.activity_count]),
        [
          ['a', 2],
          ['b', 1],
        ],
      )
      assert.equal(agg.notification_status, undefined)

      await s.server.feeds.getOrCreateFeedGroup({
        id: 'flat-alerts',
        notification: { track_read: true, track_seen: true },
      })
      assert.deepEqual((await s.server.feeds.getFeedGroup({ id: 'flat-alerts' })).feed_group.notification, {
        track_read: true,
        track_seen: true,
      })
      const alerts = ann.feed('flat-alerts', 'ann')
      await alerts.getOrCreate({ watch: true })
      const live = updatedEvent(alerts)
      const ids: string[] = []
      for (const type of ['x', 'x'])
        ids.push(
          (await s.server.feeds.addActivity({ type, feeds: ['flat-alerts:ann'], user_id: 'bob' })).activity
            .id,
        )
      assert.ok(((await live).notification_status?.unseen ?? 0) >= 1)
      const page = await alerts.getOrCreate()
      assert.deepEqual(
        page.activities.map((a) => a.id),
        ids.toReversed(),
      )
      assert.deepEqual(
        page.activities.map((a) => a.is_read),
        [false, false],
      )
      await alerts.markActivity({ mark_read: [ids[0]] })
      const read = await alerts.getOrCreate()
      assert.equal(read.notification_status?.unread, 1)
      assert.deepEqual(read.notification_status?.read_activities, [ids[0]])
      assert.deepEqual(
        read.activities.map((a) => a.is_read),
        [false, true],
      )
    })

    it('filters a grouped read by filter_tags and activity_type', async () => {
      const fid = `filter-${store.name.replace(/\W/g, '')}`
      await ann.feed('notification', fid).getOrCreate()
      for (const [type, tags] of [
        ['post', ['blue']],
        ['comment', ['red']],
        ['like', ['blue', 'red']],
      ] as const)
        await s.server.feeds.addActivity({
          type,
          feeds: [`notification:${fid}`],
          user_id: 'ann',
          filter_tags: [...tags],
        })
      const blue = await ann.feed('notification', fid).getOrCreate({ filter: { filter_tags: ['blue'] } })
      assert.deepEqual(
        blue.aggregated_activities.map((g) => g.activities[0].type),
        ['like', 'post'],
      )
      const typed = await ann
        .feed('notification', fid)
        .getOrCreate({ filter: { activity_type: { $in: ['comment'] } } })
      assert.deepEqual(
        typed.aggregated_activities.map((g) => g.activities[0].type),
        ['comment'],
      )
      await assert.rejects(
        ann.feed('notification', fid).getOrCreate({ filter: { text: 'x' } }),
        /not supported/,
      )
    })

    it('refuses other users, anonymous callers and user tokens on notification feeds and feed groups', async () => {
      const eve = await s.connect('eve')
      // Ann's notification feed: Eve may neither read nor mark it.
      await assert.rejects(eve.feed('notification', 'ann').getOrCreate(), /403|17/)
      await assert.rejects(eve.feed('notification', 'ann').markActivity({ mark_all_read: true }), /403|17/)
      await assert.rejects(eve.feed('flat-alerts', 'ann').markActivity({ mark_all_seen: true }), /403|17/)
      assert.notEqual((await ann.feed('notification', 'ann').getOrCreate()).notification_status?.unread, 0)
      // A group's default visibility holds for its new feeds: Ann's diary is hers alone.
      await s.server.feeds.getOrCreateFeedGroup({ id: 'diary', default_visibility: 'private' })
      assert.equal((await ann.feed('diary', 'ann').getOrCreate()).feed.visibility, 'private')
      await assert.rejects(eve.feed('diary', 'ann').getOrCreate(), /403|17/)
      const raw = (path: string, auth: string, body: unknown, token?: string) =>
        fetch(`${s.base}/api/v2/${path}?api_key=v3-key`, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'stream-auth-type': auth,
            ...(token ? { authorization: token } : {}),
          },
          body: JSON.stringify(body),
        })
      const mark = 'feeds/feed_groups/notification/feeds/ann/activities/mark/batch'
      assert.equal((await raw(mark, 'anonymous', { mark_all_read: true })).status, 403)
      const eveToken = s.server.generateUserToken({ user_id: 'eve' })
      const annToken = s.server.generateUserToken({ user_id: 'ann' })
      // Feed groups are the app's: a user token defines none.
      assert.equal((await raw('feeds/feed_groups/mine', 'jwt', {}, eveToken)).status, 403)
      assert.equal(s.eddy.engine.groups.has('mine'), false)
      // Bounded, typed marks; stories' mark_watched is not served.
      const many = Array.from({ length: 101 }, () => crypto.randomUUID())
      assert.equal((await raw(mark, 'jwt', { mark_read: many }, annToken)).status, 400)
      assert.equal((await raw(mark, 'jwt', { mark_all_read: 'yes' }, annToken)).status, 400)
      assert.equal((await raw(mark, 'jwt', { mark_watched: [many[0]] }, annToken)).status, 501)
      // Marks on a feed that tracks nothing are refused, not ignored.
      const flat = 'feeds/feed_groups/user/feeds/ann/activities/mark/batch'
      assert.equal((await raw(flat, 'jwt', { mark_all_read: true }, annToken)).status, 400)
    })
  })
}
