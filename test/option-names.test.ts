/**
 * Misspelt options (issue 19 item 6): every public method of the embedded client, `connect()`,
 * `configure()` and `createServer()` refuse a name they do not know with one wording — the name,
 * the valid ones, and the nearest ("did you mean") — and async methods reject rather than throw. getstream's own
 * spellings (camelCase and snake_case enrichment flags, ranking options) stay valid. The CLI's
 * flags are pinned in test/cli-hints.test.ts; the compile-time side in test/types/options.test-d.ts.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { connect, type EddyClient, EddyError } from 'eddy'
import { createServer } from 'eddy/server'
import { configure, resetSettings } from '../src/django/settings.js'
import { closest, unknownOptionMessage } from '../src/engine/option-names.js'

/** Asserts an InputException whose detail matches, with the name as its field. */
function isUnknown(where: string, key: string, guess: string | undefined) {
  return (error: unknown) => {
    assert.ok(error instanceof EddyError, `an EddyError, got ${String(error)}`)
    assert.equal(error.exception, 'InputException')
    assert.equal(error.status_code, 400)
    assert.ok(
      error.detail.startsWith(`${where} has no `) && error.detail.includes(` ${JSON.stringify(key)}; the `),
      error.detail,
    )
    if (guess === undefined) assert.doesNotMatch(error.detail, /did you mean/)
    else assert.ok(error.detail.endsWith(`; did you mean ${JSON.stringify(guess)}?`), error.detail)
    assert.ok(key in (error.error.exception_fields ?? {}), 'the field names the option')
    return true
  }
}

describe('closest()', () => {
  it('finds typos, swaps, prefixes and other casings; nothing for a word far from all', () => {
    assert.equal(closest('limt', ['limit', 'offset']), 'limit')
    assert.equal(closest('prot', ['port', 'host', 'store']), 'port')
    assert.equal(closest('with_own_reactions', ['withOwnReactions', 'withOwnChildren']), 'withOwnReactions')
    assert.equal(closest('metrics', ['metrics-port', 'port']), 'metrics-port')
    assert.equal(closest('banana', ['limit', 'offset']), undefined)
    assert.equal(
      unknownOptionMessage('feed.get()', 'limt', ['limit', 'offset']),
      'feed.get() has no option "limt"; the options are limit, offset; did you mean "limit"?',
    )
  })
})

