/**
 * stream-ruby's request shapes, pinned in CI (the gem is not on the registries CI reaches; 6.0.0 was
 * run by hand against `eddy serve`, see docs/server.md). Sent as stream-ruby 6.0.0 sends them: query
 * keys sorted with `api_key` among them, booleans `true`/`false`, no body on GET and DELETE, paths
 * joined with single slashes (`/stats/follow` has no trailing slash), `follows/` for follows with
 * `activity_copy_limit: 300` by default, and `null` for every optional body field it was not given.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { openWire, RUBY, scope, type Wire } from './fixtures/client-wire.js'

let wire: Wire
/** stream-ruby's feed-scoped token: `create_jwt_token(resource, action)` with feed_id `<slug><id>`. */
const t = (resource: string, action: string, feed: string) => scope(resource, action, feed.replace(':', ''))

before(async () => {
  wire = await openWire(RUBY)
})
after(() => wire.close())

const add = async (feed: string, activity: Record<string, unknown>) =>
  wire.send('POST', `feed/${feed.replace(':', '/')}/`, {
    token: await t('feed', 'write', feed),
    body: activity,
  })
const read = async (feed: string, query: Record<string, unknown> = {}, enrich = false) =>
  wire.send('GET', `${enrich ? 'enrich/' : ''}feed/${feed.replace(':', '/')}/`, {
    token: await t('feed', 'read', feed),
    query,
  })

describe('stream-ruby', () => {
  it('follows (copy limit 300), lists followings with a filter, unfollows with keep_history=true', async () => {
    await add('user:rb-b', { actor: 'rb-b', verb: 'post', object: '1' })
    const followed = await wire.send('POST', 'feed/timeline/rb-a/follows/', {
      token: await t('follower', 'write', 'timeline:rb-a'),
      body: { target: 'user:rb-b', activity_copy_limit: 300 },
    })
    assert.equal(followed.status, 200, JSON.stringify(followed.body))
    assert.equal((await read('timeline:rb-a')).body.results.length, 1)
    const following = await wire.send('GET', 'feed/timeline/rb-a/follows/', {
      token: await t('follower', 'read', 'timeline:rb-a'),
      query: { filter: 'user:rb-b', limit: 25, offset: 0 },
    })
    assert.deepEqual(
      following.body.results.map((f) => f.target_id),
      ['user:rb-b'],
    )
    const stats = await wire.send('GET', 'stats/follow', {
      token: await scope('*', 'read', '*'),
      query: { followers: 'user:rb-b', following: 'user:rb-b' },
    })
    assert.equal(stats.status, 200, JSON.stringify(stats.body))
    assert.deepEqual(stats.body.results.followers, { feed: 'user:rb-b', count: 1 })
    const unfollowed = await wire.send('DELETE', 'feed/timeline/rb-a/follows/user:rb-b/', {
      token: await t('follower', 'delete', 'timeline:rb-a'),
      query: { keep_history: true },
    })
    assert.equal(unfollowed.status, 200, JSON.stringify(unfollowed.body))
    assert.equal((await read('timeline:rb-a')).body.results.length, 1)
  })

  it('reads with reaction flags, user_id and withFirstReactions; removes by foreign_id=1', async () => {
    const posted = await add('user:rb-r', { actor: 'rb-r', verb: 'post', object: 'x', foreign_id: 'post:1' })
    const reactions = await scope('reactions', '*', '*')
    // ReactionsClient#add: every keyword it was not given is sent as null.
    const like = await wire.send('POST', 'reaction/', {
      token: reactions,
      body: {
        kind: 'like',
        activity_id: posted.body.id,
        user_id: 'rb-fan',
        data: null,
        target_feeds: null,
        target_feeds_extra_data: null,
      },
    })
    assert.equal(like.status, 200, JSON.stringify(like.body))
    const got = await read(
      'user:rb-r',
      {
        withOwnReactions: true,
        withFirstReactions: true,
        withRecentReactions: true,
        withReactionCounts: true,
        user_id: 'rb-fan',
      },
      true,
    )
    assert.equal(got.status, 200, JSON.stringify(got.body))
    assert.deepEqual(got.body.results[0].reaction_counts, { like: 1 })
    // ReactionsClient#filter leaves `kind` in the query as well as in the path.
    const filtered = await wire.send('GET', `reaction/activity_id/${posted.body.id}/like/`, {
      token: reactions,
      query: { kind: 'like', limit: 10 },
    })
    assert.deepEqual(
      filtered.body.results.map((r) => r.id),
      [like.body.id],
    )
    assert.equal(
      (await wire.send('DELETE', `reaction/${like.body.id}/`, { token: reactions, query: { soft: true } }))
        .status,
      200,
    )
    assert.equal(
      (await wire.send('PUT', `reaction/${like.body.id}/restore/`, { token: reactions, body: {} })).status,
      200,
    )
    const removed = await wire.send('DELETE', 'feed/user/rb-r/post:1/', {
      token: await t('feed', 'delete', 'user:rb-r'),
      query: { foreign_id: 1 },
    })
    assert.equal(removed.status, 200, JSON.stringify(removed.body))
    assert.equal((await read('user:rb-r')).body.results.length, 0)
  })

  it('users with get_or_create=false/true; collections with id: nil, user_id: nil', async () => {
    const users = await scope('users', '*', '*')
    assert.equal(
      (
        await wire.send('POST', 'user/', {
          token: users,
          query: { get_or_create: false },
          body: { id: 'rb-u', data: null },
        })
      ).status,
      200,
    )
    assert.equal(
      (
        await wire.send('POST', 'user/', {
          token: users,
          query: { get_or_create: true },
          body: { id: 'rb-u', data: null },
        })
      ).status,
      200,
    )
    const collections = await scope('collections', '*', '*')
    const entry = await wire.send('POST', 'collections/food/', {
      token: collections,
      body: { id: null, user_id: null, data: { name: 'pizza' } },
    })
    assert.equal(entry.status, 200, JSON.stringify(entry.body))
  })

  it('update_activity_to_targets reads ret["activity"]', async () => {
    const time = '2026-03-04T05:06:07.000000'
    await add('user:rb-t', {
      actor: 'a',
      verb: 'v',
      object: 'o',
      foreign_id: 'rb:1',
      time,
      to: ['user:rb-t1'],
    })
    const res = await wire.send('POST', 'feed_targets/user/rb-t/activity_to_targets/', {
      token: await t('feed_targets', 'write', 'user:rb-t'),
      body: { foreign_id: 'rb:1', time, added_targets: ['user:rb-t2'] },
    })
    assert.equal(res.status, 200, JSON.stringify(res.body))
    assert.deepEqual([...res.body.activity.to].sort(), ['user:rb-t1', 'user:rb-t2'])
  })
})

