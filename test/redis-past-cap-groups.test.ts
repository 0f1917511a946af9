/**
 * Aggregated and notification pages past Redis's cap: the groups Redis no longer holds are built
 * by the engine from PostgreSQL (src/engine/past-cap-groups.ts). The same operations on the memory store
 * (no cap) give the groups to expect; paging by offset or by id_lt cursors shows every activity
 * once, newest group first, and a page reads what it needs, not the whole past.
 */
import assert from 'node:assert/strict'
import { after, describe, it } from 'node:test'
import { connect } from '../src/client/client.js'
import type { ActivityInput } from '../src/client/types.js'
import type { EddyError } from '../src/engine/errors.js'
import { skToId, sortKey } from '../src/engine/ids.js'
import { MAX_PAST_CAP_READ, READ_BATCH } from '../src/engine/past-cap-groups.js'
import type { AggregatedGroup, NotificationGroup } from '../src/engine/read.js'
import { openRedisStore, type RedisStore } from '../src/store/redis/index.js'
import { PG_URL, postgresUnavailable, ScratchSchemas } from './fixtures/postgres-store.js'
import { REDIS_URL, redisUnavailable, ScratchPrefixes } from './fixtures/redis.js'
import { must } from './helpers.js'

const skip = (await postgresUnavailable()) ?? (await redisUnavailable())
const schemas = new ScratchSchemas('pastcapgroups')
const prefixes = new ScratchPrefixes('pastcap')
after(async () => {
  await schemas.drop()
  if (!skip) await prefixes.drop()
})

const HOUR = 3_600_000
const DAY = 24 * HOUR
const BASE = Date.UTC(2026, 2, 1)
const at = (ms: number) => new Date(BASE + ms).toISOString().replace('Z', '')

/** Eight days; each day likes and posts interleave, so each day has a `like` and a `post` group. */
function week(): ActivityInput[] {
  const out = []
  for (let day = 0; day < 8; day++) {
    for (let k = 0; k < 4; k++) {
      out.push({
        actor: `u${k % 3}`,
        verb: k % 2 === 0 ? 'like' : 'post',
        object: `o:${day}:${k}`,
        time: at(day * DAY + k * HOUR),
      })
    }
  }
  return out
}

const memoryClient = () => connect({ store: 'memory' })
type Client = ReturnType<typeof memoryClient>
type Group = AggregatedGroup | NotificationGroup

/** What a group shows, without the notification flags. */
const shape = (g: Group) => ({
  id: g.id,
  group: g.group,
  verb: g.verb,
  activity_count: g.activity_count,
  actor_count: g.actor_count,
  created_at: g.created_at,
  updated_at: g.updated_at,
  activities: g.activities.map((a) => a.id),
})

/** Adds the week (oldest first, as it happened) through user:a, to t's aggregated feed and n's notifications. */
async function play(client: Client): Promise<void> {
  await client.feed('timeline_aggregated', 't').follow('user', 'a')
  const activities = week()
  await client.feed('user', 'a').addActivities(activities)
  await client.feed('notification', 'n').addActivities(activities)
  await client.flush()
}

async function page(client: Client, slug: string, user: string, options: Record<string, unknown>) {
  return (await client.feed(slug, user).get(options)) as unknown as {
    results: Group[]
    next: string
    unseen?: number
    unread?: number
  }
}

