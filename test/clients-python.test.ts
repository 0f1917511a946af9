/**
 * stream-python's request shapes, pinned in CI (stream-python itself does not install from the
 * registries CI reaches; its own suite was run against `eddy serve` by hand, see docs/server.md).
 * Each request is sent as stream-python 5.3.1 sends it: paths, `api_key` first, booleans printed
 * `True`/`False`, a JSON body on POST, PUT and DELETE, scope tokens per call, and the client's
 * feed token `{resource: feed, action: *, feed_id: *}` signed into follows and `to` targets.
 * Leniency never widens a permission: the attacker cases at the end use genuine tokens.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { openWire, PYTHON, phpSignature, scope, userToken, type Wire } from './fixtures/client-wire.js'

let wire: Wire
/** The client's feed token, `client.feed(slug, id).token`. */
let feedToken: string
const t = (resource: string, action: string, feed: string) => scope(resource, action, feed.replace(':', ''))

before(async () => {
  wire = await openWire(PYTHON)
  feedToken = await scope('feed', '*', '*')
})
after(() => wire.close())

/** `feed.add_activity(data)`: `to` entries rewritten to `"<feed> <feed token>"`. */
async function add(feed: string, activity: Record<string, unknown>) {
  const to = activity.to as string[] | undefined
  const body = to ? { ...activity, to: to.map((f) => `${f} ${feedToken}`) } : activity
  return wire.send('POST', `feed/${feed.replace(':', '/')}/`, { token: await t('feed', 'write', feed), body })
}

async function read(feed: string, query: Record<string, unknown> = {}, enrich = false) {
  const path = `${enrich ? 'enrich/' : ''}feed/${feed.replace(':', '/')}/`
  return wire.send('GET', path, { token: await t('feed', 'read', feed), query })
}

/** `feed.follow(slug, id)`: POST `follows/` with `target_token`. */
async function follow(source: string, target: string, extra: Record<string, unknown> = {}) {
  return wire.send('POST', `feed/${source.replace(':', '/')}/follows/`, {
    token: await t('follower', 'write', source),
    body: { target, target_token: feedToken, ...extra },
  })
}

describe('stream-python: follows', () => {
  it('follows, lists followings and unfollows through follows/ (target_token verified)', async () => {
    assert.equal((await add('user:py-b', { actor: 'py-b', verb: 'post', object: '1' })).status, 200)
    const followed = await follow('timeline:py-a', 'user:py-b', { activity_copy_limit: 10 })
    assert.equal(followed.status, 200, JSON.stringify(followed.body))
    assert.equal((await read('timeline:py-a')).body.results.length, 1)
    // feed.following(): offset first, then limit, and an empty filter.
    const following = await wire.send('GET', 'feed/timeline/py-a/follows/', {
      token: await t('follower', 'read', 'timeline:py-a'),
      query: { offset: 0, limit: 25, filter: '' },
    })
    assert.equal(following.status, 200)
    assert.deepEqual(
      following.body.results.map((f) => [f.feed_id, f.target_id]),
      [['timeline:py-a', 'user:py-b']],
    )
    const followers = await wire.send('GET', 'feed/user/py-b/followers/', {
      token: await t('follower', 'read', 'user:py-b'),
      query: { limit: 25, offset: 0, filter: '' },
    })
    assert.equal(followers.body.results[0].feed_id, 'timeline:py-a')
    // feed.unfollow(..., keep_history=True): keep_history=True in the query, `{}` as the body.
    const kept = await wire.send('DELETE', 'feed/timeline/py-a/follows/user:py-b/', {
      token: await t('follower', 'delete', 'timeline:py-a'),
      query: { keep_history: true },
    })
    assert.equal(kept.status, 200, JSON.stringify(kept.body))
    assert.equal((await read('timeline:py-a')).body.results.length, 1)
    await follow('timeline:py-a', 'user:py-b')
    const dropped = await wire.send('DELETE', 'feed/timeline/py-a/follows/user:py-b/', {
      token: await t('follower', 'delete', 'timeline:py-a'),
    })
    assert.equal(dropped.status, 200)
    assert.equal((await read('timeline:py-a')).body.results.length, 0)
  })

  it("accepts stream-php's legacy feed signature as target_token", async () => {
    const res = await wire.send('POST', 'feed/timeline/php-a/follows/', {
      token: await t('follower', 'write', 'timeline:php-a'),
      body: { target: 'user:php-b', activity_copy_limit: 300, target_token: phpSignature('userphp-b') },
    })
    assert.equal(res.status, 200, JSON.stringify(res.body))
  })

  it('refuses a target_token this app did not sign, or signed for another feed (401, nothing followed)', async () => {
    const token = await t('follower', 'write', 'timeline:py-c')
    const forged = [
      await scope('feed', '*', '*', 'another-secret'),
      await scope('feed', '*', 'userpy-other'),
      await userToken('py-other'),
      phpSignature('userpy-other'),
      phpSignature('userpy-d', 'another-secret'),
      'not a token',
      42,
    ]
    for (const target_token of forged) {
      const res = await wire.send('POST', 'feed/timeline/py-c/follows/', {
        token,
        body: { target: 'user:py-d', target_token },
      })
      assert.equal(res.status, 401, JSON.stringify(target_token))
      assert.equal(res.body.code, 3)
      assert.match(res.body.detail, /target_token for user:py-d is not a token of this app/)
    }
    const following = await wire.send('GET', 'feed/timeline/py-c/follows/', {
      token: await t('follower', 'read', 'timeline:py-c'),
      query: { offset: 0, limit: 25, filter: '' },
    })
    assert.deepEqual(following.body.results, [])
  })
})

