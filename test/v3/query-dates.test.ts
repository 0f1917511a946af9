/**
 * V3 queries compare created_at/updated_at as instants, not as text, on every store: a time
 * written without fractional seconds (`…T10:00:00Z`) is the same instant as `…T10:00:00.000Z`,
 * though as text it sorts after every `…T10:00:00.123Z`. Pinned for QueryFeeds, QueryActivities
 * and QueryUsers (QueryPolls in poll-queries); a filter date that is no time is refused.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { startV3, type V3Server, v3Stores } from './harness.js'

/** `at` truncated to whole seconds, written without a fraction (`2026-12-07T10:00:00Z`). */
const wholeSecond = (at: Date) =>
  `${new Date(Math.floor(at.getTime() / 1000) * 1000).toISOString().slice(0, 19)}Z`

/** Stream's error of `code` (4: bad input). */
const code = (n: number) => (err: Error) => new RegExp(`error code ${n}\\b`).test(err.message)

for (const store of await v3Stores('v3qdates')) {
  describe(`V3 queries compare dates as instants (${store.name})`, { skip: store.skip }, () => {
    let s: V3Server
    before(async () => {
      s = await startV3(store)
    })
    after(() => s.close())

    it('QueryFeeds: created_at $gte a whole second finds the feed created within it', async () => {
      const { feed } = await s.server.feeds
        .feed('user', 'qd-amy')
        .getOrCreate({ user_id: 'qd-amy', data: { name: 'Amy', visibility: 'public' } })
      const since = wholeSecond(feed.created_at)
      const { feeds } = await s.server.feeds.queryFeeds({
        filter: { created_by_id: 'qd-amy', created_at: { $gte: since } },
      })
      assert.deepEqual(
        feeds.map((f) => f.feed),
        ['user:qd-amy'],
      )
      const until = await s.server.feeds.queryFeeds({
        filter: { created_by_id: 'qd-amy', created_at: { $lt: since } },
      })
      assert.deepEqual(until.feeds, [])
    })

    it('QueryActivities: created_at $gte a whole second finds the activity added within it', async () => {
      const amy = await s.connect('qd-bea')
      const feed = amy.feed('user', 'qd-bea')
      await feed.getOrCreate()
      const { activity } = await feed.addActivity({ type: 'post', text: 'hello' })
      const since = wholeSecond(activity.created_at)
      const { activities } = await amy.queryActivities({
        filter: { feed: 'user:qd-bea', created_at: { $gte: since } },
      })
      assert.deepEqual(
        activities.map((a) => a.id),
        [activity.id],
      )
    })

    it('QueryUsers: created_at $gte a whole second finds the user created within it', async () => {
      const { users } = await s.server.upsertUsers([{ id: 'qd-cat', name: 'Cat' }])
      const since = wholeSecond(users['qd-cat'].created_at)
      const found = await s.server.queryUsers({
        payload: { filter_conditions: { id: 'qd-cat', created_at: { $gte: since } } },
      })
      assert.deepEqual(
        found.users.map((u) => u.id),
        ['qd-cat'],
      )
    })

    it('refuses a date that is no time', async () => {
      await assert.rejects(
        s.server.feeds.queryFeeds({ filter: { created_at: { $gt: 'yesterday' } } }),
        code(4),
      )
      await assert.rejects(
        s.server.queryUsers({ payload: { filter_conditions: { updated_at: { $in: ['soon'] } } } }),
        code(4),
      )
    })
  })
}
