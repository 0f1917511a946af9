/**
 * The server's page cache on PostgreSQL + Redis: two servers, each with its own store on the same
 * PostgreSQL schema and Redis prefix (as two `eddy serve` processes), share the data version in
 * Redis. A repeated plain read is served without a store read; after a write acknowledged by
 * either server, a fan-out chunk delivered by either, a mark, or a rebuild, the next read on the
 * other one shows it. Behaviour and store-read counts, no timers.
 */
import assert from 'node:assert/strict'
import type { AddressInfo } from 'node:net'
import { after, before, describe, it } from 'node:test'
import { createServer } from 'eddy/server'
import type { FastifyInstance } from 'fastify'
import { Redis } from 'ioredis'
import { SignJWT } from 'jose'
import { connect, type EddyClient } from '../src/client/client.js'
import { RuntimeStorage } from '../src/engine/runtime-storage.js'
import { openRedisStore, type RedisStore, rebuildTimelines } from '../src/store/redis/index.js'
import { PendingStorage, type TimelineStore } from '../src/store/store.js'
import { PG_URL, postgresUnavailable, ScratchSchemas } from './fixtures/postgres-store.js'
import { REDIS_URL, redisUnavailable, ScratchPrefixes } from './fixtures/redis.js'
import { must } from './helpers.js'

const KEY = 'rcache-key'
const SECRET = 'rcache-secret'
const skip = (await postgresUnavailable()) ?? (await redisUnavailable())
const schemas = new ScratchSchemas('rpagecache')
const prefixes = new ScratchPrefixes('pagecache')
after(async () => {
  await schemas.drop()
  if (!skip) await prefixes.drop()
})

/** A server on its own store, counting the store's page reads. */
/** What these tests read from a feed page on the wire. */
interface WirePage {
  results: { id: string; text?: string; is_seen?: boolean }[]
  unseen: number
}

interface Node {
  store?: RedisStore
  client: EddyClient
  app: FastifyInstance
  url: string
  reads: { flat: number; groups: number }
}

