/**
 * The store contract on PostgreSQL + a single Redis (127.0.0.1:6379; PostgreSQL schema and Redis
 * key prefix of this run's own, removed afterwards), plus what only this store shows: where
 * each thing lives, the cap, bad locations, and a Redis outage in the middle of writes.
 */
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { promisify } from 'node:util'
import { Redis } from 'ioredis'
import pg from 'pg'
import { connect } from '../src/client/client.js'
import type { Activity } from '../src/engine/activity.js'
import type { EddyError } from '../src/engine/errors.js'
import { StoreError } from '../src/store/errors.js'
import { openRedisStore } from '../src/store/redis/index.js'
import { runStoreContract, sk } from '../src/testing/store-contract.js'
import { eventually, PG, PG_URL, postgresUnavailable, ScratchSchemas } from './fixtures/postgres-store.js'
import { PrivateRedis, REDIS_URL, redisUnavailable, ScratchPrefixes } from './fixtures/redis.js'
import { body, flat } from './fixtures/writes.js'

const CLI = new URL('../src/cli/eddy.ts', import.meta.url).pathname
const run = promisify(execFile)
const skip = (await postgresUnavailable()) ?? (await redisUnavailable())
const schemas = new ScratchSchemas('redisstore')
const prefixes = new ScratchPrefixes('store')
after(async () => {
  await schemas.drop()
  if (!skip) await prefixes.drop()
})

const contractSchema = schemas.name()
// Pipelined, as the pool openPostgresStore makes (postgres-group-commit.test.ts runs the contract on a plain one).
const contractPool = new pg.Pool({ ...PG, max: 4, pipeline: true } as pg.PoolConfig)
after(() => contractPool.end())

if (skip) {
  it('PostgreSQL + Redis store', { skip }, () => undefined)
} else {
  runStoreContract({
    name: 'postgres + redis',
    create: async () => {
      const store = await openRedisStore({
        store: contractPool,
        schema: contractSchema,
        timelines: REDIS_URL,
        prefix: prefixes.name(),
      })
      await schemas.empty(contractSchema)
      return store
    },
  })
}