describe('stream-python: activities', () => {
  it('adds with signed to targets, single and batch; the stored to is plain', async () => {
    const one = await add('user:py-to', { actor: 1, verb: 'tweet', object: 1, to: ['user:py-team'] })
    assert.equal(one.status, 200, JSON.stringify(one.body))
    assert.deepEqual(one.body.to, ['user:py-team'])
    assert.equal((await read('user:py-team')).body.results[0].id, one.body.id)
    const batch = await wire.send('POST', 'feed/user/py-to/', {
      token: await t('feed', 'write', 'user:py-to'),
      body: {
        activities: [
          { actor: 1, verb: 'a', object: 2, to: [`user:py-team2 ${feedToken}`] },
          { actor: 1, verb: 'b', object: 3, to: [`notification:py-n ${phpSignature('notificationpy-n')}`] },
        ],
      },
    })
    assert.equal(batch.status, 200, JSON.stringify(batch.body))
    assert.deepEqual(
      batch.body.activities.map((a) => a.to),
      [['user:py-team2'], ['notification:py-n']],
    )
    assert.equal((await read('notification:py-n')).body.results.length, 1)
  })

  it('refuses a to target whose token does not verify, and writes nothing', async () => {
    const bad = await wire.send('POST', 'feed/user/py-bad/', {
      token: await t('feed', 'write', 'user:py-bad'),
      body: { actor: 1, verb: 'v', object: 1, to: [`user:py-x ${await scope('feed', '*', '*', 'wrong')}`] },
    })
    assert.equal(bad.status, 401)
    assert.match(bad.body.detail, /the token of to target for user:py-x is not a token of this app/)
    assert.equal((await read('user:py-bad')).body.results.length, 0)
    assert.equal((await read('user:py-x')).body.results.length, 0)
  })

  it('update_activities of an activity that does not exist creates it (no feed, no to)', async () => {
    const time = '2026-01-02T03:04:05.000006'
    const token = await scope('activities', '*', '*')
    const res = await wire.send('POST', 'activities/', {
      token,
      body: {
        activities: [{ actor: 'user:1', verb: 'do', object: 'object:1', foreign_id: 'object:1', time }],
      },
    })
    assert.equal(res.status, 200, JSON.stringify(res.body))
    const got = await wire.send('GET', 'activities/', {
      token,
      query: { foreign_ids: 'object:1', timestamps: time },
    })
    assert.deepEqual(
      got.body.results.map((a) => [a.foreign_id, a.time, a.object]),
      [['object:1', time, 'object:1']],
    )
    const withTo = await wire.send('POST', 'activities/', {
      token,
      body: {
        activities: [{ actor: 'a', verb: 'do', object: 'o', foreign_id: 'object:2', time, to: ['user:1'] }],
      },
    })
    assert.equal(withTo.status, 400)
  })

  it('activity_to_targets answers { activity, added, removed } (and the activity fields, for stream-js)', async () => {
    const now = '2026-01-02T03:04:05.000000'
    await add('user:py-tt', {
      actor: 1,
      verb: 'tweet',
      object: 1,
      foreign_id: 'user:1',
      time: now,
      to: ['user:py-t1', 'user:py-t2'],
    })
    const token = await t('feed_targets', 'write', 'user:py-tt')
    const replaced = await wire.send('POST', 'feed_targets/user/py-tt/activity_to_targets/', {
      token,
      body: { foreign_id: 'user:1', time: now, new_targets: ['user:py-t3', 'user:py-t2'] },
    })
    assert.equal(replaced.status, 200, JSON.stringify(replaced.body))
    assert.deepEqual([...replaced.body.activity.to].sort(), ['user:py-t2', 'user:py-t3'])
    assert.deepEqual(replaced.body.added, ['user:py-t3'])
    assert.deepEqual(replaced.body.removed, ['user:py-t1'])
    assert.equal(replaced.body.foreign_id, 'user:1')
    const edited = await wire.send('POST', 'feed_targets/user/py-tt/activity_to_targets/', {
      token,
      body: {
        foreign_id: 'user:1',
        time: now,
        added_targets: ['user:py-t4', 'user:py-t5'],
        removed_targets: ['user:py-t3'],
      },
    })
    assert.deepEqual([...edited.body.activity.to].sort(), ['user:py-t2', 'user:py-t4', 'user:py-t5'])
  })

  it('reads with True/False flags: reactions, mark_seen=True, mark_read=True', async () => {
    const posted = await add('user:py-r', { actor: 'py-r', verb: 'post', object: 'x' })
    await wire.send('POST', 'reaction/', {
      token: await scope('*', '*', '*'),
      body: { activity_id: posted.body.id, kind: 'like', data: {}, target_feeds: [], user_id: 'py-fan' },
    })
    const flags = { withOwnReactions: true, withRecentReactions: true, withReactionCounts: true }
    const enriched = await read('user:py-r', { limit: 1, ...flags }, true)
    assert.equal(enriched.status, 200, JSON.stringify(enriched.body))
    assert.deepEqual(enriched.body.results[0].reaction_counts, { like: 1 })
    const off = await read('user:py-r', { withRecentReactions: false, withReactionCounts: 'FALSE' }, true)
    assert.equal(off.body.results[0].reaction_counts, undefined)
    assert.equal((await read('user:py-r', { withReactionCounts: 'yes' }, true)).status, 400)

    await add('notification:py-n2', { actor: 'a', verb: 'v', object: 'o' })
    const seen = await read('notification:py-n2', { mark_seen: true })
    assert.equal(seen.status, 200, JSON.stringify(seen.body))
    const after = await read('notification:py-n2', { mark_read: true })
    assert.equal(after.body.unseen, 0)
    assert.equal(after.body.results[0].is_seen, true)
    assert.equal((await read('notification:py-n2')).body.unread, 0)
  })
})

