/**
 * Redis timelines benchmarks (PostgreSQL + Redis, `eddy/redis`): fan-out of one activity to
 * 100,000 followers on a single Redis and on a Redis Cluster (3 masters + 3 replicas started by
 * scripts/redis-cluster.sh on free ports, stopped at the end), a flat page of 25, and Redis memory
 * per timeline entry. Each row prints the bare Redis limit measured in the same run, turn about
 * with Eddy: a Lua ZADD of the same members into the same bucket-tagged keys (1,000 keys per
 * call on one Redis; one call per slot, all in flight, on the cluster: scale-out.md §2's fastest
 * strategies), a bare ZREVRANGE of 25, and a timeline of bare 31-character members.
 * Fan-out goes through the engine: accept (one PostgreSQL transaction) and every chunk (a
 * PostgreSQL transaction holding its Redis step) until `flush()`.
 * Servers: EDDY_BENCH_POSTGRES (default postgres://root@127.0.0.1:5432/test), EDDY_BENCH_REDIS
 * (default redis://127.0.0.1:6379). Runnable alone:
 * `node --conditions=eddy-source --import tsx bench/redis-bench.ts [--quick]`.
 */
import { randomBytes } from 'node:crypto'
import { Redis } from 'ioredis'
import pg from 'pg'
import { connect, type EddyClient } from '../src/client/client.js'
import { idToSk } from '../src/engine/ids.js'
import { KeySpace, slotOf } from '../src/store/redis/keys.js'
import { startCluster, type TestCluster } from '../test/fixtures/cluster.js'
import type { BenchRow } from './table.js'

const PG_URL = process.env.EDDY_BENCH_POSTGRES ?? 'postgres://root@127.0.0.1:5432/test'
const REDIS_URL = process.env.EDDY_BENCH_REDIS ?? 'redis://127.0.0.1:6379'
const FOLLOWERS = 100_000
const RUNS = 3

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]
const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]
}
const rate = (v: number) => `${Math.round(v).toLocaleString('en-US')}/s`
const ms = (v: number) => `${v.toFixed(3)} ms`

/** The bare limit: the same members ZADDed into the same keys, `keysPerCall` keys per Lua call. */
const BARE_ZADD = `for i, key in ipairs(KEYS) do redis.call('ZADD', key, 0, ARGV[1]) end return #KEYS`

async function bareFanout(redis: Redis, keys: string[], member: string, cluster: boolean): Promise<number> {
  const started = performance.now()
  if (cluster) {
    const bySlot = new Map<number, string[]>()
    for (const key of keys) {
      const slot = slotOf(key)
      const list = bySlot.get(slot)
      if (list) list.push(key)
      else bySlot.set(slot, [key])
    }
    await Promise.all([...bySlot.values()].map((list) => redis.eval(BARE_ZADD, list.length, ...list, member)))
  } else {
    for (let i = 0; i < keys.length; i += 1000) {
      const list = keys.slice(i, i + 1000)
      await redis.eval(BARE_ZADD, list.length, ...list, member)
    }
  }
  return performance.now() - started
}

interface Setup {
  client: EddyClient
  keys: KeySpace
  schema: string
}

async function setup(timelines: string, prefix: string): Promise<Setup> {
  const schema = `eddy_bench_redis_${randomBytes(3).toString('hex')}`
  const client = await connect({ store: `${PG_URL}?schema=${schema}`, timelines }).ready()
  const follows = Array.from({ length: FOLLOWERS }, (_, i) => ({
    source: `timeline:f${i}`,
    target: 'user:celeb',
  }))
  for (let i = 0; i < follows.length; i += 10_000) await client.followMany(follows.slice(i, i + 10_000), 0)
  // Statistics after the bulk load (autovacuum's job within a minute), so chunks walk an index.
  const admin = new pg.Client({ connectionString: PG_URL })
  await admin.connect()
  await admin.query(`ANALYZE "${schema}".follows`)
  await admin.end()
  return { client, keys: new KeySpace(prefix), schema }
}

