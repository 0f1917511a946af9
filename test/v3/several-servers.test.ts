/**
 * Feeds V3 realtime across servers: two servers (each `eddy serve`'s app with its own engine) on
 * one PostgreSQL schema and one Redis prefix, realtime carried by the Redis transport as with
 * `eddy serve --timelines`. A feeds-client watching feeds through server A hears what is written
 * through server B (activity adds, fan-out deliveries, updates, deletes, reactions, comments,
 * follows, feed updates);
 * a watch request made through B steers A's connection; a V1 Faye subscriber on A hears V3 writes
 * made through B.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import type { FeedsClient } from '@stream-io/feeds-client'
import stream from 'getstream'
import { SignJWT } from 'jose'
import { WebSocket } from 'ws'
import { must } from '../helpers.js'
import { KEY, nextEvent, SECRET, startV3, type V3Server, v3Stores } from './harness.js'

const shared = (await v3Stores('v3multi')).find((s) => s.name === 'PostgreSQL + Redis')
const kind = must(shared, 'the PostgreSQL + Redis entry of the every-store list')

/** Waits (polling, no fixed sleep) until `check` holds; fails after 10 s naming `what`. */
async function until(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

describe('Feeds V3 across two servers on one PostgreSQL + Redis', { skip: kind.skip }, () => {
  let a: V3Server
  let b: V3Server
  /** Waits until server B knows that some server listens to `fid` (it builds V1 messages only then). */
  const heardOnB = (fid: string) =>
    until(() => b.eddy.engine.events.wants(fid), `server B knows ${fid} is watched`)

  before(async () => {
    const options = kind.options()
    a = await startV3({ options: () => options })
    await a.eddy.ready() // the first server migrates the schema; the second opens it migrated
    b = await startV3({ options: () => options })
    await b.eddy.ready()
  })
  after(async () => {
    await a?.close()
    await b?.close()
  })

  /** A feeds-client on server A watching `group:id` (created by its user). */
  async function watchOnA(
    userId: string,
    group = 'user',
  ): Promise<{ client: FeedsClient; feed: ReturnType<FeedsClient['feed']> }> {
    const client = await a.connect(userId)
    const feed = client.feed(group, userId)
    await feed.getOrCreate({ watch: true })
    await heardOnB(`${group}:${userId}`)
    return { client, feed }
  }

  it('sends a watcher on A the activities added, updated and deleted through B', async () => {
    const { feed } = await watchOnA('ana')
    const added = nextEvent<{ activity: { id: string; text?: string } }>(
      feed as never,
      'feeds.activity.added',
    )
    const { activity } = await b.server.feeds.addActivity({
      user_id: 'ana',
      feeds: ['user:ana'],
      type: 'post',
      text: 'through B',
    })
    assert.equal((await added).activity.text, 'through B')
    assert.equal((await added).activity.id, activity.id)

    const updated = nextEvent<{ activity: { text?: string } }>(feed as never, 'feeds.activity.updated')
    await b.server.feeds.updateActivityPartial({
      id: activity.id,
      user_id: 'ana',
      set: { text: 'edited on B' },
    })
    assert.equal((await updated).activity.text, 'edited on B')

    const deleted = nextEvent<{ activity: { id: string } }>(feed as never, 'feeds.activity.deleted')
    await b.server.feeds.deleteActivity({ id: activity.id })
    assert.equal((await deleted).activity.id, activity.id)
    assert.deepEqual(feed.state.getLatestValue().activities ?? [], [])
  })

  it('sends a timeline watcher on A the fan-out of an add through B, and follows made through B', async () => {
    await b.server.feeds.feed('user', 'bo').getOrCreate({ user_id: 'bo' })
    const { feed: timeline } = await watchOnA('cy', 'timeline')
    const followed = nextEvent<{ follow: { source_feed: { feed: string }; target_feed: { feed: string } } }>(
      timeline as never,
      'feeds.follow.created',
    )
    await b.server.feeds.follow({ source: 'timeline:cy', target: 'user:bo' })
    const { follow } = await followed
    assert.deepEqual([follow.source_feed.feed, follow.target_feed.feed], ['timeline:cy', 'user:bo'])

    const delivered = nextEvent<{ fid: string; activity: { text?: string } }>(
      timeline as never,
      'feeds.activity.added',
    )
    await b.server.feeds.addActivity({
      user_id: 'bo',
      feeds: ['user:bo'],
      type: 'post',
      text: 'to followers',
    })
    const event = await delivered
    assert.equal(event.fid, 'timeline:cy')
    assert.equal(event.activity.text, 'to followers')

    const unfollowed = nextEvent(timeline as never, 'feeds.follow.deleted')
    await b.server.feeds.unfollow({ source: 'timeline:cy', target: 'user:bo' })
    await unfollowed
  })

  it('sends a watcher on A the reactions and comments made through B', async () => {
    const { feed } = await watchOnA('gil')
    const { activity } = await b.server.feeds.addActivity({
      user_id: 'gil',
      feeds: ['user:gil'],
      type: 'post',
      text: 'react to me',
    })
    const reacted = nextEvent<{ reaction: { type: string; user: { id: string } } }>(
      feed as never,
      'feeds.activity.reaction.added',
    )
    await b.server.feeds.addActivityReaction({ activity_id: activity.id, type: 'like', user_id: 'hal' })
    const { reaction } = await reacted
    assert.deepEqual([reaction.type, reaction.user.id], ['like', 'hal'])

    const commented = nextEvent<{ comment: { text?: string } }>(feed as never, 'feeds.comment.added')
    await b.server.feeds.addComment({
      object_id: activity.id,
      object_type: 'activity',
      comment: 'from B',
      user_id: 'hal',
    })
    assert.equal((await commented).comment.text, 'from B')

    const unreacted = nextEvent(feed as never, 'feeds.activity.reaction.deleted')
    await b.server.feeds.deleteActivityReaction({ activity_id: activity.id, type: 'like', user_id: 'hal' })
    await unreacted
  })

  it('sends a watcher on A the feed updates made through B', async () => {
    const { feed } = await watchOnA('dee')
    const updated = nextEvent<{ feed: { name?: string } }>(feed as never, 'feeds.feed.updated')
    await b.server.feeds.feed('user', 'dee').update({ name: 'Renamed on B' })
    assert.equal((await updated).feed.name, 'Renamed on B')
    assert.equal(feed.currentState.name, 'Renamed on B')
  })

  it('lets a watch request made through B steer the connection held by A, for its own user only', async () => {
    const token = await new SignJWT({ user_id: 'eli' })
      .setProtectedHeader({ alg: 'HS256' })
      .sign(new TextEncoder().encode(SECRET))
    const ws = new WebSocket(
      `${a.base.replace('http', 'ws')}/api/v2/connect?api_key=${KEY}&stream-auth-type=jwt`,
    )
    const events: { type: string; connection_id?: string; activity?: { text?: string } }[] = []
    ws.on('message', (m) => events.push(JSON.parse(String(m))))
    await new Promise((resolve) => ws.once('open', resolve))
    ws.send(JSON.stringify({ token, user_details: { id: 'eli' } }))
    await until(() => events.some((e) => e.type === 'connection.ok'), 'the connection is ok')
    const connectionId = must(events[0].connection_id, 'connection.ok’s connection_id')
    try {
      const response = await fetch(
        `${b.base}/api/v2/feeds/feed_groups/user/feeds/eli?api_key=${KEY}&connection_id=${connectionId}`,
        {
          method: 'POST',
          headers: { authorization: token, 'stream-auth-type': 'jwt', 'content-type': 'application/json' },
          body: JSON.stringify({ watch: true }),
        },
      )
      assert.ok(response.ok, `watch through B answered ${response.status}`)
      // The watch travels to A as a control message; A then listens to the feed, which B hears of.
      await heardOnB('user:eli')
      await b.server.feeds.addActivity({ user_id: 'eli', feeds: ['user:eli'], type: 'post', text: 'steered' })
      await until(
        () => events.some((e) => e.type === 'feeds.activity.added' && e.activity?.text === 'steered'),
        'the add reaches the socket on A',
      )
    } finally {
      ws.close()
    }
  })

  it('sends a V1 Faye subscriber on A the activities V3 adds through B', async () => {
    const app = '4243'
    const v1 = stream.connect(KEY, SECRET, app, {
      urlOverride: { api: `${a.base}/api/` },
      fayeUrl: `${a.base}/faye`,
    })
    const messages: { new: { text?: string; actor?: string }[] }[] = []
    try {
      await v1.feed('user', 'fin').subscribe((m) => messages.push(m as never))
      await heardOnB('user:fin')
      await b.server.feeds.feed('user', 'fin').getOrCreate({ user_id: 'fin' })
      await b.server.feeds.addActivity({ user_id: 'fin', feeds: ['user:fin'], type: 'post', text: 'v3 on B' })
      await until(
        () => messages.some((m) => m.new.some((x) => x.text === 'v3 on B')),
        'Faye on A hears the add',
      )
      const heard = must(
        messages.flatMap((m) => m.new).find((x) => x.text === 'v3 on B'),
        'the V3 activity in the Faye message',
      )
      assert.equal(heard.actor, 'SU:fin')
    } finally {
      v1.fayeClient?.disconnect()
    }
  })
})
