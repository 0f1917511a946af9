/**
 * Feeds V3 notification feeds across two servers on one PostgreSQL + Redis (as with `eddy serve
 * --timelines`): a feed group defined through server A is served by server B as soon as a request
 * names it; a watcher on A hears `feeds.notification_feed.updated` for a notification made and a
 * mark applied through B.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import type { NotificationFeedUpdatedEvent, WSEvent } from '@stream-io/feeds-client'
import { must } from '../helpers.js'
import { nextEvent, startV3, type V3Server, v3Stores } from './harness.js'

const shared = (await v3Stores('v3notifmulti')).find((s) => s.name === 'PostgreSQL + Redis')
const kind = must(shared, 'the PostgreSQL + Redis entry of the every-store list')

/** Waits (polling) until `check` holds; fails after 10 s naming `what`. */
async function until(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

describe('Feeds V3 notification feeds across two servers', { skip: kind.skip }, () => {
  let a: V3Server
  let b: V3Server
  before(async () => {
    const options = kind.options()
    a = await startV3({ options: () => options })
    await a.eddy.ready()
    b = await startV3({ options: () => options })
    await b.eddy.ready()
  })
  after(async () => {
    await a?.close()
    await b?.close()
  })

  it('serves on B a feed group defined through A, once a request names it', async () => {
    await a.server.feeds.getOrCreateFeedGroup({ id: 'alerts-x', notification: { track_seen: true } })
    assert.equal(b.eddy.engine.groups.has('alerts-x'), false)
    const ann = await b.connect('ann')
    const feed = ann.feed('alerts-x', 'ann')
    await feed.getOrCreate()
    await b.server.feeds.addActivity({ type: 'ping', feeds: ['alerts-x:ann'], user_id: 'bob' })
    const page = await feed.getOrCreate()
    assert.equal(page.activities.length, 1)
    assert.equal(page.activities[0].is_seen, false)
    assert.equal(page.notification_status?.unseen, 1)
  })

  it('tells a watcher on A of a notification and a mark made through B', async () => {
    const ann = await a.connect('ann')
    const inbox = ann.feed('notification', 'ann')
    await inbox.getOrCreate({ watch: true })
    await until(() => b.eddy.engine.events.wants('notification:ann'), 'server B knows the inbox is watched')
    await a.server.feeds.feed('user', 'ann').getOrCreate({ user_id: 'ann' })
    const bob = await b.connect('bob')
    await bob.feed('timeline', 'bob').getOrCreate()
    const updated = nextEvent<WSEvent>(inbox, 'feeds.notification_feed.updated')
    await bob.feed('timeline', 'bob').follow('user:ann', { create_notification_activity: true })
    const event = (await updated) as NotificationFeedUpdatedEvent
    assert.equal(event.notification_status?.unseen, 1)
    const group = must(event.aggregated_activities?.[0], 'the follow group').group
    const marked = nextEvent<WSEvent>(inbox, 'feeds.notification_feed.updated')
    await b.server.feeds.markActivity({ feed_group_id: 'notification', feed_id: 'ann', mark_seen: [group] })
    const after = (await marked) as NotificationFeedUpdatedEvent
    assert.equal(after.notification_status?.unseen, 0)
    assert.deepEqual(after.notification_status?.seen_activities, [group])
  })
})