/** Median entries/s of Eddy's fan-out and of the bare Lua ZADD, runs taking turns. */
async function fanout(s: Setup, redis: Redis, cluster: boolean) {
  const eddy: number[] = []
  const bare: number[] = []
  const bareKeys = new KeySpace(`${s.keys.prefix}bare`)
  const keys = Array.from({ length: FOLLOWERS }, (_, i) => bareKeys.entries(`timeline:f${i}`))
  for (let run = 0; run < RUNS; run++) {
    const started = performance.now()
    const added = await s.client
      .feed('user', 'celeb')
      .addActivity({ actor: 'celeb', verb: 'post', object: `post:${run}` })
    await s.client.flush()
    eddy.push(performance.now() - started)
    bare.push(await bareFanout(redis, keys, `${idToSk(added.id)}|user:celeb`, cluster))
  }
  return { eddy: FOLLOWERS / (median(eddy) / 1000), bare: FOLLOWERS / (median(bare) / 1000) }
}

/** p50 of a page of 25 through the client, and of a bare ZREVRANGE of 25 on the same key. */
async function page(s: Setup, redis: Redis) {
  const feed = s.client.feed('timeline', 'f7')
  const key = s.keys.entries('timeline:f7')
  const eddy: number[] = []
  const bare: number[] = []
  for (let i = 0; i < 2000; i++) {
    let t = performance.now()
    await feed.get({ limit: 25 })
    eddy.push(performance.now() - t)
    t = performance.now()
    await redis.zrevrange(key, 0, 24)
    bare.push(performance.now() - t)
  }
  return { eddy: percentile(eddy, 50), bare: percentile(bare, 50), p99: percentile(eddy, 99) }
}

/**
 * Bytes per entry of a full follower timeline (the cap, 1,000 entries that came through a follow,
 * `<sk>|user:mem`), and of the same number of bare 31-character members.
 */
async function memory(s: Setup, redis: Redis) {
  const n = 1000
  await s.client.feed('timeline', 'mem').follow('user', 'mem', { limit: 0 })
  const activities = Array.from({ length: n }, (_, i) => ({ actor: 'm', verb: 'post', object: `m:${i}` }))
  for (let i = 0; i < n; i += 100)
    await s.client.feed('user', 'mem').addActivities(activities.slice(i, i + 100))
  await s.client.flush()
  const key = s.keys.entries('timeline:mem')
  const members = await redis.zrange(key, 0, -1)
  const eddy = Number(await redis.call('MEMORY', 'USAGE', key, 'SAMPLES', '0')) / members.length
  const bareKey = `${s.keys.prefix}bare:{b1}:mem`
  await redis.zadd(bareKey, ...members.flatMap((m) => [0, m.slice(0, 31)]))
  const bare = Number(await redis.call('MEMORY', 'USAGE', bareKey, 'SAMPLES', '0')) / members.length
  return { eddy, bare, entries: members.length }
}

async function cleanup(s: Setup, redis: Redis[]): Promise<void> {
  await s.client.close()
  const admin = new pg.Client({ connectionString: PG_URL })
  await admin.connect()
  await admin.query(`DROP SCHEMA IF EXISTS "${s.schema}" CASCADE`)
  await admin.end()
  for (const r of redis) {
    for (const pattern of [`${s.keys.prefix}*`, `{${s.keys.prefix}}*`]) {
      let cursor = '0'
      do {
        const [next, keys] = await r.scan(cursor, 'MATCH', pattern, 'COUNT', 10_000)
        cursor = next
        if (keys.length) await Promise.all(keys.map((k) => r.del(k)))
      } while (cursor !== '0')
    }
  }
}

