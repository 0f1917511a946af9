/**
 * Side by side with Stream-Framework (Python, on Redis): the same workloads on Stream-Framework,
 * Eddy embedded on SQLite and Eddy on PostgreSQL + Redis, against one private Redis started here
 * on its own port (`redis-server`, no persistence, stopped at the end), in alternating rounds
 * (the order rotates each round), medians over the rounds with the range beside them.
 *
 * Stream-Framework is not part of Eddy and never committed: point EDDY_BENCH_STREAM_FRAMEWORK at
 * a checkout (github.com/tschellenbach/Stream-Framework) and install its Python dependencies
 * from Debian (`apt-get install -y python3-redis python3-celery python3-six`); its side runs in
 * bench/stream-framework.py. PostgreSQL: EDDY_BENCH_POSTGRES (a scratch schema, dropped).
 *   EDDY_BENCH_STREAM_FRAMEWORK=/work/ext/Stream-Framework npm run bench -- --only=stream-framework
 */
import { execFile, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer as netServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { Redis } from 'ioredis'
import pg from 'pg'
import { connect, type EddyClient } from '../src/client/client.js'
import { KeySpace } from '../src/store/redis/keys.js'
import type { BenchRow } from './table.js'

const run = promisify(execFile)
const PG_URL = process.env.EDDY_BENCH_POSTGRES ?? 'postgres://root@127.0.0.1:5432/test'
const PYTHON = process.env.EDDY_BENCH_PYTHON ?? '/usr/bin/python3'
const SCRIPT = new URL('./stream-framework.py', import.meta.url).pathname

type System = 'sf' | 'sqlite' | 'redis'
const SYSTEMS: System[] = ['sf', 'sqlite', 'redis']
type Workload = 'adds' | 'aggregated' | 'notification' | 'fanout' | 'page'

/** Operations per workload and round: `--quick` keeps the whole comparison near a minute. */
function sizes(quick: boolean): Record<Workload, number> {
  return quick
    ? { adds: 1_000, aggregated: 300, notification: 300, fanout: 2_000, page: 1_000 }
    : { adds: 3_000, aggregated: 1_000, notification: 1_000, fanout: 10_000, page: 1_000 }
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = netServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number }
      s.close(() => resolve(port))
    })
    s.on('error', reject)
  })
}

/** A private redis-server on a free port, without persistence. */
async function privateRedis(dir: string): Promise<{ port: number; stop: () => Promise<void> }> {
  const port = await freePort()
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--save', '', '--appendonly', 'no', '--dir', dir],
    {
      stdio: 'ignore',
    },
  )
  // redis-server takes a moment to listen: a fresh probe each try, until one answers.
  for (let i = 0; ; i++) {
    const probe = new Redis({ port, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null })
    probe.on('error', () => undefined)
    try {
      await probe.connect()
      await probe.ping()
      break
    } catch (error) {
      if (i > 100) throw error
      await new Promise((r) => setTimeout(r, 50))
    } finally {
      probe.disconnect()
    }
  }
  return {
    port,
    stop: () =>
      new Promise<void>((resolve) => {
        child.once('exit', () => resolve())
        child.kill('SIGTERM')
      }),
  }
}

/** One Stream-Framework workload in its own Python process; its JSON result. */
async function streamFramework(
  checkout: string,
  port: number,
  workload: Workload | 'memory',
  count: number,
  tag: string,
): Promise<Record<string, number>> {
  const { stdout } = await run(PYTHON, ['-W', 'ignore', SCRIPT, String(port), workload, String(count), tag], {
    env: { ...process.env, PYTHONPATH: checkout },
    maxBuffer: 1 << 20,
  })
  return JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as Record<string, number>
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]
const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]
}

/** Sequential adds, one call each, into one feed; adds per second. */
async function eddyAdds(client: EddyClient, slug: string, id: string, count: number, groups = 0) {
  const feed = client.feed(slug, id)
  const started = performance.now()
  for (let i = 0; i < count; i++) {
    await feed.addActivity({
      actor: `u${i % 1000}`,
      verb: groups ? `v${i % groups}` : 'add',
      object: `o:${i}`,
    })
  }
  return count / ((performance.now() - started) / 1000)
}

/**
 * The bare durable limit of a PostgreSQL + Redis add on the same database: a one-row INSERT of an
 * activity-sized body into a scratch table, autocommit (one COMMIT, one WAL flush each).
 */
async function bareCommits(db: pg.Client, count: number) {
  const body = JSON.stringify({ actor: 'u1', verb: 'add', object: 'o:1', time: new Date().toISOString() })
  const started = performance.now()
  for (let i = 0; i < count; i++) {
    await db.query({ name: 'bare', text: 'INSERT INTO bare_adds (body) VALUES ($1)', values: [body] })
  }
  return count / ((performance.now() - started) / 1000)
}