describe('stream-ruby (and stream-go2, stream-php): single partial updates, conflicts, upserts', () => {
  it('activity_partial_update sends one change at the top level and gets the activity back', async () => {
    const time = '2026-03-04T05:06:08.000000'
    const posted = await add('user:rb-p', {
      actor: 'a',
      verb: 'v',
      object: 'o',
      foreign_id: 'rb:p',
      time,
      popularity: 1,
    })
    const token = await scope('activities', '*', '*')
    const byId = await wire.send('POST', 'activity/', {
      token,
      body: { id: posted.body.id, set: { popularity: 2, 'product.price': 3 }, unset: [] },
    })
    assert.equal(byId.status, 200, JSON.stringify(byId.body))
    assert.equal(byId.body.id, posted.body.id)
    assert.equal(byId.body.popularity, 2)
    assert.deepEqual(byId.body.product, { price: 3 })
    assert.ok(byId.body.duration)
    const byForeignId = await wire.send('POST', 'activity/', {
      token,
      body: { foreign_id: 'rb:p', time, set: {}, unset: ['product'] },
    })
    assert.equal(byForeignId.status, 200, JSON.stringify(byForeignId.body))
    assert.equal('product' in byForeignId.body, false)
    const stray = await wire.send('POST', 'activity/', {
      token,
      body: { id: posted.body.id, set: {}, bogus: 1 },
    })
    assert.equal(stray.status, 400)
  })

  it('a duplicate user is a 409 with code 22, the code stream-ruby maps to ConflictException', async () => {
    const users = await scope('users', '*', '*')
    await wire.send('POST', 'user/', {
      token: users,
      query: { get_or_create: false },
      body: { id: 'rb-twice', data: null },
    })
    const again = await wire.send('POST', 'user/', {
      token: users,
      query: { get_or_create: false },
      body: { id: 'rb-twice', data: null },
    })
    assert.equal(again.status, 409)
    assert.equal(again.body.code, 22)
    assert.equal(again.body.exception, 'ConflictException')
  })

  it('an upserted entry keeps its whole object, id included, as its data', async () => {
    const token = await scope('collections', '*', '*')
    const objects = [{ id: 'aabbcc', name: 'juniper', data: { hobbies: ['playing'] } }]
    const upserted = await wire.send('POST', 'collections/', { token, body: { data: { test: objects } } })
    assert.equal(upserted.status, 200, JSON.stringify(upserted.body))
    const selected = await wire.send('GET', 'collections/', { token, query: { foreign_ids: 'test:aabbcc' } })
    assert.deepEqual(
      selected.body.response.data.map((e) => [e.id, e.foreign_id, e.data]),
      [['aabbcc', 'test:aabbcc', objects[0]]],
    )
  })
})
