/**
 * The server on PostgreSQL + Redis against the server on SQLite, in the same run: plain feed
 * reads of 25 over HTTP with 16 connections (both with their page cache; PostgreSQL + Redis also
 * without it), alternating blocks; then the same reads at a fixed 1,500 requests/s, where the
 * p99 is the figure that matters. The page cache on PostgreSQL + Redis checks the data version
 * versions every server shares in Redis (src/store/redis/data-version.ts) once per turn of reads;
 * then the same reads while another feed takes adds (per-feed versions keep the page cached).
 * Servers: EDDY_BENCH_POSTGRES, EDDY_BENCH_REDIS (scratch schema and key prefix, removed).
 * Runnable alone: `node --conditions=eddy-source --import tsx bench/server-redis-bench.ts`.
 */
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { connect, type EddyClient } from 'eddy'
import { createServer } from 'eddy/server'
import type { FastifyInstance } from 'fastify'
import { Redis } from 'ioredis'
import { SignJWT } from 'jose'
import pg from 'pg'
import { alternate, type LoadResult, load } from './server-bench.js'
import type { BenchRow } from './table.js'

const PG_URL = process.env.EDDY_BENCH_POSTGRES ?? 'postgres://root@127.0.0.1:5432/test'
const REDIS_URL = process.env.EDDY_BENCH_REDIS ?? 'redis://127.0.0.1:6379'
const KEY = 'bench-key'
const SECRET = 'bench-secret'
const SECONDS = Number(process.env.EDDY_BENCH_SECONDS ?? 5)
const RATE = 1_500
const WRITE_RATE = 50

async function seed(client: EddyClient): Promise<void> {
  const feed = client.feed('user', 'bench')
  for (let i = 0; i < 1_000; i += 100) {
    await feed.addActivities(
      Array.from({ length: 100 }, (_, j) => ({ actor: 'SU:bench', verb: 'post', object: `post:${i + j}` })),
    )
  }
  // Every add leaves a fan-out job (this feed has no followers); each finished job is a write that
  // moves the data version, so reads measured while they drain would miss the cache.
  await client.flush()
}

async function listen(app: FastifyInstance): Promise<string> {
  await app.listen({ port: 0, host: '127.0.0.1' })
  return `http://127.0.0.1:${(app.server.address() as AddressInfo).port}/api/v1.0/feed/user/bench/?api_key=${KEY}&limit=25`
}

/** Adds to `user:elsewhere` at WRITE_RATE a second (each awaited) until stopped. */
function writeElsewhere(client: EddyClient): { stop(): Promise<void> } {
  let running = true
  let n = 0
  const loop = (async () => {
    const started = performance.now()
    while (running) {
      await client.feed('user', 'elsewhere').addActivity({ actor: 'SU:e', verb: 'post', object: `e:${n++}` })
      const due = started + (n * 1000) / WRITE_RATE
      const wait = due - performance.now()
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait))
    }
  })()
  return {
    async stop() {
      running = false
      await loop
    },
  }
}

const perSecond = (v: number) => `${Math.round(v).toLocaleString('en-US')}/s`