describe('unknown options of the embedded client', () => {
  let client: EddyClient
  let activityId: string
  let reactionId: string

  before(async () => {
    client = connect({ store: 'memory', auditLog: true })
    const added = await client
      .feed('user', '1')
      .addActivity({ actor: 'u1', verb: 'post', object: 'o', foreign_id: 'f:1', time: '2026-01-01T00:00:00' })
    activityId = added.id
    reactionId = (await client.reactions.add('like', activityId, {}, { userId: 'u2' })).id
  })
  after(() => client.close())

  it('feed.get({ limt: 5 }) rejects (a promise, never a throw) naming limit', async () => {
    const call = client.feed('user', '1').get({ limt: 5 } as never)
    assert.ok(call instanceof Promise)
    await assert.rejects(call, isUnknown('feed.get()', 'limt', 'limit'))
    await assert.rejects(
      client.feed('user', '1').get({ limt: 5 } as never),
      /the options are limit, offset, id_lt, id_lte, id_gt, id_gte, mark_seen, mark_read, enrich, withOwnReactions/,
    )
  })

  // [call, where, misspelt name, expected guess]
  const cases: [string, (c: EddyClient) => Promise<unknown>, string, string | undefined][] = [
    [
      'feed.getActivityDetail()',
      (c) => c.feed('user', '1').getActivityDetail(activityId, { withOwnReaction: true } as never),
      'withOwnReaction',
      'withOwnReactions',
    ],
    [
      'feed.follow()',
      (c) => c.feed('timeline', '1').follow('user', '2', { limt: 1 } as never),
      'limt',
      'limit',
    ],
    [
      'feed.unfollow()',
      (c) => c.feed('timeline', '1').unfollow('user', '2', { keep_history: true } as never),
      'keep_history',
      'keepHistory',
    ],
    ['feed.followers()', (c) => c.feed('user', '1').followers({ ofset: 1 } as never), 'ofset', 'offset'],
    [
      'feed.following()',
      (c) => c.feed('user', '1').following({ filters: ['user:2'] } as never),
      'filters',
      'filter',
    ],
    [
      'feed.followStats()',
      (c) => c.feed('user', '1').followStats({ followerSlug: ['user'] } as never),
      'followerSlug',
      'followerSlugs',
    ],
    ['getActivities()', (c) => c.getActivities({ id: [activityId] } as never), 'id', 'ids'],
    [
      'activityPartialUpdate()',
      (c) => c.activityPartialUpdate({ id: activityId, sett: { a: 1 } } as never),
      'sett',
      'set',
    ],
    [
      'activitiesPartialUpdate()',
      (c) => c.activitiesPartialUpdate([{ id: activityId, unsets: ['a'] } as never]),
      'unsets',
      'unset',
    ],
    [
      'followMany()',
      (c) => c.followMany([{ source: 'timeline:1', target: 'user:2', activityCopyLimit: 1 } as never]),
      'activityCopyLimit',
      'activity_copy_limit',
    ],
    [
      'unfollowMany()',
      (c) => c.unfollowMany([{ source: 'timeline:1', target: 'user:2', keepHistory: true } as never]),
      'keepHistory',
      'keep_history',
    ],
    [
      'reactions.add()',
      (c) => c.reactions.add('like', activityId, {}, { user_id: 'u3' } as never),
      'user_id',
      'userId',
    ],
    [
      'reactions.addChild()',
      (c) => c.reactions.addChild('like', reactionId, {}, { userId: 'u3', id: 'x' } as never),
      'id',
      undefined,
    ],
    [
      'reactions.update()',
      (c) => c.reactions.update(reactionId, {}, { target_feeds: [] } as never),
      'target_feeds',
      'targetFeeds',
    ],
    ['reactions.filter()', (c) => c.reactions.filter({ activityId } as never), 'activityId', 'activity_id'],
    [
      'auditLogs.filter()',
      (c) => c.auditLogs.filter({ entityType: 'activity' } as never),
      'entityType',
      'entity_type',
    ],
  ]
  for (const [where, call, key, guess] of cases) {
    it(`${where} rejects ${JSON.stringify(key)}${guess ? ` suggesting ${guess}` : ''}`, async () => {
      await assert.rejects(call(client), isUnknown(where, key, guess))
    })
  }

  it('accepts every spelling getstream sends (camelCase and snake_case flags, ranking options)', async () => {
    const flags = {
      enrich: true,
      withOwnReactions: true,
      ownReactions: true,
      withRecentReactions: true,
      withReactionCounts: true,
      withOwnChildren: false,
      recentReactionsLimit: 5,
      reactionKindsFilter: ['like'],
      user_id: 'u2',
      withUserId: 'u2',
      reactions: { own: true, recent: true, counts: true },
    }
    const page = await client.feed('user', '1').get({
      ...flags,
      limit: 5,
      offset: 0,
      id_lte: activityId,
      ranking: 'popular',
      rankingVars: { boost: 2 },
      ranking_vars: '{"boost":2}',
      session: 's1',
      withScoreVars: false,
      refresh: true,
    })
    const [first] = page.results as { reaction_counts?: Record<string, number> }[]
    assert.equal(first?.reaction_counts?.like, 1)
    await client.feed('notification', '1').get({ mark_seen: true, mark_read: 'current' })
    const { results } = await client.getActivities({ ids: [activityId], ...flags })
    const [got] = results as { own_reactions?: Record<string, unknown[]> }[]
    assert.equal(got?.own_reactions?.like?.length, 1)
    await client.getActivities({ foreignIDTimes: [{ foreignID: 'f:1', time: '2026-01-01T00:00:00' }] })
    await client.feed('timeline', '1').follow('user', '1', { limit: 1 })
    await client.feed('timeline', '1').unfollow('user', '1', { keepHistory: true })
    await client.reactions.filter({
      activity_id: activityId,
      kind: 'like',
      limit: 2,
      with_activity_data: true,
    })
    await client.auditLogs.filter({ entity_type: 'activity', entity_id: activityId, limit: 1 })
  })
})

describe('connect() and configure()', () => {
  it('connect() names the option it does not know and guesses the one meant', () => {
    assert.throws(() => connect({ stor: 'memory' } as never), isUnknown('connect()', 'stor', 'store'))
  })

  it('a feed group option that does not exist is a FeedConfigException with the hint', () => {
    assert.throws(
      () =>
        connect({
          store: 'memory',
          feedGroups: { photos: { type: 'aggregated', aggregation_format: '{{ verb }}' } },
        } as never),
      (error: unknown) => {
        assert.ok(error instanceof EddyError)
        assert.equal(error.exception, 'FeedConfigException')
        assert.equal(
          error.detail,
          'feed group photos has no option "aggregation_format"; the options are type, aggregationFormat, maxActivitiesPerGroup, maxLength; did you mean "aggregationFormat"?',
        )
        return true
      },
    )
  })

  it('createServer() names the option it does not know', () => {
    assert.throws(
      () => createServer({ apiKey: 'k', apiSecret: 's', store: 'memory', cros: false } as never),
      isUnknown('createServer()', 'cros', 'cors'),
    )
  })

  it('configure() lists the settings and guesses the one meant', async () => {
    assert.throws(
      () => configure({ userfeed: 'profile' } as never),
      (error: unknown) => {
        isUnknown('configure()', 'userfeed', 'userFeed')(error)
        assert.match(
          (error as EddyError).detail,
          /has no setting "userfeed"; the settings are apiKey, apiSecret, .*userFeed/,
        )
        return true
      },
    )
    await resetSettings()
  })
})