describe('stream-python: users, collections, reactions', () => {
  it('users: get_or_create=True/False, with_follow_counts=True, data null', async () => {
    const token = await scope('users', '*', '*')
    assert.equal(
      (
        await wire.send('POST', 'user/', {
          token,
          body: { id: 'py-u', data: null },
          query: { get_or_create: false },
        })
      ).status,
      200,
    )
    const again = await wire.send('POST', 'user/', {
      token,
      body: { id: 'py-u', data: { n: 1 } },
      query: { get_or_create: true },
    })
    assert.equal(again.status, 200, JSON.stringify(again.body))
    assert.deepEqual(again.body.data, {})
    assert.equal(
      (
        await wire.send('POST', 'user/', {
          token,
          body: { id: 'py-u', data: {} },
          query: { get_or_create: false },
        })
      ).status,
      409,
    )
    const profile = await wire.send('GET', 'user/py-u/', { token, query: { with_follow_counts: true } })
    assert.equal(profile.body.followers_count, 0)
  })

  it('collections: add sends "id": null and "user_id": null', async () => {
    const token = await scope('collections', '*', '*')
    const res = await wire.send('POST', 'collections/items/', {
      token,
      body: { id: null, data: { data: 1 }, user_id: null },
    })
    assert.equal(res.status, 200, JSON.stringify(res.body))
    assert.match(res.body.id, /^[0-9a-f-]{36}$/)
    const named = await wire.send('POST', 'collections/items/', {
      token,
      body: { id: 'py-item', data: { n: 1 }, user_id: 'py-owner' },
    })
    assert.equal(named.status, 200)
  })

  it('reactions: any UUID as activity_id; soft=True keeps it readable with deleted_at; restore of a live one is a 404', async () => {
    const token = await scope('reactions', '*', '*')
    const activity = '54a60c1e-4ee3-494b-a1e3-50c06acb5ed4'
    const added = await wire.send('POST', 'reaction/', {
      token,
      body: {
        activity_id: activity,
        kind: 'like',
        data: {},
        target_feeds: [],
        user_id: 'mike',
        target_feeds_extra_data: null,
      },
    })
    assert.equal(added.status, 200, JSON.stringify(added.body))
    assert.equal(added.body.activity_id, activity)
    const id = added.body.id
    const live = await wire.send('PUT', `reaction/${id}/restore/`, { token })
    assert.equal(live.status, 404)
    assert.equal(live.body.exception, 'DoesNotExistException')
    assert.equal((await wire.send('DELETE', `reaction/${id}/`, { token, query: { soft: true } })).status, 200)
    const deleted = await wire.send('GET', `reaction/${id}/`, { token })
    assert.equal(deleted.status, 200)
    assert.ok(deleted.body.deleted_at)
    assert.deepEqual(
      (await wire.send('GET', `reaction/activity_id/${activity}/`, { token })).body.results,
      [],
    )
    assert.equal((await wire.send('PUT', `reaction/${id}/restore/`, { token })).status, 200)
    const restored = await wire.send('GET', `reaction/${id}/`, { token })
    assert.equal('deleted_at' in restored.body, false)
    const hard = await wire.send('DELETE', `reaction/${id}/`, { token, query: { soft: false } })
    assert.equal(hard.status, 200)
    assert.equal((await wire.send('GET', `reaction/${id}/`, { token })).status, 404)
    const notUuid = await wire.send('POST', 'reaction/', {
      token,
      body: { activity_id: 'not-a-uuid', kind: 'like', data: {}, target_feeds: [], user_id: 'mike' },
    })
    assert.equal(notUuid.status, 400)
  })
})