/** One activity to `count` followers, from the add until every follower has it; entries/s. */
async function eddyFanout(client: EddyClient, tag: string, count: number) {
  const follows = Array.from({ length: count }, (_, i) => ({
    source: `timeline:${tag}f${i}`,
    target: `user:${tag}celeb`,
  }))
  for (let i = 0; i < follows.length; i += 5_000) await client.followMany(follows.slice(i, i + 5_000), 0)
  const started = performance.now()
  await client.feed('user', `${tag}celeb`).addActivity({ actor: 'celeb', verb: 'add', object: 'o:1' })
  await client.flush()
  return count / ((performance.now() - started) / 1000)
}

/** p50 and p99 (ms) of 2,000 pages of 25 (after 200 unmeasured) from a feed of `count`. */
async function eddyPage(client: EddyClient, tag: string, count: number) {
  const feed = client.feed('user', `${tag}page`)
  for (let i = 0; i < count; i += 100) {
    await feed.addActivities(
      Array.from({ length: 100 }, (_, j) => ({ actor: 'u', verb: 'add', object: `o:${i + j}` })),
    )
  }
  const times: number[] = []
  for (let i = 0; i < 2_200; i++) {
    const t = performance.now()
    const page = await feed.get({ limit: 25 })
    if (i >= 200) times.push(performance.now() - t)
    if (page.results.length !== 25) throw new Error('a page of 25 came back short')
  }
  return { p50: percentile(times, 50), p99: percentile(times, 99) }
}

async function eddyWorkload(client: EddyClient, workload: Workload, count: number, tag: string) {
  switch (workload) {
    case 'adds':
      return { rate: await eddyAdds(client, 'user', `${tag}flat`, count) }
    case 'aggregated':
      return { rate: await eddyAdds(client, 'timeline_aggregated', `${tag}agg`, count) }
    case 'notification':
      return { rate: await eddyAdds(client, 'notification', `${tag}note`, count, 7) }
    case 'fanout':
      return { rate: await eddyFanout(client, tag, count) }
    case 'page':
      return await eddyPage(client, tag, count)
  }
}

/** Bytes per entry of a 1,000-entry follower timeline in Eddy's Redis (entries via a follow). */
async function eddyMemory(client: EddyClient, redis: Redis, prefix: string) {
  await client.feed('timeline', 'mem').follow('user', 'mem', { limit: 0 })
  for (let i = 0; i < 1000; i += 100) {
    await client
      .feed('user', 'mem')
      .addActivities(
        Array.from({ length: 100 }, (_, j) => ({ actor: 'm', verb: 'add', object: `m:${i + j}` })),
      )
  }
  await client.flush()
  const key = new KeySpace(prefix).entries('timeline:mem')
  return Number(await redis.call('MEMORY', 'USAGE', key, 'SAMPLES', '0')) / (await redis.zcard(key))
}

const fmt = (v: number) => Math.round(v).toLocaleString('en-US')
const range = (values: number[], unit = '') =>
  values.length > 1 ? ` (${fmt(Math.min(...values))}–${fmt(Math.max(...values))}${unit})` : ''
const msRange = (values: number[]) =>
  values.length > 1 ? ` (${Math.min(...values).toFixed(2)}–${Math.max(...values).toFixed(2)})` : ''