/** The rows: reads at 16 connections and at a fixed 1,500/s, PostgreSQL + Redis beside SQLite. */
export async function benchServerRedis(): Promise<BenchRow[]> {
  const dir = mkdtempSync(join(tmpdir(), 'eddy-server-redis-bench-'))
  const schema = `eddy_bench_srv_${randomBytes(3).toString('hex')}`
  const prefix = `eddybenchsrv${randomBytes(3).toString('hex')}`
  const lite = connect({ store: `sqlite:${join(dir, 'bench.sqlite')}` })
  const scaled = await connect({
    store: `${PG_URL}?schema=${schema}`,
    timelines: `${REDIS_URL}?prefix=${prefix}`,
  }).ready()
  const apps = [
    createServer({ client: lite, apiKey: KEY, apiSecret: SECRET }),
    createServer({ client: scaled, apiKey: KEY, apiSecret: SECRET }),
    createServer({ client: scaled, apiKey: KEY, apiSecret: SECRET, pageCacheBytes: 0 }),
  ]
  try {
    await seed(lite)
    await seed(scaled)
    const [sqliteUrl, redisUrl, uncachedUrl] = await Promise.all(apps.map(listen))
    const token = await new SignJWT({ resource: '*', action: '*', feed_id: '*' })
      .setProtectedHeader({ alg: 'HS256' })
      .sign(new TextEncoder().encode(SECRET))
    const headers = { authorization: token, 'stream-auth-type': 'jwt' }
    const [a, b] = await Promise.all([fetch(sqliteUrl, { headers }), fetch(redisUrl, { headers })])
    for (const response of [a, b]) {
      const page = (await response.json()) as { results: unknown[] }
      if (page.results.length !== 25) throw new Error('a server answered a short page')
    }

    const reads = await alternate({
      redis: { url: redisUrl, headers },
      sqlite: { url: sqliteUrl, headers },
      uncached: { url: uncachedUrl, headers },
    })
    // Fixed rate: alternating blocks of the same length, the worst block's p99.
    const fixed = { redis: [] as number[], sqlite: [] as number[], p50: [] as number[] }
    const block = Math.max(2, Math.round(SECONDS / 2))
    for (let round = 0; round < 2; round++) {
      for (const k of round % 2 ? (['sqlite', 'redis'] as const) : (['redis', 'sqlite'] as const)) {
        const r = await load(k === 'redis' ? redisUrl : sqliteUrl, { headers, overallRate: RATE }, block)
        fixed[k].push(r.latency.p99)
        if (k === 'redis') fixed.p50.push(r.latency.p50)
      }
    }
    // Reads of the same feed while another feed takes WRITE_RATE adds a second (no foreign_id),
    // alternating blocks: per-feed versions keep the read feed's pages cached on PostgreSQL +
    // Redis; SQLite's one data version moves with every commit.
    const busy = { redis: [] as LoadResult[], sqlite: [] as LoadResult[] }
    for (let round = 0; round < 2; round++) {
      for (const k of round % 2 ? (['sqlite', 'redis'] as const) : (['redis', 'sqlite'] as const)) {
        const writer = writeElsewhere(k === 'redis' ? scaled : lite)
        try {
          busy[k].push(await load(k === 'redis' ? redisUrl : sqliteUrl, { headers }, block))
        } finally {
          await writer.stop()
        }
      }
    }
    const busyRate = (k: 'redis' | 'sqlite') =>
      busy[k].reduce((a, b) => a + b.requests.total, 0) / busy[k].reduce((a, b) => a + b.duration, 0)
    const busyP99 = (k: 'redis' | 'sqlite') => Math.max(...busy[k].map((b) => b.latency.p99))
    const share = reads.redis.perSecond / reads.sqlite.perSecond
    const p99 = Math.max(...fixed.redis)
    return [
      {
        name: 'server on PostgreSQL + Redis: feed reads of 25 over HTTP, 16 connections (page cache)',
        value: `${perSecond(reads.redis.perSecond)} (${Math.round(100 * share)} % of SQLite's), p99 ${reads.redis.p99} ms; cache off: ${perSecond(reads.uncached.perSecond)}, p99 ${reads.uncached.p99} ms`,
        target: "≥ 50 % of the SQLite server's rate",
        met: share >= 0.5,
        limit: `the SQLite server, same run: ${perSecond(reads.sqlite.perSecond)}, p99 ${reads.sqlite.p99} ms`,
        ratio: reads.sqlite.perSecond / reads.redis.perSecond,
      },
      {
        name: `server on PostgreSQL + Redis: the same reads at a fixed ${RATE.toLocaleString('en-US')}/s`,
        value: `p99 ${p99} ms (p50 ${Math.max(...fixed.p50)} ms)`,
        target: 'p99 ≤ 5 ms',
        met: p99 <= 5,
        limit: `the SQLite server at the same rate: p99 ${Math.max(...fixed.sqlite)} ms`,
        ratio: p99 / Math.max(1, Math.max(...fixed.sqlite)),
      },
      {
        name: `server on PostgreSQL + Redis: the same reads while another feed takes ${WRITE_RATE} adds/s`,
        value: `${perSecond(busyRate('redis'))} (${Math.round((100 * busyRate('redis')) / busyRate('sqlite'))} % of SQLite's), p99 ${busyP99('redis')} ms`,
        target: 'report (per-feed versions keep the read feed cached)',
        met: true,
        limit: `the SQLite server under the same writes (one data version): ${perSecond(busyRate('sqlite'))}, p99 ${busyP99('sqlite')} ms`,
        ratio: busyRate('sqlite') / busyRate('redis'),
      },
    ]
  } finally {
    for (const app of apps) await app.close()
    await lite.close()
    await scaled.close()
    rmSync(dir, { recursive: true, force: true })
    const admin = new pg.Client({ connectionString: PG_URL })
    await admin.connect()
    await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`)
    await admin.end()
    const redis = new Redis(REDIS_URL)
    let cursor = '0'
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000)
      cursor = next
      if (keys.length) await redis.del(...keys)
    } while (cursor !== '0')
    redis.disconnect()
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { table } = await import('./table.js')
  console.log(table(await benchServerRedis()))
  process.exit(0)
}