describe('grouped pages past the Redis cap', { skip }, () => {
  const open = (cap: number) =>
    openRedisStore({
      store: `${PG_URL}?schema=${schemas.name()}`,
      timelines: REDIS_URL,
      prefix: prefixes.name(),
      cap,
    })

  /** The memory store's groups for the same operations: what an uncapped timeline holds. */
  async function uncapped(slug: string, user: string): Promise<Group[]> {
    const memory = memoryClient()
    try {
      await play(memory)
      return (await page(memory, slug, user, { limit: 100 })).results
    } finally {
      await memory.close()
    }
  }

  for (const [slug, user] of [
    ['timeline_aggregated', 't'],
    ['notification', 'n'],
  ] as const) {
    it(`${slug}: pages by offset and by id_lt show the uncapped groups, each activity once`, async () => {
      const expected = (await uncapped(slug, user)).map(shape)
      assert.equal(expected.length, 16)
      const store = await open(3)
      const client = connect({ store })
      try {
        await play(client)
        // Redis holds 3 groups; the other 13 come from PostgreSQL.
        const all = await page(client, slug, user, { limit: 100 })
        assert.deepEqual(all.results.map(shape), expected)
        assert.equal(all.next, '')

        for (const limit of [1, 2, 3, 5]) {
          const byOffset: Group[] = []
          for (let offset = 0; offset < 20; offset += limit) {
            byOffset.push(...(await page(client, slug, user, { limit, offset })).results)
          }
          assert.deepEqual(byOffset.map(shape), expected, `limit ${limit} by offset`)

          const byCursor: Group[] = []
          let options: Record<string, unknown> = { limit }
          for (;;) {
            const { results, next } = await page(client, slug, user, options)
            byCursor.push(...results)
            if (next === '') break
            const last = must(results.at(-1), 'a group on a page with a next link')
            assert.equal(new URL(next, 'http://x').searchParams.get('id_lt'), last.id)
            options = { limit, id_lt: last.id }
          }
          assert.deepEqual(byCursor.map(shape), expected, `limit ${limit} by id_lt`)
        }
        const ids = expected.flatMap((g) => g.activities)
        assert.equal(new Set(ids).size, 32)

        // Cursors at any group past the cap: id_lt after it, id_lte from it, id_gt before it.
        for (const i of [3, 4, 9, 15]) {
          const id = expected[i].id
          assert.deepEqual(
            (await page(client, slug, user, { limit: 100, id_lt: id })).results.map(shape),
            expected.slice(i + 1),
          )
          assert.deepEqual(
            (await page(client, slug, user, { limit: 3, id_lte: id })).results.map(shape),
            expected.slice(i, i + 3),
          )
          assert.deepEqual(
            (await page(client, slug, user, { limit: 100, id_gt: id })).results.map(shape),
            expected.slice(0, i),
          )
          assert.deepEqual(
            (await page(client, slug, user, { limit: 100, id_gte: id, id_lt: expected[1].id })).results.map(
              shape,
            ),
            expected.slice(2, i + 1),
          )
        }
      } finally {
        await client.close()
      }
    })
  }

  it('notification groups past the cap are seen and read; counts and marks concern the held groups', async () => {
    const store = await open(3)
    const client = connect({ store })
    try {
      await play(client)
      const first = await page(client, 'notification', 'n', { limit: 5 })
      assert.deepEqual(
        first.results.map((g) => [(g as NotificationGroup).is_seen, (g as NotificationGroup).is_read]),
        [
          [false, false],
          [false, false],
          [false, false],
          [true, true],
          [true, true],
        ],
      )
      assert.deepEqual([first.unseen, first.unread], [3, 3])
      // Marking a group past the cap changes nothing; marking all marks the held ones.
      const old = first.results[4].id
      await page(client, 'notification', 'n', { limit: 1, mark_seen: old, mark_read: [old] })
      const unmarked = await page(client, 'notification', 'n', { limit: 10, offset: 4, mark_seen: true })
      assert.deepEqual([unmarked.unseen, unmarked.unread], [3, 3])
      const after = await page(client, 'notification', 'n', { limit: 5 })
      assert.deepEqual([after.unseen, after.unread], [0, 3])
      assert.deepEqual(
        after.results.map((g) => [(g as NotificationGroup).is_seen, (g as NotificationGroup).is_read]),
        [
          [true, false],
          [true, false],
          [true, false],
          [true, true],
          [true, true],
        ],
      )
    } finally {
      await client.close()
    }
  })

  it('a group key Redis holds a newer group of shows again past the cap, with its older activities', async () => {
    const store = await open(3)
    const client = connect({ store })
    try {
      await play(client)
      // A late like on day 6, newer than day 6's post: Redis starts a new group for it (the old
      // like group of that day was dropped) and drops day 6's post group instead.
      const late = await client
        .feed('notification', 'n')
        .addActivity({ actor: 'u9', verb: 'like', object: 'o:late', time: at(6 * DAY + 23 * HOUR) })
      const { results } = await page(client, 'notification', 'n', { limit: 100 })
      const ids = results.flatMap((g) => g.activities.map((a) => a.id))
      assert.equal(ids.length, 33)
      assert.equal(new Set(ids).size, 33)
      const split = results.filter((g) => g.group === 'like_2026-03-07')
      assert.deepEqual(
        split.map((g) => [g.activity_count, g.id === late.id]),
        [
          [1, true],
          [2, false],
        ],
      )
      assert.deepEqual(
        results.slice(0, 5).map((g) => g.group),
        ['post_2026-03-08', 'like_2026-03-08', 'like_2026-03-07', 'post_2026-03-07', 'like_2026-03-07'],
      )
    } finally {
      await client.close()
    }
  })

  it('a day with more activities past the cap than a bucket holds is grouped by hour, each activity once', async () => {
    const store = await open(2)
    const client = connect({ store })
    try {
      // Day 0: 260 likes a minute apart (over 4 hours); days 1 and 2: a post each.
      const likes = Array.from({ length: 260 }, (_, i) => ({
        actor: `u${i % 5}`,
        verb: 'like',
        object: `o:${i}`,
        time: at(i * 60_000),
      }))
      for (let i = 0; i < likes.length; i += 100) {
        await client.feed('notification', 'big').addActivities(likes.slice(i, i + 100))
      }
      for (const day of [1, 2]) {
        await client
          .feed('notification', 'big')
          .addActivity({ actor: 'u0', verb: 'post', object: `p:${day}`, time: at(day * DAY) })
      }
      const all = (await page(client, 'notification', 'big', { limit: 100 })).results
      // Two held posts, then the likes of day 0 by hour (60, 60, 60, 60, 20), newest first.
      assert.deepEqual(
        all.map((g) => [g.group, g.activity_count]),
        [
          ['post_2026-03-03', 1],
          ['post_2026-03-02', 1],
          ['like_2026-03-01', 20],
          ['like_2026-03-01', 60],
          ['like_2026-03-01', 60],
          ['like_2026-03-01', 60],
          ['like_2026-03-01', 60],
        ],
      )
      const byCursor: Group[] = []
      let options: Record<string, unknown> = { limit: 2 }
      for (;;) {
        const { results, next } = await page(client, 'notification', 'big', options)
        byCursor.push(...results)
        if (next === '') break
        options = { limit: 2, id_lt: must(results.at(-1), 'a group on a page with a next link').id }
      }
      assert.deepEqual(byCursor.map(shape), all.map(shape))
      assert.equal(
        all.reduce((n, g) => n + g.activity_count, 0),
        262,
      )
    } finally {
      await client.close()
    }
  })

  it('a page past the cap reads what it needs plus a bounded look-ahead, whatever the offset', async () => {
    const store = (await open(3)) as RedisStore
    const client = connect({ store })
    try {
      // 1,200 notifications an hour apart, each its own group (a verb per activity).
      const all = Array.from({ length: 1_200 }, (_, i) => ({
        actor: 'u',
        verb: `v${i}`,
        object: `o:${i}`,
        time: at(i * HOUR),
      }))
      for (let i = 0; i < all.length; i += 100) {
        await client.feed('notification', 'deep').addActivities(all.slice(i, i + 100))
      }
      let asked = 0
      const read = store.timelines.readPastCap.bind(store.timelines)
      store.timelines.readPastCap = (feed, below, limit, floor) => {
        asked += limit
        return read(feed, below, limit, floor)
      }
      const take = async (options: Record<string, unknown>) => {
        asked = 0
        const { results } = await page(client, 'notification', 'deep', options)
        return { verbs: results.map((g) => g.verb), asked }
      }
      const shallow = await take({ limit: 5, offset: 20 })
      assert.deepEqual(
        shallow.verbs,
        [1179, 1178, 1177, 1176, 1175].map((i) => `v${i}`),
      )
      assert.ok(shallow.asked <= READ_BATCH, `asked ${shallow.asked}`)
      const deep = await take({ limit: 100, offset: 1_000 })
      assert.deepEqual(
        deep.verbs,
        Array.from({ length: 100 }, (_, i) => `v${199 - i}`),
      )
      // 1,100 groups of one activity: 1,097 of them past the cap, read in batches.
      assert.ok(deep.asked <= 1_100 + READ_BATCH, `asked ${deep.asked}`)
      const cursor = await take({
        limit: 10,
        id_lt: (await page(client, 'notification', 'deep', { limit: 1, offset: 600 })).results[0].id,
      })
      assert.deepEqual(
        cursor.verbs,
        Array.from({ length: 10 }, (_, i) => `v${598 - i}`),
      )
      // Finding the cursor's bucket and the page: a few batches, not the 600 groups above it.
      assert.ok(cursor.asked <= 3 * READ_BATCH, `asked ${cursor.asked}`)
    } finally {
      await client.close()
    }
  })

  it('a page that would read past the bound is refused with a 400 once the bound is read', async () => {
    const store = (await open(3)) as RedisStore
    const client = connect({ store })
    try {
      await play(client)
      // Fault injection: the past below the held groups is endless, every activity at one
      // microsecond (no finer bucket to split it into), so only the bound stops the read.
      const micros = (BASE + 3 * DAY) * 1000
      let asked = 0
      let made = 0
      store.timelines.readPastCap = async (_feed, _below, limit) => {
        asked += limit
        const entries = Array.from({ length: limit }, () => {
          made++
          const sk = sortKey(micros, (0xffff_ffff - made).toString(16).padStart(16, '0'))
          return {
            sk,
            origin: null,
            body: JSON.stringify({
              id: skToId(sk),
              actor: 'u',
              verb: 'like',
              object: `o:${made}`,
              time: at(3 * DAY),
            }),
          }
        })
        return { entries, next: must(entries.at(-1), 'an entry past the cap').sk }
      }
      await assert.rejects(page(client, 'notification', 'n', { limit: 10 }), (error: EddyError) => {
        assert.equal(error.status_code, 400)
        assert.match(error.detail, /would read more than 25000 activities past the timeline cap/)
        return true
      })
      assert.ok(asked <= MAX_PAST_CAP_READ, `asked ${asked}`)
    } finally {
      await client.close()
    }
  })
})
