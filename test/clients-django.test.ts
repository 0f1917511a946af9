/**
 * stream-django's flows, pinned in CI through the requests it makes (stream-python underneath,
 * recorded from a Django project built from stream-django's README and run against `eddy serve`;
 * see docs/server.md). A model save publishes `{actor: "auth.User:1", verb, object, foreign_id,
 * time}` to `user:<author>`; `activity_notify` adds `to: ["notification:<id> <feed token>"]`; a
 * delete removes by `foreign_id=1`; `follow_user`/`unfollow_user` go through `follows/` for each
 * news feed (`timeline`, `timeline_aggregated`); notification reads send `mark_seen=True`.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { openWire, PYTHON, scope, type Wire } from './fixtures/client-wire.js'

let wire: Wire
let feedToken: string
const t = (resource: string, action: string, feed: string) => scope(resource, action, feed.replace(':', ''))
const NEWS_FEEDS = ['timeline', 'timeline_aggregated']

before(async () => {
  wire = await openWire(PYTHON)
  feedToken = await scope('feed', '*', '*')
})
after(() => wire.close())

async function read(feed: string, query: Record<string, unknown> = {}) {
  const res = await wire.send('GET', `feed/${feed.replace(':', '/')}/`, {
    token: await t('feed', 'read', feed),
    query,
  })
  assert.equal(res.status, 200, JSON.stringify(res.body))
  return res.body
}

/** `feed_manager.follow_user(user, target)`: every news feed of `user` follows `user:<target>`. */
async function followUser(user: string, target: string) {
  for (const slug of NEWS_FEEDS) {
    const res = await wire.send('POST', `feed/${slug}/${user}/follows/`, {
      token: await t('follower', 'write', `${slug}:${user}`),
      body: { target: `user:${target}`, target_token: feedToken },
    })
    assert.equal(res.status, 200, JSON.stringify(res.body))
  }
}

async function unfollowUser(user: string, target: string) {
  for (const slug of NEWS_FEEDS) {
    const res = await wire.send('DELETE', `feed/${slug}/${user}/follows/user:${target}/`, {
      token: await t('follower', 'delete', `${slug}:${user}`),
    })
    assert.equal(res.status, 200, JSON.stringify(res.body))
  }
}

/** A model's post_save: `create_activity()` added to `<author feed>:<actor id>`; `to` signed. */
async function published(actorId: string, activity: Record<string, unknown>, notify: string[] = []) {
  const body = notify.length ? { ...activity, to: notify.map((f) => `${f} ${feedToken}`) } : activity
  const res = await wire.send('POST', `feed/user/${actorId}/`, {
    token: await t('feed', 'write', `user:${actorId}`),
    body,
  })
  assert.equal(res.status, 200, JSON.stringify(res.body))
  return res.body
}

/** A model's post_delete: `remove_activity(foreign_id=...)` from the author's feed. */
async function withdrawn(actorId: string, foreignId: string) {
  const res = await wire.send('DELETE', `feed/user/${actorId}/${foreignId}/`, {
    token: await t('feed', 'delete', `user:${actorId}`),
    query: { foreign_id: '1' },
  })
  assert.equal(res.status, 200, JSON.stringify(res.body))
}

describe('stream-django flows', () => {
  it('models publish and withdraw; the feed manager follows and unfollows; activity_notify reaches notification feeds', async () => {
    await followUser('2', '1')
    const pin = await published('1', {
      actor: 'auth.User:1',
      verb: 'pin',
      object: 'pins.Pin:1',
      foreign_id: 'pins.Pin:1',
      time: '2026-12-07T01:40:00.123456',
    })
    assert.deepEqual(
      (await read('user:1')).results.map((a) => a.id),
      [pin.id],
    )
    assert.deepEqual(
      (await read('timeline:2')).results.map((a) => a.id),
      [pin.id],
    )
    const groups = (await read('timeline_aggregated:2')).results
    assert.equal(groups.length, 1)
    assert.equal(groups[0].activities[0].object, 'pins.Pin:1')

    // Follow(user=bob, target_user=alice): object and foreign_id are the target user's reference.
    await published(
      '2',
      {
        actor: 'auth.User:2',
        verb: 'follow',
        object: 'auth.User:1',
        foreign_id: 'auth.User:1',
        time: '2026-12-07T01:41:00.000001',
      },
      ['notification:1'],
    )
    const unseen = await read('notification:1')
    assert.equal(unseen.unseen, 1)
    assert.deepEqual(unseen.results[0].activities[0].to, ['notification:1'])
    // A notification read that marks: mark_seen=True, then mark_read=True.
    await read('notification:1', { mark_seen: true })
    const seen = await read('notification:1')
    assert.equal(seen.unseen, 0)
    assert.equal(seen.results[0].is_seen, true)
    await read('notification:1', { mark_read: true })
    assert.equal((await read('notification:1')).unread, 0)

    await withdrawn('1', 'pins.Pin:1')
    assert.deepEqual((await read('user:1')).results, [])
    assert.deepEqual((await read('timeline:2')).results, [])
    await published('1', {
      actor: 'auth.User:1',
      verb: 'pin',
      object: 'pins.Pin:2',
      foreign_id: 'pins.Pin:2',
      time: '2026-12-07T01:42:00.000000',
    })
    assert.equal((await read('timeline:2')).results.length, 1)
    await unfollowUser('2', '1')
    assert.deepEqual((await read('timeline:2')).results, [])
    assert.deepEqual((await read('timeline_aggregated:2')).results, [])
    // Deleting the Follow row withdraws the notification it sent through `to`.
    await withdrawn('2', 'auth.User:1')
    assert.deepEqual((await read('notification:1')).results, [])
  })
})
