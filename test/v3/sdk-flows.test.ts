/**
 * Feeds V3 through Stream's own SDKs from npm (@stream-io/feeds-client, @stream-io/node-sdk)
 * against `eddy serve`'s app, on every store: connect, users, feeds, activities, follows, the
 * WebSocket's events, and V1 and V3 seeing the same data.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { nextEvent, startV3, type V3Server, v3Stores } from './harness.js'

for (const store of await v3Stores('v3flows')) {
  describe(`Feeds V3 SDK flows (${store.name})`, { skip: store.skip }, () => {
    let s: V3Server
    before(async () => {
      s = await startV3(store)
    })
    after(() => s.close())

    it('connects over the WebSocket: connection.ok carries the user, created from user_details', async () => {
      const client = await s.connect('ann', 'Ann')
      const me = client.state.getLatestValue().connected_user
      assert.equal(me?.id, 'ann')
      assert.equal(me?.name, 'Ann')
      const { users } = await s.server.queryUsers({
        payload: { filter_conditions: { id: { $in: ['ann'] } } },
      })
      assert.deepEqual(
        users.map((u) => [u.id, u.name]),
        [['ann', 'Ann']],
      )
    })

    it('creates a feed with getOrCreate, reads it back, updates and deletes it', async () => {
      const client = await s.connect('bea')
      const feed = client.feed('user', 'bea-posts')
      const created = await feed.getOrCreate({
        data: { name: 'Posts', visibility: 'public', custom: { color: 'red' } },
      })
      assert.equal(created.feed.feed, 'user:bea-posts')
      assert.equal(created.feed.created_by.id, 'bea')
      assert.ok(created.feed.created_at instanceof Date)
      assert.ok(created.feed.own_capabilities?.includes('add-activity'))
      await feed.update({ name: 'Renamed' })
      assert.equal(feed.currentState.name, 'Renamed')
      const again = await client.feed('user', 'bea-posts').getOrCreate({})
      assert.equal(again.feed.name, 'Renamed')
      assert.deepEqual(again.feed.custom, { color: 'red' })
      await feed.delete()
      assert.ok(feed.currentState.deleted_at instanceof Date)
    })

    it('adds, reads, pages and deletes activities; a follower timeline gets them by fan-out', async () => {
      const client = await s.connect('cid')
      const posts = client.feed('user', 'cid')
      await posts.getOrCreate({})
      const ids: string[] = []
      for (const text of ['one', 'two', 'three']) {
        const { activity } = await client.addActivity({
          feeds: [posts.feed],
          type: 'post',
          text,
          custom: { n: text },
        })
        ids.push(activity.id)
      }
      const page1 = await client.feed('user', 'cid').getOrCreate({ limit: 2 })
      assert.deepEqual(
        page1.activities.map((a) => a.text),
        ['three', 'two'],
      )
      assert.equal(page1.activities[0].user.id, 'cid')
      assert.deepEqual(page1.activities[0].custom, { n: 'three' })
      assert.ok(page1.next)
      const page2 = await client.feed('user', 'cid').getOrCreate({ limit: 2, next: page1.next })
      assert.deepEqual(
        page2.activities.map((a) => a.text),
        ['one'],
      )
      assert.equal(page2.next, undefined)

      const { activity } = await client.getActivity({ id: ids[0] })
      assert.equal(activity.text, 'one')

      const timeline = client.feed('timeline', 'cid')
      await timeline.getOrCreate({})
      await client.follow({ source: timeline.feed, target: posts.feed })
      await s.eddy.flush()
      const tl = await client.feed('timeline', 'cid').getOrCreate({})
      assert.deepEqual(
        tl.activities.map((a) => a.text),
        ['three', 'two', 'one'],
      )
      assert.equal(tl.following.length, 1)

      await client.deleteActivity({ id: ids[2] })
      await s.eddy.flush()
      const after = await client.feed('timeline', 'cid').getOrCreate({})
      assert.deepEqual(
        after.activities.map((a) => a.text),
        ['two', 'one'],
      )
      await client.unfollow({ source: timeline.feed, target: posts.feed })
      await s.eddy.flush()
      assert.equal((await client.feed('timeline', 'cid').getOrCreate({})).activities.length, 0)
    })

    it('keeps an activity’s own id; the server SDK adds as a user', async () => {
      const feed = s.server.feeds.feed('user', 'dan')
      await feed.getOrCreate({ user_id: 'dan' })
      const added = await s.server.feeds.addActivity({
        id: 'my-id-1',
        user_id: 'dan',
        feeds: ['user:dan'],
        type: 'post',
        text: 'x',
      })
      assert.equal(added.activity.id, 'my-id-1')
      assert.equal((await s.server.feeds.getActivity({ id: 'my-id-1' })).activity.text, 'x')
      await s.server.feeds.deleteActivity({ id: 'my-id-1' })
      await assert.rejects(s.server.feeds.getActivity({ id: 'my-id-1' }), /404|does not exist/)
    })

    it('sends feeds.activity.added to a watching client, also for adds by others', async () => {
      const eve = await s.connect('eve')
      const feed = eve.feed('user', 'eve')
      await feed.getOrCreate({ watch: true })
      const event = nextEvent<{ activity: { text?: string } }>(feed as never, 'feeds.activity.added')
      await s.server.feeds.addActivity({ user_id: 'eve', feeds: ['user:eve'], type: 'post', text: 'live' })
      assert.equal((await event).activity.text, 'live')
      assert.deepEqual(
        feed.state.getLatestValue().activities?.map((a) => a.text),
        ['live'],
      )
    })

    it('sends feeds.activity.updated and feeds.follow.created/deleted to watchers', async () => {
      const max = await s.connect('max')
      const feed = max.feed('user', 'max')
      await feed.getOrCreate({ watch: true })
      const { activity } = await max.addActivity({ feeds: [feed.feed], type: 'post', text: 'v1' })
      const updated = nextEvent<{ activity: { text?: string } }>(feed as never, 'feeds.activity.updated')
      await max.updateActivityPartial({ id: activity.id, set: { text: 'v2' } })
      assert.equal((await updated).activity.text, 'v2')
      const timeline = max.feed('timeline', 'max')
      await timeline.getOrCreate({ watch: true })
      const followed = nextEvent<{ follow: { source_feed: { feed: string } } }>(
        feed as never,
        'feeds.follow.created',
      )
      await max.follow({ source: timeline.feed, target: feed.feed })
      assert.equal((await followed).follow.source_feed.feed, 'timeline:max')
      const unfollowed = nextEvent(feed as never, 'feeds.follow.deleted')
      await max.unfollow({ source: timeline.feed, target: feed.feed })
      await unfollowed
    })

    it('V1 and V3 see the same activities and users', async () => {
      const v1 = s.eddy.feed('user', 'fay')
      await v1.addActivity({ actor: 'SU:fay', verb: 'post', object: 'thing:1', text: 'from v1', mood: 'ok' })
      const { activities } = await s.server.feeds.feed('user', 'fay').getOrCreate({ user_id: 'fay' })
      assert.equal(activities[0].text, 'from v1')
      assert.equal(activities[0].type, 'post')
      assert.equal(activities[0].user.id, 'fay')
      assert.deepEqual(activities[0].custom, { mood: 'ok' })
      await s.server.feeds.addActivity({ user_id: 'fay', feeds: ['user:fay'], type: 'like', text: 'from v3' })
      const results = (await v1.get({ limit: 5 })).results as Record<string, unknown>[]
      assert.equal(results[0].verb, 'like')
      assert.equal(results[0].actor, 'SU:fay')
      assert.equal(results[0].text, 'from v3')
    })

    it('keeps custom fields named like an activity’s own (duration, text, id) apart from them', async () => {
      const kim = await s.connect('kim')
      const feed = kim.feed('user', 'kim')
      await feed.getOrCreate()
      const custom = { duration: 1800, text: 'custom text', id: 'c1', distance: 5.2 }
      const { activity } = await kim.addActivity({ feeds: [feed.feed], type: 'workout', text: 'run', custom })
      assert.equal(activity.text, 'run')
      assert.deepEqual(activity.custom, custom)
      const { activities } = await feed.getOrCreate()
      assert.deepEqual(activities[0].custom, custom)
      // A partial update adds to the escaped fields and unsets one without touching the others.
      const changed = await kim.updateActivityPartial({
        id: activity.id,
        set: { custom: { id: 'c2' } },
        unset: ['custom.duration'],
      })
      assert.deepEqual(changed.activity.custom, { text: 'custom text', id: 'c2', distance: 5.2 })
      assert.equal(changed.activity.id, activity.id)
      assert.equal(changed.activity.text, 'run')
      // V1 sees the escaped fields under v3_custom, its own fields untouched.
      const v1 = (await s.eddy.feed('user', 'kim').get({ limit: 1 })).results[0] as Record<string, unknown>
      assert.equal(v1.text, 'run')
      assert.deepEqual(v1.v3_custom, { text: 'custom text', id: 'c2' })
      assert.equal(v1.distance, 5.2)
    })

    it('answers unsupported parts with a clear V3 error', async () => {
      const response = await fetch(`${s.base}/api/v2/devices?api_key=v3-key`, { method: 'GET' })
      assert.equal(response.status, 501)
      const body = (await response.json()) as { message: string; StatusCode: number }
      assert.match(body.message, /push notifications is not supported by this server/)
      assert.equal(body.StatusCode, 501)
    })
  })
}
