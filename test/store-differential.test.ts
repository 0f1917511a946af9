/**
 * Differential test: the memory store (the reference) and SQLite, PostgreSQL and PostgreSQL +
 * Redis replay the same seeded random writes, fan-outs and marks, and must show the same groups,
 * counters, flags and entries after every 20 steps. A failure names the store and the step, and
 * replays from its seed.
 */
import assert from 'node:assert/strict'
import { after, describe, it } from 'node:test'
import { MemoryStore } from '../src/store/memory/memory-store.js'
import { openRedisStore } from '../src/store/redis/index.js'
import { openSqliteStore } from '../src/store/sqlite/index.js'
import type { EntryShape, EntryWrite, FanoutJob, MarkTarget, Store, WriteBatch } from '../src/store/store.js'
import { sk } from '../src/testing/store-contract.js'
import { PG_URL, postgresUnavailable, ScratchSchemas } from './fixtures/postgres-store.js'
import { REDIS_URL, redisUnavailable, ScratchPrefixes } from './fixtures/redis.js'

/** A small deterministic PRNG so a failure replays. */
function prng(seed: number) {
  let s = seed
  return (n: number) => {
    s = (s * 1_103_515_245 + 12_345) % 2 ** 31
    return Math.floor((s / 2 ** 31) * n)
  }
}

const FEEDS = ['notification:a', 'notification:b', 'timeline_aggregated:c']

async function snapshot(store: Store) {
  const out: unknown[] = []
  for (const feed of FEEDS) {
    const { groups, unseen, unread } = await store.timelines.readGroups(feed, { limit: 100, offset: 0 }, 3, {
      counts: true,
    })
    out.push(
      feed,
      { unseen, unread },
      groups.map((g) => [
        g.id,
        g.group,
        g.firstSk,
        g.lastSk,
        g.activityCount,
        g.actorCount,
        g.seen,
        g.read,
        g.activities.map((a) => [a.sk, a.origin]),
      ]),
    )
  }
  return out
}

/** Every store's snapshot equals the reference's (the first store's). */
async function agree(all: Store[], when: string): Promise<void> {
  const [expected, ...others] = await Promise.all(all.map((store) => snapshot(store)))
  others.forEach((got, i) => {
    assert.deepEqual(got, expected, `${all[i + 1].name} ${when}`)
  })
}

const pgSkip = await postgresUnavailable()
const redisSkip = pgSkip ?? (await redisUnavailable())
const schemas = new ScratchSchemas('diff')
const prefixes = new ScratchPrefixes('diff')
after(async () => {
  await schemas.drop()
  if (!redisSkip) await prefixes.drop()
})

/**
 * The stores compared: the memory reference first, then SQLite and, when reachable, PostgreSQL
 * and PostgreSQL + Redis (each with a schema, and Redis a key prefix, of its own).
 */
async function stores(): Promise<Store[]> {
  const out: Store[] = [new MemoryStore(), openSqliteStore(':memory:')]
  if (!pgSkip) out.push(await schemas.open(schemas.name()))
  if (!redisSkip) {
    out.push(
      await openRedisStore({
        store: PG_URL,
        schema: schemas.name(),
        timelines: REDIS_URL,
        prefix: prefixes.name(),
        max: 2,
        // Priority only orders a job's deliveries; what they deliver is what is compared.
        activeWindowMs: 0,
      }),
    )
  }
  return out
}

/** Follower feeds of the author, and the shapes its fan-out gives them. */
const AUTHOR = 'user:author'
const shapes = (n: number): Record<string, EntryShape> => ({
  notification: { kind: 'notification', group: `g${n % 4}`, actor: `u${n % 3}`, groupId: `id-${n}` },
  timeline_aggregated: { kind: 'aggregated', group: `g${n % 2}`, actor: `u${n % 3}`, groupId: `id-${n}` },
})

describe('memory, SQLite, PostgreSQL and PostgreSQL + Redis stores agree under random writes, fan-out and marks', () => {
  for (const seed of [1, 2, 3]) {
    it(`seed ${seed}: 400 random operations`, async () => {
      const rand = prng(seed)
      const all = await stores()
      const bodies = Array.from({ length: 40 }, (_, n) => ({ sk: sk(n), body: JSON.stringify({ n }) }))
      for (const store of all) await store.write({ activities: bodies })
      try {
        for (let step = 0; step < 400; step++) {
          const feed = FEEDS[rand(FEEDS.length)]
          const kind = feed.startsWith('notification') ? 'notification' : 'aggregated'
          const op = rand(10)
          let batch: WriteBatch = {}
          let mark: [MarkTarget | undefined, MarkTarget | undefined] | undefined
          if (op < 5) {
            const add: EntryWrite[] = Array.from({ length: 1 + rand(3) }, () => rand(40)).map((n) => ({
              feed,
              kind,
              sk: sk(n),
              origin: rand(2) ? 'user:o' : null,
              group: `g${rand(4)}`,
              actor: `u${rand(3)}`,
              groupId: `id-${n}`,
              ...(rand(8) === 0 ? { maxLength: 1 + rand(3) } : {}),
            }))
            batch = { add }
          } else if (op < 7) {
            batch = { remove: [{ feed, sk: sk(rand(40)) }] }
          } else if (op < 8) {
            batch = rand(2)
              ? { removeByOrigin: [{ feed, origin: 'user:o' }] }
              : rand(2)
                ? { follow: [{ source: feed, target: AUTHOR }] }
                : { unfollow: [{ source: feed, target: AUTHOR }], removeByOrigin: [{ feed, origin: AUTHOR }] }
          } else if (op < 9) {
            // Fan-out of an activity (or its withdrawal) through the author's followers, in chunks of 1.
            const n = rand(40)
            const job: FanoutJob = rand(3)
              ? { id: `j${step}`, op: 'add', feed: AUTHOR, sk: sk(n), shapes: shapes(n), cursor: null }
              : { id: `j${step}`, op: 'remove', feed: AUTHOR, sk: sk(n), cursor: null }
            batch = { fanout: [job], chunkSize: 1 }
          } else {
            const {
              groups: [one],
            } = await all[0].timelines.readGroups(feed, { limit: 1, offset: rand(4) }, 1)
            const target = (): MarkTarget | undefined =>
              rand(3) === 0 ? true : one && rand(2) ? [one.id] : undefined
            mark = [target(), target()]
          }
          // The stores are independent: each applies the step in order, all of them at once.
          await Promise.all(
            all.map(async (store) => {
              if (mark) {
                await store.timelines.readGroups(feed, { limit: 0, offset: 0 }, 1, {
                  seen: mark[0],
                  read: mark[1],
                })
                return
              }
              for (const pending of await store.write(batch)) {
                let next: FanoutJob | null = pending
                while (next) next = await store.jobs.runFanout(next, 1)
              }
            }),
          )
          if (step % 20 === 19) await agree(all, `step ${step}`)
        }
        await agree(all, 'at the end')
      } finally {
        for (const store of all) await store.close()
      }
    })
  }
})
