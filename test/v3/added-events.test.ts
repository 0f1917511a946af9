/**
 * Feeds V3 `feeds.activity.added` events and `current_feed`, through Stream's feeds-client from
 * npm on every store. The event of an activity added to several feeds carries no current_feed (as
 * Stream's: one event goes to the watchers of each of them), so a watcher's state shows none until
 * it reads the feed, whichever comes first, the event or the AddActivity response; the event of an
 * activity of one feed names it (own feed, or the followed feed on a timeline), which is what
 * makes the client fetch its own fields of a feed it has not seen yet.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import type { ActivityResponse } from '@stream-io/feeds-client'
import { nextEvent, startV3, type V3Server, v3Stores } from './harness.js'

type Added = { activity: ActivityResponse }

for (const store of await v3Stores('v3added')) {
  describe(`Feeds V3 activity added events (${store.name})`, { skip: store.skip }, () => {
    let s: V3Server
    before(async () => {
      s = await startV3(store)
    })
    after(() => s.close())

    it('leaves current_feed out of the event of an activity added to several feeds, even when it comes first', async () => {
      const amy = await s.connect('amy')
      const feed = amy.feed('user', 'amy')
      await feed.getOrCreate({ watch: true })
      await amy.feed('user', 'amy-second').getOrCreate()
      // Added by the app as amy: amy's client hears only the event, never the HTTP response, so
      // its state is what the event says (the order a loaded server gives the suite's client).
      const added = nextEvent<Added>(feed as never, 'feeds.activity.added')
      await s.server.feeds.addActivity({
        user_id: 'amy',
        type: 'post',
        id: 'amy-both',
        feeds: ['user:amy', 'user:amy-second'],
      })
      const event = await added
      assert.equal(event.activity.id, 'amy-both')
      assert.equal(event.activity.current_feed, undefined)
      const inState = () => feed.currentState.activities?.find((a) => a.id === 'amy-both')
      assert.ok(inState(), 'the event put the activity in the watched feed')
      assert.equal(inState()?.current_feed, undefined)
      // A read knows which feed it reads.
      await feed.getOrCreate()
      assert.equal(inState()?.current_feed?.feed, 'user:amy')
    })

    it('names the feed of an activity of one feed, on its own feed and on a timeline following it', async () => {
      const bob = await s.connect('bob')
      const cid = await s.connect('cid')
      const own = bob.feed('user', 'bob')
      await own.getOrCreate({ watch: true })
      const timeline = cid.feed('timeline', 'cid', { onNewActivity: () => 'add-to-start' })
      await timeline.getOrCreate({ watch: true })
      await timeline.follow('user:bob')
      const onOwn = nextEvent<Added>(own as never, 'feeds.activity.added')
      const onTimeline = nextEvent<Added>(timeline as never, 'feeds.activity.added')
      await bob.addActivity({ type: 'post', id: 'bob-one', feeds: ['user:bob'], text: 'hi' })
      assert.equal((await onOwn).activity.current_feed?.feed, 'user:bob')
      const heard = (await onTimeline).activity
      assert.equal(heard.id, 'bob-one')
      assert.equal(heard.current_feed?.feed, 'user:bob')
      // No own fields in an event: it is the same for every watcher.
      assert.equal(heard.current_feed?.own_capabilities, undefined)
    })
  })
}