/** The Redis rows of `npm run bench`. */
export async function benchRedis(): Promise<BenchRow[]> {
  const rows: BenchRow[] = []
  const anchor = 'Stream-Framework/Redis 1.9–3.4 s for 10,000 followers'

  const singlePrefix = `eddybench${randomBytes(3).toString('hex')}`
  const redis = new Redis(REDIS_URL)
  const single = await setup(`${REDIS_URL}?prefix=${singlePrefix}`, singlePrefix)
  try {
    const f = await fanout(single, redis, false)
    rows.push({
      name: 'Redis: fan-out 1 activity to 100,000 followers, single Redis (entries/s)',
      value: rate(f.eddy),
      target: '≥ 200,000/s',
      met: f.eddy >= 200_000,
      anchor,
      limit: `bare Lua ZADD, 1,000 keys per call: ${rate(f.bare)}`,
      ratio: f.bare / f.eddy,
    })
    // The same fan-out without the priority walk (`?active=0`), on the same follows: what
    // delivering to recent readers first costs.
    const offPrefix = `${singlePrefix}off`
    const off = await connect({
      store: `${PG_URL}?schema=${single.schema}&active=0`,
      timelines: `${REDIS_URL}?prefix=${offPrefix}&active=0`,
    }).ready()
    try {
      const o = await fanout(
        { client: off, keys: new KeySpace(offPrefix), schema: single.schema },
        redis,
        false,
      )
      rows.push({
        name: 'Redis: the same fan-out with the priority walk off (?active=0)',
        value: rate(o.eddy),
        target: 'report',
        met: true,
        anchor: `with the walk: ${rate(f.eddy)}`,
        limit: `bare Lua ZADD, 1,000 keys per call: ${rate(o.bare)}`,
        ratio: o.bare / o.eddy,
      })
    } finally {
      await off.close()
    }
    const p = await page(single, redis)
    rows.push({
      name: 'Redis: flat page of 25 (PostgreSQL bodies), p50',
      value: `${ms(p.eddy)} (p99 ${ms(p.p99)})`,
      target: '≤ 0.3 ms p50',
      met: p.eddy <= 0.3,
      limit: `bare ZREVRANGE 0 24: ${ms(p.bare)}`,
      ratio: p.eddy / p.bare,
    })
    const m = await memory(single, redis)
    rows.push({
      name: `Redis: memory per timeline entry (${m.entries.toLocaleString('en-US')}-entry follower timeline)`,
      value: `${m.eddy.toFixed(1)} B`,
      target: 'report',
      met: true,
      anchor: 'scale-out.md: ~120 B per entry at 800 (skiplist)',
      limit: `bare 31-char members: ${m.bare.toFixed(1)} B`,
      ratio: m.eddy / m.bare,
    })
  } finally {
    await cleanup(single, [redis])
    redis.disconnect()
  }

  let cluster: TestCluster | undefined
  try {
    cluster = await startCluster()
    const prefix = `eddybench${randomBytes(3).toString('hex')}`
    const nodes = cluster.seeds.map((seed) => ({ host: '127.0.0.1', port: Number(seed.split(':')[1]) }))
    const client = new Redis.Cluster(nodes)
    const onCluster = await setup(`${cluster.url}?prefix=${prefix}`, prefix)
    try {
      const f = await fanout(onCluster, client as unknown as Redis, true)
      rows.push({
        name: 'Redis Cluster (3+3 on the same 2 cores): fan-out to 100,000 followers (entries/s)',
        value: rate(f.eddy),
        target: '≥ 150,000/s',
        met: f.eddy >= 150_000,
        anchor,
        limit: `bare Lua ZADD, one call per slot, all in flight: ${rate(f.bare)}`,
        ratio: f.bare / f.eddy,
      })
    } finally {
      await cleanup(onCluster, [])
      client.disconnect()
    }
  } finally {
    await cluster?.stop()
  }
  return rows
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { table } = await import('./table.js')
  console.log(table(await benchRedis()))
  process.exit(0)
}
