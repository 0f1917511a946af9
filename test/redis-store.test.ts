/**
 * The store contract on PostgreSQL + a single Redis (127.0.0.1:6379; PostgreSQL schema and Redis
 * key prefix of this run's own, removed afterwards), plus what only this store shows: where
 * each thing lives, the cap, bad locations, and a Redis outage in the middle of writes.
 */
import assert from 'node:assert/strict'
import { after, describe, it } from 'node:test'
import { Redis } from 'ioredis'
import pg from 'pg'
import { StoreError } from '../src/store/errors.js'
import { openRedisStore } from '../src/store/redis/index.js'
import { runStoreContract, sk } from '../src/testing/store-contract.js'
import { PG, PG_URL, postgresUnavailable, ScratchSchemas } from './fixtures/postgres-store.js'
import { REDIS_URL, redisUnavailable, ScratchPrefixes } from './fixtures/redis.js'

const skip = (await postgresUnavailable()) ?? (await redisUnavailable())
const schemas = new ScratchSchemas('redisstore')
const prefixes = new ScratchPrefixes('store')
after(async () => {
  await schemas.drop()
  if (!skip) await prefixes.drop()
})

const contractSchema = schemas.name()
const contractPool = new pg.Pool({ ...PG, max: 4 })
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

const body = (n: number) => ({ sk: sk(n), body: JSON.stringify({ n }) })
const flat = (feed: string, n: number, origin: string | null = null) => ({
  feed,
  kind: 'flat' as const,
  sk: sk(n),
  origin,
})

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
        const key = store.timelines.keys.entries('timeline:b')
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
      const rows = await store.readFlat('timeline:c', { limit: 10, offset: 0 })
      assert.deepEqual(
        rows.map((r) => r.sk),
        [5, 4, 3].map(sk),
      )
    } finally {
      await store.close()
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
        assert.equal(error.reason, 'input')
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
})
