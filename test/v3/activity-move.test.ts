/**
 * Feeds V3: moving an activity between feeds with UpsertActivities and UpdateActivity, through
 * Stream's SDKs on every store. It leaves the feeds it is taken off (the one it was first added
 * to included) and its followers' copies, stays in the others, and the watchers of a feed it left
 * hear feeds.activity.removed_from_feed. Only the author (or the app) moves it, only into its own feeds.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { nextEvent, startV3, type V3Server, v3Stores } from './harness.js'

/** Stream's "not allowed" error (code 17). */
const refused = (err: Error) => /error code 17\b/.test(err.message)

for (const store of await v3Stores('v3move')) {
  describe(`Feeds V3 activity moves (${store.name})`, { skip: store.skip }, () => {
    let s: V3Server
    before(async () => {
      s = await startV3(store)
    })
    after(() => s.close())

    const ids = async (fid: string) => {
      const [group, id] = fid.split(':')
      const res = await s.server.feeds.getOrCreateFeed({ feed_group_id: group, feed_id: id, user_id: 'ann' })
      return res.activities.map((a) => a.id)
    }

    it('upsert with other feeds takes it off its first feed and the followers of that feed, keeps it in the rest', async () => {
      const ann = await s.connect('ann')
      const home = ann.feed('user', 'ann')
      const other = ann.feed('user', 'ann-other')
      await home.getOrCreate({ watch: true })
      await other.getOrCreate({})
      const tom = await s.connect('tom')
      const timeline = tom.feed('timeline', 'tom')
      await timeline.getOrCreate({})
      await tom.follow({ source: timeline.feed, target: home.feed })
      const { activity } = await ann.addActivity({ feeds: [home.feed, other.feed], type: 'post', text: 'hi' })
      await s.eddy.flush()
      assert.ok((await ids(timeline.feed)).includes(activity.id))

      const removed = nextEvent<{ fid: string; activity: { id: string } }>(
        home as never,
        'feeds.activity.removed_from_feed',
      )
      const { activities } = await ann.upsertActivities({
        activities: [{ id: activity.id, feeds: [other.feed], type: 'post', text: 'moved' }],
      })
      assert.equal(activities.length, 1)
      assert.deepEqual(activities[0].feeds, [other.feed])
      const event = await removed
      assert.equal(event.fid, home.feed)
      assert.equal(event.activity.id, activity.id)
      assert.equal(
        home.currentState.activities?.some((a) => a.id === activity.id),
        false,
      )

      await s.eddy.flush()
      assert.equal((await ids(home.feed)).includes(activity.id), false)
      assert.equal((await ids(timeline.feed)).includes(activity.id), false)
      assert.deepEqual(await ids(other.feed), [activity.id])
      const read = await ann.getActivity({ id: activity.id })
      assert.equal(read.activity.text, 'moved')
      assert.deepEqual(read.activity.feeds, [other.feed])
      // Deleting it afterwards finds it in the feed it is in now.
      await ann.deleteActivity({ id: activity.id })
      assert.deepEqual(await ids(other.feed), [])
    })

    it('UpdateActivity with feeds moves it into another own feed, and the follower of that feed gets it', async () => {
      const ann = await s.connect('ann')
      const a = ann.feed('user', 'ann-a')
      const b = ann.feed('user', 'ann-b')
      await a.getOrCreate({})
      await b.getOrCreate({})
      const uma = await s.connect('uma')
      const timeline = uma.feed('timeline', 'uma')
      await timeline.getOrCreate({})
      await uma.follow({ source: timeline.feed, target: b.feed })
      const { activity } = await ann.addActivity({ feeds: [a.feed], type: 'post', text: 'x' })
      await ann.updateActivity({ id: activity.id, feeds: [b.feed], text: 'y' } as never)
      await s.eddy.flush()
      assert.deepEqual(await ids(a.feed), [])
      assert.deepEqual(await ids(b.feed), [activity.id])
      assert.deepEqual(await ids(timeline.feed), [activity.id])
    })

    it("refuses another user's move, a move into another user's feed, and a V1 activity's move; nothing changes", async () => {
      const ann = await s.connect('ann')
      const mine = ann.feed('user', 'ann-c')
      await mine.getOrCreate({})
      const bob = await s.connect('bob')
      const bobs = bob.feed('user', 'bob')
      await bobs.getOrCreate({})
      const { activity } = await ann.addActivity({ feeds: [mine.feed], type: 'post', text: 'mine' })

      await assert.rejects(
        bob.upsertActivities({ activities: [{ id: activity.id, feeds: [bobs.feed], type: 'post' }] }),
        refused,
      )
      await assert.rejects(bob.updateActivity({ id: activity.id, feeds: [bobs.feed] } as never), refused)
      await assert.rejects(
        ann.upsertActivities({ activities: [{ id: activity.id, feeds: [bobs.feed], type: 'post' }] }),
        refused,
      )
      await assert.rejects(
        ann.upsertActivities({
          activities: [
            { id: activity.id, feeds: Array.from({ length: 26 }, (_, i) => `user:ann-${i}`), type: 'post' },
          ],
        }),
        (err: Error) => /feeds must list/.test(err.message),
      )
      assert.deepEqual(await ids(mine.feed), [activity.id])
      assert.deepEqual(await ids(bobs.feed), [])
      const read = await ann.getActivity({ id: activity.id })
      assert.equal(read.activity.text, 'mine')

      const v1 = await s.eddy
        .feed('user', 'ann-c')
        .addActivity({ actor: 'SU:ann', verb: 'post', object: 'o' })
      await assert.rejects(
        ann.upsertActivities({ activities: [{ id: v1.id, feeds: [bobs.feed], type: 'post' }] }),
        refused,
      )
      await assert.rejects(
        s.server.feeds.upsertActivities({
          activities: [{ id: v1.id, feeds: ['user:ann-d'], type: 'post', user_id: 'ann' }],
        }),
        (err: Error) => /added through V1/.test(err.message),
      )
      assert.ok((await ids(mine.feed)).includes(v1.id))
    })
  })
}