describe('postgres + redis store', { skip }, () => {
  const open = async (extra: { cap?: number; timelines?: string } = {}) =>
    openRedisStore({
      store: `${PG_URL}?schema=${schemas.name()}`,
      timelines: extra.timelines ?? REDIS_URL,
      prefix: prefixes.name(),
      cap: extra.cap,
    })

  it('keeps bodies and direct entries in PostgreSQL, fanned-out entries only in Redis', async () => {
    const store = await open()
    try {
      await store.write({ activities: [body(1)], add: [flat('user:a', 1), flat('timeline:b', 1, 'user:a')] })
      const schema = store.session.target.schema
      const rows = await schemas.rows<{ feed: string }>(`SELECT feed FROM "${schema}".entries ORDER BY feed`)
      assert.deepEqual(
        rows.map((r) => r.feed),
        ['user:a'],
      )
      const redis = new Redis(REDIS_URL)
      try {
        const key = store.timelines.redis.keys.entries('timeline:b')
        assert.deepEqual(await redis.zrange(key, 0, -1), [`${sk(1)}|user:a`])
      } finally {
        redis.disconnect()
      }
    } finally {
      await store.close()
    }
  })

  it('caps each feed in Redis at the configured number of entries', async () => {
    const store = await open({ cap: 3 })
    try {
      const ns = [1, 2, 3, 4, 5]
      await store.write({ activities: ns.map(body), add: ns.map((n) => flat('timeline:c', n, 'user:x')) })
      const rows = await store.timelines.readFlat('timeline:c', { limit: 10, offset: 0 })
      assert.deepEqual(
        rows.map((r) => r.sk),
        [5, 4, 3].map(sk),
      )
    } finally {
      await store.close()
    }
  })

  it('reads flat pages past the cap from PostgreSQL, as fan-out on read', async () => {
    const client = connect({ store: await open({ cap: 3 }) })
    try {
      await client.feed('timeline', 't').follow('user', 'a')
      const added = []
      for (let i = 0; i < 7; i++) {
        added.push(await client.feed('user', 'a').addActivity({ actor: 'a', verb: 'post', object: `o:${i}` }))
      }
      await client.flush()
      const newest = added.map((a) => a.id).reverse()
      const ids = async (slug: string, options: Record<string, unknown>) =>
        ((await client.feed(slug, slug === 'user' ? 'a' : 't').get(options)).results as Activity[]).map(
          (r) => [r.id, r.origin],
        )
      // Redis holds the newest 3 (and a few more between trims); the rest comes from PostgreSQL.
      assert.deepEqual(
        await ids('timeline', { limit: 10 }),
        newest.map((id) => [id, 'user:a']),
      )
      assert.deepEqual(
        await ids('timeline', { limit: 2, offset: 4 }),
        newest.slice(4, 6).map((id) => [id, 'user:a']),
      )
      assert.deepEqual(await ids('timeline', { limit: 10, id_lt: newest[5] }), [[newest[6], 'user:a']])
      assert.deepEqual(
        await ids('user', { limit: 10 }),
        newest.map((id) => [id, null]),
      )
    } finally {
      await client.close()
    }
  })

  it('refuses bad locations and unreachable servers, naming them without the password', async () => {
    const cases: [string, RegExp][] = [
      ['http://127.0.0.1:6379', /timelines is not a Redis location \(its scheme is "http:"\)/],
      ['redis://a:1,b:2', /several hosts need redis-cluster:\/\//],
      ['redis://127.0.0.1:99999', /port 99999 is out of range/],
    ]
    for (const [url, message] of cases) {
      await assert.rejects(open({ timelines: url }), (error: StoreError) => {
        assert.ok(error instanceof StoreError)
        assert.equal(error.reason, 'config')
        assert.match(error.message, message)
        return true
      })
    }
    await assert.rejects(open({ timelines: 'redis://user:s3cret@127.0.0.1:1' }), (error: StoreError) => {
      assert.equal(error.reason, 'unavailable')
      assert.match(error.message, /cannot use Redis at redis:\/\/127\.0\.0\.1:1 for timelines/)
      assert.doesNotMatch(error.message, /s3cret/)
      return true
    })
    await assert.rejects(open({ cap: 0 }), /cap must be a whole number from 1 to 100000, got 0/)
  })

  it('refuses Redis keys written with another layout version', async () => {
    const prefix = prefixes.name()
    const redis = new Redis(REDIS_URL)
    try {
      await redis.set(`${prefix}:{meta}:version`, '99')
    } finally {
      redis.disconnect()
    }
    await assert.rejects(
      openRedisStore({ store: `${PG_URL}?schema=${schemas.name()}`, timelines: REDIS_URL, prefix }),
      (error: StoreError) => {
        assert.equal(error.reason, 'unavailable')
        assert.match(
          error.message,
          new RegExp(`keys under "${prefix}" at redis://127\\.0\\.0\\.1:6379 have layout version 99, not 1`),
        )
        return true
      },
    )
  })
})

describe('postgres + redis store: a Redis outage', { skip }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'eddy-redis-outage-'))
  // Persistence on, so the restarted server has what it held (an outage, not a data loss).
  let redis: PrivateRedis
  before(async () => {
    redis = await PrivateRedis.create({ dir })
    await redis.start()
  })
  after(async () => {
    await redis.kill()
    rmSync(dir, { recursive: true, force: true })
  })

  it('fails writes cleanly (nothing stored), and accepted fan-out resumes when Redis is back', async () => {
    const schema = schemas.name()
    const store = `${PG_URL}?schema=${schema}`
    const timelines = redis.url
    const writer = await connect({ store, timelines, localFanout: false }).ready()
    // A worker process's client, opened while Redis answers (opening checks it).
    const worker = await connect({ store, timelines, fanoutLeaseMs: 200, localFanout: false }).ready()
    const stop = new AbortController()
    let working: Promise<void> | undefined
    try {
      await writer.followMany(
        Array.from({ length: 30 }, (_, i) => ({ source: `timeline:o${i}`, target: 'user:src' })),
        0,
      )
      const accepted = await writer
        .feed('user', 'src')
        .addActivity({ actor: 'src', verb: 'post', object: 'p:1' })
      const count = async () =>
        Number((await schemas.rows<{ n: string }>(`SELECT count(*) AS n FROM "${schema}".activities`))[0].n)

      await redis.kill()
      await assert.rejects(
        writer.feed('user', 'src').addActivity({ actor: 'src', verb: 'post', object: 'p:2' }),
        (error: EddyError) => {
          assert.equal(error.exception, 'ServiceUnavailableException')
          assert.equal(error.status_code, 503)
          assert.match(
            error.detail,
            new RegExp(`Redis at redis://127\\.0\\.0\\.1:${redis.port} failed a timeline write`),
          )
          return true
        },
      )
      assert.equal(await count(), 1, 'the refused write stored nothing')

      // The accepted fan-out: its chunks fail while Redis is down, and deliver once it is back.
      working = worker.engine.work(stop.signal, 20)
      await new Promise((resolve) => setTimeout(resolve, 300))
      assert.equal((await schemas.rows(`SELECT 1 FROM "${schema}".fanout_jobs`)).length, 1)
      await redis.start()
      await eventually(
        async () => (await schemas.rows(`SELECT 1 FROM "${schema}".fanout_jobs`)).length === 0,
        'the fan-out resumes',
        1500,
      )
      for (const i of [0, 17, 29]) {
        const { results } = await writer.feed('timeline', `o${i}`).get()
        assert.deepEqual(
          results.map((r) => r.id),
          [accepted.id],
        )
      }
      await writer.feed('user', 'src').addActivity({ actor: 'src', verb: 'post', object: 'p:3' })
      assert.equal(await count(), 2)
    } finally {
      stop.abort()
      await working
      await worker.close()
      await writer.close()
    }
  })
})

