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