/** The side-by-side rows; empty (with a note on stderr) without a Stream-Framework checkout. */
export async function benchStreamFramework(quick = process.argv.includes('--quick')): Promise<BenchRow[]> {
  const checkout = process.env.EDDY_BENCH_STREAM_FRAMEWORK
  if (!checkout) {
    console.error(
      'stream-framework: set EDDY_BENCH_STREAM_FRAMEWORK to a Stream-Framework checkout to run it',
    )
    return []
  }
  const rounds = 3
  const size = sizes(quick)
  const dir = mkdtempSync(join(tmpdir(), 'eddy-sf-bench-'))
  const server = await privateRedis(dir)
  const redis = new Redis({ port: server.port })
  const schema = `eddy_bench_sf_${randomBytes(3).toString('hex')}`
  const prefix = `eddysf${randomBytes(2).toString('hex')}`
  const sqlite = connect({ store: `sqlite:${join(dir, 'bench.sqlite')}` })
  const scaled = await connect({
    store: `${PG_URL}?schema=${schema}`,
    timelines: `redis://127.0.0.1:${server.port}?prefix=${prefix}`,
  }).ready()
  const db = new pg.Client({ connectionString: PG_URL })
  await db.connect()
  await db.query(`CREATE TABLE "${schema}".bare_adds (id bigserial PRIMARY KEY, body text NOT NULL)`)
  await db.query(`SET search_path TO "${schema}"`)
  const results = new Map<string, number[]>()
  const keep = (system: System, what: string, value: number) => {
    const k = `${system}:${what}`
    results.set(k, [...(results.get(k) ?? []), value])
  }
  try {
    const workloads = Object.keys(size) as Workload[]
    for (let round = 0; round < rounds; round++) {
      for (const workload of workloads) {
        for (let j = 0; j < SYSTEMS.length; j++) {
          const system = SYSTEMS[(round + j) % SYSTEMS.length]
          const tag = `r${round}${workload}`
          const out =
            system === 'sf'
              ? await streamFramework(checkout, server.port, workload, size[workload], tag)
              : await eddyWorkload(system === 'sqlite' ? sqlite : scaled, workload, size[workload], tag)
          for (const [k, v] of Object.entries(out)) keep(system, `${workload}.${k}`, v)
        }
        if (workload === 'adds') keep('redis', 'bare', await bareCommits(db, size.adds))
      }
    }
    keep('sf', 'memory', (await streamFramework(checkout, server.port, 'memory', 1000, 'mem')).bytes)
    keep('redis', 'memory', await eddyMemory(scaled, redis, prefix))
  } finally {
    await db.end()
    await sqlite.close()
    await scaled.close()
    redis.disconnect()
    await server.stop()
    const admin = new pg.Client({ connectionString: PG_URL })
    await admin.connect()
    await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`)
    await admin.end()
    rmSync(dir, { recursive: true, force: true })
  }

  const get = (system: System, what: string) => results.get(`${system}:${what}`) ?? []
  const rows: BenchRow[] = []
  const bare = get('redis', 'bare')
  const rateRow = (name: string, what: string, unit: string) => {
    const [sf, lite, pr] = SYSTEMS.map((s) => get(s, what))
    const ratio = median(pr) / median(sf)
    const limit =
      what.endsWith('adds.rate') || what.endsWith('aggregated.rate') || what.endsWith('notification.rate')
    rows.push({
      ...(limit
        ? {
            limit: `PostgreSQL one-row INSERT + COMMIT, same database: ${fmt(median(bare))}/s${range(bare)}`,
            ratio: median(bare) / median(pr),
          }
        : {}),
      name: `vs Stream-Framework: ${name}`,
      value: `PostgreSQL + Redis ${fmt(median(pr))}${unit}${range(pr)} (${ratio.toFixed(2)}× SF); SQLite ${fmt(median(lite))}${unit}${range(lite)} (${(median(lite) / median(sf)).toFixed(1)}× SF)`,
      target: 'ahead of Stream-Framework',
      met: ratio > 1,
      anchor: `Stream-Framework ${fmt(median(sf))}${unit}${range(sf)}`,
    })
  }
  rateRow('single adds, one call each, sequential', 'adds.rate', '/s')
  rateRow('aggregated adds into one group', 'aggregated.rate', '/s')
  rateRow('notification adds (7 groups)', 'notification.rate', '/s')
  rateRow(`fan-out of 1 activity to ${fmt(size.fanout)} followers (entries)`, 'fanout.rate', '/s')
  const [sfPage, litePage, prPage] = SYSTEMS.map((s) => get(s, 'page.p50'))
  rows.push({
    name: `vs Stream-Framework: flat page of 25 (feed of ${fmt(size.page)}), p50 ms`,
    value: `PostgreSQL + Redis ${median(prPage).toFixed(2)}${msRange(prPage)} (p99 ${median(get('redis', 'page.p99')).toFixed(2)}); SQLite ${median(litePage).toFixed(3)}${msRange(litePage)}`,
    target: 'ahead of Stream-Framework',
    met: median(prPage) < median(sfPage),
    anchor: `Stream-Framework ${median(sfPage).toFixed(2)}${msRange(sfPage)} (p99 ${median(get('sf', 'page.p99')).toFixed(2)})`,
  })
  const sfBytes = get('sf', 'memory')[0]
  const eddyBytes = get('redis', 'memory')[0]
  rows.push({
    name: 'vs Stream-Framework: Redis bytes per entry, 1,000-entry follower timeline',
    value: `${eddyBytes.toFixed(1)} B (${(eddyBytes / sfBytes).toFixed(2)}× SF)`,
    target: '≤ 0.8× Stream-Framework',
    met: eddyBytes <= 0.8 * sfBytes,
    anchor: `Stream-Framework ${sfBytes.toFixed(1)} B`,
  })
  return rows
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { table } = await import('./table.js')
  console.log(table(await benchStreamFramework()))
  process.exit(0)
}
