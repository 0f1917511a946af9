/**
 * The store contract on PostgreSQL + a Redis Cluster of 3 masters and 3 replicas (started by
 * scripts/redis-cluster.sh on free loopback ports), with every timeline write acknowledged by a
 * replica (WAIT) before it commits; and a cluster that does not serve every slot is refused.
 */
import assert from 'node:assert/strict'
import { after, describe, it } from 'node:test'
import pg from 'pg'
import { StoreError } from '../src/store/errors.js'
import { openRedisStore } from '../src/store/redis/index.js'
import { runStoreContract } from '../src/testing/store-contract.js'
import { clusterUnavailable, startCluster, type TestCluster } from './fixtures/cluster.js'
import { PG, postgresUnavailable, ScratchSchemas } from './fixtures/postgres-store.js'
import { ScratchPrefixes } from './fixtures/redis.js'
import { must } from './helpers.js'

const skip = (await postgresUnavailable()) ?? (await clusterUnavailable())
const schemas = new ScratchSchemas('rcluster')
const prefixes = new ScratchPrefixes('cluster')
const cluster: TestCluster | undefined = skip ? undefined : await startCluster()
after(async () => {
  try {
    await cluster?.stop()
  } finally {
    await schemas.drop()
  }
})

const contractSchema = schemas.name()
const contractPool = new pg.Pool({ ...PG, max: 4 })
after(() => contractPool.end())

if (skip || !cluster) {
  it('PostgreSQL + Redis Cluster store', { skip }, () => undefined)
} else {
  runStoreContract({
    name: 'postgres + redis cluster',
    create: async () => {
      const store = await openRedisStore({
        store: contractPool,
        schema: contractSchema,
        timelines: `${cluster.url}?wait=1`,
        prefix: prefixes.name(),
      })
      await schemas.empty(contractSchema)
      return store
    },
  })
}

describe('postgres + redis cluster: feed versions for page caches', { skip }, () => {
  it('reads the versions of feeds in many slots in one go, and a write moves only its feeds', async () => {
    const store = await openRedisStore({
      store: contractPool,
      schema: schemas.name(),
      timelines: must(cluster, 'the Redis cluster').url,
      prefix: prefixes.name(),
    })
    try {
      const feeds = Array.from({ length: 20 }, (_, i) => `user:v${i}`)
      const tags = new Set(feeds.map((f) => store.timelines.redis.keys.tag(f)))
      assert.ok(tags.size > 10, 'the feeds spread over buckets')
      const before = await store.timelines.feedVersions(feeds)
      assert.deepEqual(await store.timelines.feedVersions(feeds), before, 'reads leave them')
      await store.write({
        add: [{ kind: 'flat', feed: 'user:v3', sk: `1f0${'0'.repeat(12)}8000000000000000`, origin: null }],
      })
      await store.write({ follow: [{ source: 'user:v7', target: 'user:v8' }] })
      const after = await store.timelines.feedVersions(feeds)
      feeds.forEach((feed, i) => {
        if (feed === 'user:v3' || feed === 'user:v7') assert.notEqual(after[i], before[i], feed)
        else assert.equal(after[i], before[i], feed)
      })
    } finally {
      await store.close()
    }
  })
})

// Last in the file: it breaks the cluster.
describe('postgres + redis cluster: a cluster that lost slots', { skip }, () => {
  it('is refused at open, saying how many slots failed', async () => {
    const lost = must(cluster, 'the Redis cluster')
    const [master] = await lost.healthy()
    const replicas = await lost.replicasOf(master)
    for (const port of [master, ...replicas]) lost.kill(port)
    let last: unknown
    for (let i = 0; i < 100; i++) {
      try {
        const store = await openRedisStore({
          store: contractPool,
          schema: contractSchema,
          timelines: lost.url,
        })
        await store.close()
      } catch (error) {
        last = error
        if (/state is fail/.test((error as Error).message)) break
      }
      await new Promise((resolve) => setTimeout(resolve, 200))
    }
    assert.ok(last instanceof StoreError, String(last))
    assert.equal(last.reason, 'unavailable')
    assert.match(
      last.message,
      /cannot use Redis at redis-cluster:\/\/127\.0\.0\.1:\d+,.* for timelines: the cluster's state is fail \(\d+ slots failed\); every slot must be served/,
    )
  })
})
