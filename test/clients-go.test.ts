/**
 * stream-go2's request shapes, pinned in CI (Go modules are not among the registries CI reaches;
 * v8.9.0 was smoke-tested by hand against `eddy serve` with Debian's Go, see docs/server.md). Sent as
 * go2 sends them: `follows/` with `activity_copy_limit` always present (300 unless set),
 * `keep_history=1`, `mark_seen=true`, a single partial update at the top level of `activity/`,
 * collection adds with `"id": ""` when the object has none, and `{ activity, added, removed }` read
 * back from `activity_to_targets`.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { GO, openWire, scope, type Wire } from './fixtures/client-wire.js'

let wire: Wire
const t = (resource: string, action: string, feed: string) => scope(resource, action, feed.replace(':', ''))

before(async () => {
  wire = await openWire(GO)
})
after(() => wire.close())

describe('stream-go2', () => {
  it('follows with the default copy limit, lists followings, unfollows with keep_history=1', async () => {
    const add = await wire.send('POST', 'feed/user/go-b/', {
      token: await t('feed', 'write', 'user:go-b'),
      body: { actor: 'go-b', verb: 'post', object: 'o' },
    })
    assert.equal(add.status, 200, JSON.stringify(add.body))
    const follow = await wire.send('POST', 'feed/timeline/go-a/follows/', {
      token: await t('follower', 'write', 'timeline:go-a'),
      body: { target: 'user:go-b', activity_copy_limit: 300 },
    })
    assert.equal(follow.status, 200, JSON.stringify(follow.body))
    const list = await wire.send('GET', 'feed/timeline/go-a/follows/', {
      token: await t('follower', 'read', 'timeline:go-a'),
    })
    assert.equal(list.body.results[0].target_id, 'user:go-b')
    const unfollow = await wire.send('DELETE', 'feed/timeline/go-a/follows/user:go-b/', {
      token: await t('follower', 'delete', 'timeline:go-a'),
      query: { keep_history: 1 },
    })
    assert.equal(unfollow.status, 200)
    const kept = await wire.send('GET', 'feed/timeline/go-a/', {
      token: await t('feed', 'read', 'timeline:go-a'),
    })
    assert.equal(kept.body.results.length, 1)
  })

  it('collections: Add sends "id": "" for an object without one; an id is generated', async () => {
    const token = await scope('collections', '*', '*')
    const res = await wire.send('POST', 'collections/food/', {
      token,
      body: { id: '', data: { name: 'pizza' } },
    })
    assert.equal(res.status, 200, JSON.stringify(res.body))
    assert.match(res.body.id, /^[0-9a-f-]{36}$/)
    assert.deepEqual(res.body.data, { name: 'pizza' })
  })

  it('UpdateActivityByID: one change at the top level, the activity answered', async () => {
    const add = await wire.send('POST', 'feed/user/go-p/', {
      token: await t('feed', 'write', 'user:go-p'),
      body: { actor: 'go-p', verb: 'post', object: 'o', n: 1 },
    })
    const res = await wire.send('POST', 'activity/', {
      token: await scope('activities', '*', '*'),
      body: { id: add.body.id, set: { n: 2 } },
    })
    assert.equal(res.status, 200, JSON.stringify(res.body))
    assert.equal(res.body.id, add.body.id)
    assert.equal(res.body.n, 2)
  })
})

describe('stream-go2: reactions by id', () => {
  it('GetReactions: GET reaction/get_many/?ids=... answers { reactions } in order; include_deleted=true adds soft-deleted ones', async () => {
    const token = await scope('reactions', '*', '*')
    const activity = '0c5c9a1e-4ee3-494b-a1e3-50c06acb5ed4'
    const add = async (kind: string) =>
      (
        await wire.send('POST', 'reaction/', {
          token,
          body: { kind, activity_id: activity, user_id: 'go-r' },
        })
      ).body.id
    const [a, b] = [await add('like'), await add('comment')]
    await wire.send('DELETE', `reaction/${b}/`, { token, query: { soft: true } })
    const live = await wire.send('GET', 'reaction/get_many/', { token, query: { ids: `${b},${a},nope` } })
    assert.equal(live.status, 200, JSON.stringify(live.body))
    assert.deepEqual(
      live.body.reactions.map((r) => r.id),
      [a],
    )
    const all = await wire.send('GET', 'reaction/get_many/', {
      token,
      query: { ids: `${b},${a}`, include_deleted: true },
    })
    assert.deepEqual(
      all.body.reactions.map((r) => [r.id, 'deleted_at' in r]),
      [
        [b, true],
        [a, false],
      ],
    )
    assert.equal((await wire.send('GET', 'reaction/get_many/', { token })).status, 400)
  })
})
