/**
 * Realtime messages of fan-out chunks on the stores whose walks are not by follower name alone:
 * PostgreSQL with the priority pass (cursors `!a:…`, `!all`), PostgreSQL + Redis, and a Redis
 * Cluster (bucket-ordered cursors). Each listened follower gets exactly one message per
 * activity, with the activity and its origin, whichever pass or chunk delivered it.
 */
import assert from 'node:assert/strict'
import { after, describe, it } from 'node:test'
import { connect } from '../src/client/client.js'
import type { FeedMessage } from '../src/engine/events.js'
import { openPostgresStore } from '../src/store/postgres/index.js'
import { openRedisStore } from '../src/store/redis/index.js'
import type { Store } from '../src/store/store.js'
import { clusterUnavailable, startCluster, type TestCluster } from './fixtures/cluster.js'
import { PG_URL, postgresUnavailable, ScratchSchemas } from './fixtures/postgres-store.js'
import { REDIS_URL, redisUnavailable, ScratchPrefixes } from './fixtures/redis.js'
import { passes } from './fixtures/wait.js'
import { must } from './helpers.js'

const pgSkip = await postgresUnavailable()
const redisSkip = pgSkip ?? (await redisUnavailable())
const clusterSkip = pgSkip ?? (await clusterUnavailable())
const schemas = new ScratchSchemas('rtfanout')
const prefixes = new ScratchPrefixes('rtfanout')
let cluster: TestCluster | undefined
after(async () => {
  await schemas.drop()
  if (!redisSkip) await prefixes.drop()
  if (cluster) {
    await prefixes.drop(undefined, cluster.seeds)
    await cluster.stop()
  }
})

const FOLLOWERS = Array.from({ length: 40 }, (_, i) => `f${String(i).padStart(2, '0')}`)
/** Listened to: two recent readers (delivered by the priority pass, then again by the full one) and three others. */
const ACTIVE = ['f07', 'f31']
const LISTENED = [...ACTIVE, 'f00', 'f19', 'f39']

type Open = () => Promise<Store & { feedReads?: { flush(): Promise<void> } }>

function scenario(name: string, skip: string | undefined, open: Open) {
  describe(name, { skip }, () => {
    it('gives each listened follower one message per activity, from whichever chunk delivered it', async () => {
      const store = await open()
      // Counts finished chunks, so a message can say how far the job was when it came.
      let chunks = 0
      const runFanout = store.jobs.runFanout.bind(store.jobs)
      store.jobs.runFanout = async (...args) => {
        const next = await runFanout(...args)
        chunks++
        return next
      }
      const client = connect({ store, fanoutChunkSize: 3 })
      const heard = new Map<string, FeedMessage[]>()
      const heardAt = new Map<string, number>()
      const stops: (() => void)[] = []
      try {
        await client.ready()
        for (const f of FOLLOWERS) await client.feed('timeline', f).follow('user', 'alice')
        // Read lately, so the priority pass delivers to them first (where the store has one).
        for (const f of ACTIVE) await client.feed('timeline', f).get({ limit: 1 })
        await store.feedReads?.flush()
        for (const f of LISTENED) {
          heard.set(f, [])
          stops.push(
            client.engine.events.listen(`timeline:${f}`, (m) => {
              must(heard.get(f), `${f}'s messages`).push(m)
              if (!heardAt.has(f)) heardAt.set(f, chunks)
            }),
          )
        }
        const first = await client
          .feed('user', 'alice')
          .addActivity({ actor: 'alice', verb: 'post', object: 'post:1' })
        await client.flush()
        const total = chunks
        // A recent reader hears of it in the priority pass, not when the whole job is done.
        await passes(() => assert.ok(ACTIVE.every((f) => heardAt.has(f))))
        for (const f of ACTIVE) {
          assert.ok(
            must(heardAt.get(f), `when ${f} heard`) <= total / 2,
            `${f} heard after ${heardAt.get(f)} of ${total} chunks`,
          )
        }
        // A second activity whose messages come after any late one of the first.
        const second = await client
          .feed('user', 'alice')
          .addActivity({ actor: 'alice', verb: 'post', object: 'post:2' })
        await client.flush()
        await passes(() => {
          for (const f of LISTENED) {
            const ids = must(heard.get(f), `${f}'s messages`).flatMap((m) => m.new.map((a) => a.id))
            assert.ok(ids.includes(second.id), `${f} heard the second activity`)
          }
        })
        for (const f of LISTENED) {
          const news = must(heard.get(f), `${f}'s messages`).flatMap((m) => m.new)
          assert.deepEqual(
            news.map((a) => [a.id, a.origin]),
            [
              [first.id, 'user:alice'],
              [second.id, 'user:alice'],
            ],
            `${f}: each activity once, through user:alice`,
          )
        }
      } finally {
        for (const stop of stops) stop()
        await client.close()
      }
    })
  })
}

scenario('realtime fan-out: PostgreSQL with the priority pass', pgSkip, async () => {
  return openPostgresStore(PG_URL, { schema: schemas.name() })
})

scenario('realtime fan-out: PostgreSQL + Redis with the priority pass', redisSkip, async () =>
  openRedisStore({
    store: `${PG_URL}?schema=${schemas.name()}`,
    timelines: REDIS_URL,
    prefix: prefixes.name(),
  }),
)

scenario('realtime fan-out: PostgreSQL + Redis Cluster (bucket-ordered walk)', clusterSkip, async () => {
  cluster ??= await startCluster()
  return openRedisStore({
    store: `${PG_URL}?schema=${schemas.name()}`,
    timelines: cluster.url,
    prefix: prefixes.name(),
  })
})