describe('eddy rebuild-timelines', { skip }, () => {
  it('rebuilds flat and grouped feeds from PostgreSQL after Redis lost them, with a progress bar', async () => {
    const prefix = prefixes.name()
    const store = `${PG_URL}?schema=${schemas.name()}`
    const timelines = `${REDIS_URL}?prefix=${prefix}`
    const client = await connect({ store, timelines }).ready()
    try {
      await client.followMany(
        ['timeline:r1', 'timeline:r2', 'timeline_aggregated:r1'].map((source) => ({
          source,
          target: 'user:w',
        })),
        0,
      )
      for (let i = 0; i < 5; i++) {
        await client.feed('user', 'w').addActivity({
          actor: 'w',
          verb: i % 2 ? 'like' : 'post',
          object: `o:${i}`,
          to: ['notification:r1'],
        })
      }
      await client.flush()
      const read = async () => ({
        timeline: (await client.feed('timeline', 'r2').get()).results.map((a) => [a.id, a.origin]),
        aggregated: (await client.feed('timeline_aggregated', 'r1').get()).results.map((g) => [
          g.verb,
          g.activity_count,
        ]),
        notification: (await client.feed('notification', 'r1').get()).results.map((g) => [
          g.verb,
          g.activity_count,
        ]),
      })
      const before = await read()
      assert.equal(before.timeline.length, 5)

      // Redis loses everything under the prefix.
      const redis = new Redis(REDIS_URL)
      const keys = (await redis.keys(`${prefix}:{b*`)).filter((k) => !k.includes('{meta}'))
      await redis.del(...keys)
      redis.disconnect()
      assert.deepEqual((await read()).timeline, [])

      const { stdout, stderr } = await run(process.execPath, [
        '--conditions=eddy-source',
        '--import',
        'tsx',
        CLI,
        'rebuild-timelines',
        '--store',
        store,
        '--timelines',
        timelines,
      ])
      assert.match(stdout, /^rebuilt 5 feeds, \d+ entries, in redis:\/\/127\.0\.0\.1:6379\n$/)
      assert.match(stderr, /rebuilding timelines \[#{30}\] 100% 5\/5 feeds/)
      const after = await read()
      assert.deepEqual(after, before)
      // Rebuilt notifications come back seen and read (they were delivered before).
      const notes = await client.feed('notification', 'r1').get()
      assert.deepEqual([notes.unseen, notes.unread], [0, 0])
    } finally {
      await client.close()
    }
  })
})