describe('leniency never widens a permission', () => {
  it("a valid target_token does not let a user token make another user's feed follow", async () => {
    const res = await wire.send('POST', 'feed/timeline/victim/follows/', {
      token: await userToken('mallory'),
      body: { target: 'user:mallory', target_token: await scope('feed', '*', '*') },
    })
    assert.equal(res.status, 403)
    assert.equal(res.body.code, 17)
  })

  it('a genuine server feed token in a to target does not let a user token write to that feed', async () => {
    // Stream's policy: a user may put only its own feeds and notification feeds in `to`.
    for (const target of ['timeline:victim', 'user:victim']) {
      const res = await wire.send('POST', 'feed/user/mallory/', {
        token: await userToken('mallory'),
        body: {
          actor: 'SU:mallory',
          verb: 'post',
          object: 'x',
          to: [`${target} ${await scope('*', '*', '*')}`],
        },
      })
      assert.equal(res.status, 403, `${target}: ${JSON.stringify(res.body)}`)
    }
    assert.equal((await read('timeline:victim')).body.results.length, 0)
    assert.equal((await read('user:mallory')).body.results.length, 0)
  })

  it("a user token as to target token must be the target feed owner's own", async () => {
    const res = await wire.send('POST', 'feed/user/mallory/', {
      token: await userToken('mallory'),
      body: {
        actor: 'SU:mallory',
        verb: 'post',
        object: 'x',
        to: [`notification:bob ${await userToken('mallory')}`],
      },
    })
    assert.equal(res.status, 401)
    const own = await wire.send('POST', 'feed/user/mallory/', {
      token: await userToken('mallory'),
      body: {
        actor: 'SU:mallory',
        verb: 'post',
        object: 'x',
        to: [`notification:bob ${await userToken('bob')}`],
      },
    })
    assert.equal(own.status, 200, JSON.stringify(own.body))
    assert.deepEqual(own.body.to, ['notification:bob'])
  })
})

describe('reactions to unknown activity ids', () => {
  it('a server token adds them for a user; other user tokens can neither update nor delete them', async () => {
    const activity = '0b5c9a1e-4ee3-494b-a1e3-50c06acb5ed4'
    const added = await wire.send('POST', 'reaction/', {
      token: await scope('reactions', '*', '*'),
      body: { activity_id: activity, kind: 'like', data: {}, target_feeds: [], user_id: 'bob' },
    })
    assert.equal(added.status, 200, JSON.stringify(added.body))
    assert.equal(added.body.user_id, 'bob')
    const mallory = await userToken('mallory')
    const update = await wire.send('PUT', `reaction/${added.body.id}/`, {
      token: mallory,
      body: { data: { x: 1 } },
    })
    assert.equal(update.status, 403)
    assert.equal((await wire.send('DELETE', `reaction/${added.body.id}/`, { token: mallory })).status, 403)
  })

  it('a user token may not: an unknown id is refused like an unreadable one (no existence oracle)', async () => {
    const posted = await add('timeline:victim', { actor: 'victim', verb: 'secret', object: 'x' })
    const mallory = await userToken('mallory')
    const react = (activity_id: string) =>
      wire.send('POST', 'reaction/', {
        token: mallory,
        body: { activity_id, kind: 'like', data: {}, target_feeds: [] },
      })
    const unknown = await react('0b5c9a1e-4ee3-494b-a1e3-50c06acb5ed5')
    const hidden = await react(posted.body.id)
    assert.equal(unknown.status, 400)
    assert.equal(hidden.status, 400)
    assert.equal(unknown.body.detail.replace(/got .*/, ''), hidden.body.detail.replace(/got .*/, ''))
  })
})