describe('server page cache on PostgreSQL + Redis', { skip }, () => {
  const schema = schemas.name()
  const prefix = prefixes.name()
  let a: Node
  let b: Node
  let token: string

  /** A server on a store opened here (`a`), or loaded in the background as `connect({ store: url })` opens it (`b`). */
  async function node(fromUrls: boolean): Promise<Node> {
    const reads = { flat: 0, groups: 0 }
    const count = (timelines: TimelineStore) => {
      const readFlat = timelines.readFlat.bind(timelines)
      const readGroups = timelines.readGroups.bind(timelines)
      timelines.readFlat = (...args) => {
        reads.flat++
        return readFlat(...args)
      }
      timelines.readGroups = (...args) => {
        reads.groups++
        return readGroups(...args)
      }
    }
    let store: RedisStore | undefined
    let client: EddyClient
    if (fromUrls) {
      // What connect({ store: url, timelines }) builds: a pending store the runtime storage loads.
      const deferred = new RuntimeStorage(
        new PendingStorage('deferred', {}, () =>
          openRedisStore({ store: `${PG_URL}?schema=${schema}`, timelines: REDIS_URL, prefix, max: 3 }),
        ),
      )
      await deferred.open()
      count(deferred.timelines)
      client = connect({ store: deferred })
    } else {
      store = await openRedisStore({
        store: `${PG_URL}?schema=${schema}`,
        timelines: REDIS_URL,
        prefix,
        max: 3,
      })
      count(store.timelines)
      client = connect({ store })
    }
    const app = createServer({ client, apiKey: KEY, apiSecret: SECRET })
    await app.listen({ port: 0, host: '127.0.0.1' })
    return {
      store,
      client,
      app,
      url: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`,
      reads,
    }
  }

  before(async () => {
    a = await node(false)
    b = await node(true)
    token = await new SignJWT({ resource: '*', action: '*', feed_id: '*' })
      .setProtectedHeader({ alg: 'HS256' })
      .sign(new TextEncoder().encode(SECRET))
    await a.client.feed('timeline', 'reader').follow('user', 'hot')
    for (let i = 0; i < 3; i++) {
      await a.client
        .feed('user', 'hot')
        .addActivity({ actor: 'hot', verb: 'post', object: `first:${i}`, to: ['notification:reader'] })
    }
    await a.client.flush()
  })
  after(async () => {
    for (const n of [a, b]) {
      await n?.app.close()
      await n?.client.close()
    }
  })

  /** The parsed body of a plain read of `feed` from a server. */
  async function read(n: Node, feed: string, query = ''): Promise<WirePage> {
    const [slug, id] = feed.split(':')
    const response = await fetch(`${n.url}/api/v1.0/feed/${slug}/${id}/?api_key=${KEY}${query}`, {
      headers: { authorization: token, 'stream-auth-type': 'jwt' },
    })
    assert.equal(response.status, 200)
    return (await response.json()) as WirePage
  }

  /** Reads `feeds` on `n` twice and checks the second round came from its cache. */
  async function cached(n: Node, feeds: string[]): Promise<void> {
    for (const feed of feeds) await read(n, feed)
    const before = { ...n.reads }
    for (const feed of feeds) await read(n, feed)
    assert.deepEqual(n.reads, before, 'the second reads came from the cache')
  }

  it('serves a repeated read from the cache, and an add acknowledged by the other server at once', async () => {
    await cached(a, ['user:hot', 'timeline:reader'])
    await cached(b, ['user:hot', 'timeline:reader'])
    const first = await a.client
      .feed('user', 'hot')
      .addActivity({ actor: 'hot', verb: 'post', object: 'from a' })
    assert.equal((await read(b, 'user:hot')).results[0].id, first.id)
    // Its fan-out, delivered in the background, moves the version again: wait for it, so the
    // cache checks below see no write of their own.
    await a.client.flush()
    const added = await b.client
      .feed('user', 'hot')
      .addActivity({ actor: 'hot', verb: 'post', object: 'second' })
    assert.equal((await read(a, 'user:hot')).results[0].id, added.id)
    // The fan-out is the other server's: delivered, then visible here.
    await b.client.flush()
    assert.equal((await read(a, 'timeline:reader')).results[0].id, added.id)
  })

  it('shows a removal and an activity update made through the other server', async () => {
    const [newest] = (await read(a, 'user:hot')).results
    await cached(a, ['user:hot'])
    await b.client.activityPartialUpdate({ id: newest.id, set: { text: 'edited' } })
    assert.equal((await read(a, 'user:hot')).results[0].text, 'edited')
    await b.client.flush()
    await cached(a, ['user:hot'])
    await b.client.feed('user', 'hot').removeActivity(newest.id)
    assert.notEqual((await read(a, 'user:hot')).results[0].id, newest.id)
    await b.client.flush()
  })

  it('shows marks made through the other server on the next read', async () => {
    assert.ok((await read(a, 'notification:reader')).unseen > 0)
    await cached(a, ['notification:reader'])
    await read(b, 'notification:reader', '&mark_seen=true')
    const page = await read(a, 'notification:reader')
    assert.equal(page.unseen, 0)
    assert.ok(page.results.every((g) => g.is_seen))
  })

  it("keeps other feeds' pages cached across a write, and moves only the followers' on its fan-out", async () => {
    await a.client.feed('timeline', 'bystander').follow('user', 'elsewhere')
    await a.client.feed('user', 'elsewhere').addActivity({ actor: 'e', verb: 'post', object: 'e:0' })
    await a.client.flush()
    const feeds = ['user:hot', 'timeline:reader', 'user:elsewhere', 'timeline:bystander']
    await cached(a, feeds)
    // No foreign_id: adding it again could only write the same body, so only user:hot moves.
    const added = await b.client.feed('user', 'hot').addActivity({ actor: 'hot', verb: 'post', object: 'x' })
    let before = { ...a.reads }
    assert.equal((await read(a, 'user:hot')).results[0].id, added.id)
    await read(a, 'user:elsewhere')
    await read(a, 'timeline:bystander')
    assert.equal(a.reads.flat, before.flat + 1, 'only the written feed was read from the store')
    await b.client.flush()
    before = { ...a.reads }
    assert.equal((await read(a, 'timeline:reader')).results[0].id, added.id, "the follower's page moved")
    await read(a, 'user:elsewhere')
    await read(a, 'timeline:bystander')
    assert.equal(a.reads.flat, before.flat + 1, 'the fan-out moved only its follower')
  })

  it('moves every feed on an add with a foreign_id (it may replace a body shown anywhere)', async () => {
    await cached(a, ['user:elsewhere'])
    const before = { ...a.reads }
    await b.client.feed('user', 'hot').addActivity({
      actor: 'hot',
      verb: 'post',
      object: 'f',
      foreign_id: 'f:1',
      time: '2026-01-01T00:00:00',
    })
    await read(a, 'user:elsewhere')
    assert.equal(a.reads.flat, before.flat + 1)
    await b.client.flush()
  })

  it('moves a feed whose trim keeps its size (fan-out at the cap), and no other', async () => {
    const store = must(a.store, 'the store server a opened')
    const redis = store.timelines.redis
    const shapes = { timeline: { kind: 'flat' as const } }
    // Sort keys ending in 0 trim at once (capTrim); the cap is 1,000: fill one feed to it.
    const sk = (n: number) => `1f0${n.toString(16).padStart(12, '0')}8000000000000000`
    const full = 'timeline:full'
    for (let from = 0; from < 1000; from += 250) {
      await redis.apply(
        Array.from({ length: 250 }, (_, i) => ({
          kind: 'flat' as const,
          feed: full,
          sk: sk(from + i),
          origin: 'user:src',
        })),
      )
    }
    const [v0, other0] = await store.timelines.feedVersions([full, 'timeline:bystander'])
    await redis.fanout(sk(5000), 'user:src', [full, 'timeline:trimless'], shapes)
    const [v1, other1] = await store.timelines.feedVersions([full, 'timeline:bystander'])
    assert.equal(v0.split('.').at(-1), '1000')
    assert.equal(v1.split('.').at(-1), '1000', 'one in, the oldest out')
    assert.notEqual(v1, v0)
    assert.equal(other1, other0)
  })

  it('never repeats a version after Redis lost its counters, and a rebuild moves every feed', async () => {
    const store = must(a.store, 'the store server a opened')
    const [v0] = await store.timelines.feedVersions(['user:hot'])
    await store.timelines.readFlat('user:hot', { limit: 25, offset: 0 })
    assert.deepEqual(
      await b.client.engine.pageVersions(['user:hot']),
      [v0],
      'both servers see it; reads leave it',
    )
    // Redis without the counters (flushed, restarted without persistence): they start again at
    // the clock in microseconds, above any value they held.
    const redis = new Redis(REDIS_URL)
    try {
      await redis.del(`${prefix}:{meta}:changes`, store.timelines.redis.keys.counter('user:hot'))
      const [v1] = await store.timelines.feedVersions(['user:hot'])
      assert.notEqual(v1, v0)
      const [shared0, own0] = v0.split('.').map(Number)
      const [shared1, own1] = v1.split('.').map(Number)
      assert.ok(shared1 > shared0 && own1 > own0, `${v1} after ${v0}`)
      assert.deepEqual(await store.timelines.feedVersions(['user:hot']), [v1], 'kept once seeded')
    } finally {
      redis.disconnect()
    }
    // (Shapes unknown here: the rebuild clears the feeds it finds and writes nothing back.)
    await rebuildTimelines(store, { shape: () => undefined })
    const [v2] = await store.timelines.feedVersions(['timeline:bystander'])
    assert.notEqual(v2.split('.')[0], v0.split('.')[0], 'a rebuild rewrites Redis directly')
  })
})

describe('a store opened from its URLs (as eddy serve opens it)', { skip }, () => {
  it('reads grouped pages past the cap', async () => {
    const client = await connect({
      store: `${PG_URL}?schema=${schemas.name()}`,
      timelines: `${REDIS_URL}?prefix=${prefixes.name()}&cap=2`,
    }).ready()
    try {
      const feed = client.feed('timeline_aggregated', 'deep')
      for (let i = 0; i < 5; i++) await feed.addActivity({ actor: 'a', verb: `verb${i}`, object: `o:${i}` })
      const page = await feed.get({ limit: 5 })
      assert.deepEqual(
        page.results.map((g) => g.verb),
        ['verb4', 'verb3', 'verb2', 'verb1', 'verb0'],
        'three of the five groups are past the cap of 2',
      )
    } finally {
      await client.close()
    }
  })
})
