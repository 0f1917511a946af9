/**
 * PostgreSQL benchmarks, beside the SQLite rows: fan-out to 10,000 and 100,000 followers, single
 * and concurrent durable adds, and flat and aggregated pages with 1M activities stored (100k
 * with `--quick`). Each row also prints the raw `pg` limit for the same operation, measured in
 * the same run on the same server (a bare one-row INSERT commit, a bare 10,000-row `unnest`
 * insert into a copy of the entries table, a bare indexed page query of 25 with JSON.parse of
 * the bodies) and Eddy's time per operation relative to it. Eddy and the bare limit take turns
 * (block by block, or call by call for pages), so both see the same load on a shared machine.
 * Everything happens in a scratch schema, dropped at the end. Server: EDDY_BENCH_POSTGRES
 * (default postgres://root@127.0.0.1:5432/test). Runnable alone:
 * `node --conditions=eddy-source --import tsx bench/postgres-bench.ts [--quick]`.
 */
import { randomBytes } from 'node:crypto'
import pg from 'pg'
import { connect, type EddyClient } from '../src/client/client.js'
import type { Activity } from '../src/engine/activity.js'
import { openPostgresStore } from '../src/store/postgres/index.js'
import { openRedisStore } from '../src/store/redis/index.js'
import { benchActivity, bulkLoad, verifyLoad } from './postgres-load.js'
import type { BenchRow } from './table.js'

const URL = process.env.EDDY_BENCH_POSTGRES ?? 'postgres://root@127.0.0.1:5432/test'
const REDIS = process.env.EDDY_BENCH_REDIS ?? 'redis://127.0.0.1:6379'
const BODY = JSON.stringify({ id: '58959680-c7d3-11ef-bfc4-cdd7f0fb813d', ...benchActivity(1), origin: null })

const percentile = (samples: number[], p: number) => {
  const sorted = [...samples].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]
}
const ms = (v: number) => `${v.toFixed(3)} ms`
const rate = (v: number) => `${Math.round(v).toLocaleString('en-US')}/s`
const count = (v: number) => v.toLocaleString('en-US')
const sum = (values: number[]) => values.reduce((a, b) => a + b, 0)

// EDDY_BENCH_VERBOSE=1 prints each step's duration to stderr (where the two minutes go).
let lastStep = performance.now()
const step = (what: string) => {
  if (process.env.EDDY_BENCH_VERBOSE) {
    console.error(`postgres bench: ${what} (${((performance.now() - lastStep) / 1000).toFixed(1)} s)`)
  }
  lastStep = performance.now()
}

/** What every part needs: the schema, an admin pool on it, and statement counting. */
interface Run {
  schema: string
  s: string
  admin: pg.Pool
  quick: boolean
  statements: { n: number }
  trips: { n: number }
}

/**
 * A client on its own store (pool of `max`), counting the statements it sends into
 * `run.statements` and the round trips into `run.trips`; with `redis`, on PostgreSQL + Redis
 * timelines (schema `<schema>_r`, key prefix `<schema>`, both removed at the end).
 */
async function client(run: Run, max = 10, redis = false): Promise<EddyClient> {
  if (redis) {
    const store = await openRedisStore({
      store: URL,
      schema: `${run.schema}_r`,
      timelines: `${REDIS}?prefix=${run.schema}`,
      max,
    })
    return connect({ store })
  }
  const store = await openPostgresStore(URL, {
    schema: run.schema,
    max,
    onQuery: (_, roundTrip) => {
      run.statements.n++
      if (roundTrip) run.trips.n++
    },
  })
  return connect({ store })
}

/** Elapsed ms of `fn`. */
async function time(fn: () => Promise<unknown>): Promise<number> {
  const t = performance.now()
  await fn()
  return performance.now() - t
}

/** Runs `calls` calls of `fn` from `n` concurrent loops (each call waits for the previous one). */
async function loops(calls: number, n: number, fn: (loop: number, i: number) => Promise<unknown>) {
  await Promise.all(
    Array.from({ length: n }, async (_, k) => {
      for (let i = k; i < calls; i += n) await fn(k, i)
    }),
  )
}

/**
 * Adds per second through Eddy against one-row INSERT commits per second on bare `pg`, both
 * from `connections` sequential loops (Eddy's store and the bare pool each have that many
 * connections), in alternating blocks. Eddy's rate counts until the adds resolved and, apart,
 * until their fan-out jobs (one per add, no followers here) were done.
 */
async function addsAgainstCommits(run: Run, connections: number, total: number, redis = false) {
  const eddy = await client(run, connections, redis)
  const pool = new pg.Pool({ connectionString: URL, max: connections })
  try {
    const bare = await Promise.all(Array.from({ length: connections }, () => pool.connect()))
    const insert = (k: number) =>
      bare[k].query({
        name: 'bare_insert',
        text: `INSERT INTO ${run.s}.bare_activities (sk, body) VALUES ($1, $2)`,
        values: [randomBytes(16).toString('hex'), BODY],
      })
    const feeds = Array.from({ length: connections }, (_, k) => eddy.feed('user', `w${connections}_${k}`))
    const add = (k: number, i: number) =>
      feeds[k].addActivity({
        actor: `w${k}`,
        verb: 'post',
        object: `o:${randomBytes(6).toString('hex')}:${i}`,
      })
    await loops(20 * connections, connections, (k) => insert(k))
    await loops(20 * connections, connections, add)
    await eddy.flush()
    const times = { bare: [] as number[], resolved: [] as number[], drained: [] as number[] }
    const before = run.statements.n
    const tripsBefore = run.trips.n
    const block = Math.ceil(total / 2)
    for (let round = 0; round < 2; round++) {
      times.bare.push(await time(() => loops(block, connections, (k) => insert(k))))
      const t = performance.now()
      await loops(block, connections, add)
      times.resolved.push(performance.now() - t)
      await eddy.flush()
      times.drained.push(performance.now() - t)
    }
    for (const c of bare) c.release()
    const perSecond = (ms: number[]) => (2 * block) / (sum(ms) / 1000)
    return {
      bare: perSecond(times.bare),
      resolved: perSecond(times.resolved),
      drained: perSecond(times.drained),
      statements: (run.statements.n - before) / (2 * block),
      trips: (run.trips.n - tripsBefore) / (2 * block),
    }
  } finally {
    await pool.end()
    await eddy.close()
  }
}

async function adds(run: Run): Promise<BenchRow[]> {
  const n = run.quick ? 400 : 1_000
  const single = await addsAgainstCommits(run, 1, n)
  step('single adds')
  const redis = await addsAgainstCommits(run, 1, n, true).catch((error: Error) => error)
  step('single adds, PostgreSQL + Redis')
  const eight = await addsAgainstCommits(run, 8, 2 * n)
  step('concurrent adds')
  const row = (name: string, a: typeof single, limit: string): BenchRow => ({
    name,
    value: `${rate(a.resolved)} (${rate(a.drained)} until their fan-out jobs are done; ${a.statements.toFixed(1)} statements in ${a.trips.toFixed(1)} round trips per add)`,
    target: 'report',
    met: true,
    limit: `${limit}: ${rate(a.bare)}`,
    ratio: a.bare / a.resolved,
  })
  const goal = (r: BenchRow): BenchRow => ({
    ...r,
    target: '≤ 1.5× the bare commit',
    met: (r.ratio ?? Number.POSITIVE_INFINITY) <= 1.5,
  })
  const redisRow: BenchRow =
    redis instanceof Error
      ? { name: 'PostgreSQL + Redis: single adds skipped', value: redis.message, target: 'report', met: true }
      : goal({
          ...row(
            'PostgreSQL + Redis: single adds, one connection, sequential, each resolved after its commit',
            redis,
            'one-row INSERT commits on the same PostgreSQL, one connection',
          ),
          value: `${rate(redis.resolved)} (${rate(redis.drained)} until their fan-out jobs are done)`,
        })
  return [
    goal(
      row(
        'PostgreSQL: single adds, one connection, sequential, each resolved after its commit',
        single,
        'one-row INSERT commits, one connection',
      ),
    ),
    redisRow,
    row(
      'PostgreSQL: concurrent adds, one client, 8 sequential loops on a pool of 8 connections',
      eight,
      'one-row INSERT commits, 8 connections',
    ),
    await groupCommit(run),
  ]
}

/**
 * 16 sequential loops of adds (each its own feed) on one client with the store's default pool
 * (10), marked `groupCommit` as the server's adds are, against the same loops unmarked (one
 * commit per add), in alternating blocks; rates until the adds resolved.
 */
async function groupCommit(run: Run): Promise<BenchRow> {
  const eddy = await client(run)
  try {
    const loopsN = 16
    const feeds = Array.from({ length: loopsN }, (_, k) => eddy.engine.feed('user', `gc${k}`))
    const add = (groupCommit: boolean) => (k: number, i: number) =>
      eddy.engine.addActivities(
        feeds[k],
        [{ actor: `gc${k}`, verb: 'post', object: `o:${randomBytes(6).toString('hex')}:${i}` }],
        undefined,
        { groupCommit },
      )
    const block = run.quick ? 800 : 2_000
    await loops(4 * loopsN, loopsN, add(true))
    await loops(4 * loopsN, loopsN, add(false))
    const times = { grouped: [] as number[], alone: [] as number[] }
    const trips = { grouped: 0, alone: 0 }
    for (let round = 0; round < 2; round++) {
      for (const way of ['alone', 'grouped'] as const) {
        const from = run.trips.n
        times[way].push(await time(() => loops(block, loopsN, add(way === 'grouped'))))
        trips[way] += run.trips.n - from
      }
    }
    await eddy.flush()
    const perSecond = (ms: number[]) => (2 * block) / (sum(ms) / 1000)
    const grouped = perSecond(times.grouped)
    const alone = perSecond(times.alone)
    return {
      name: `PostgreSQL: group commit, ${loopsN} sequential loops on one client (pool of 10), each add resolved after its commit`,
      value: `${rate(grouped)} (${(grouped / alone).toFixed(2)}× one commit per add; round trips per add ${(trips.grouped / (2 * block)).toFixed(2)} grouped, ${(trips.alone / (2 * block)).toFixed(2)} alone)`,
      target: '≥ 3× one commit per add',
      met: grouped / alone >= 3,
      limit: `one commit per add, same loops: ${rate(alone)}`,
      ratio: alone / grouped,
    }
  } finally {
    await eddy.close()
  }
}

/** `followers` edges into `target` in batches of 1,000 (no copies). */
async function follow(eddy: EddyClient, target: string, followers: number): Promise<void> {
  for (let i = 0; i < followers; i += 1_000) {
    const edges = Array.from({ length: Math.min(1_000, followers - i) }, (_, j) => ({
      source: `timeline:f${i + j}`,
      target,
    }))
    await eddy.followMany(edges, 0)
  }
}

/**
 * Fan-out from add to delivered (`flush()`), taking turns with a bare 10,000-row `unnest`
 * insert (one statement, one commit) into a copy of `entries`; p50 of each.
 */
async function fanout(run: Run): Promise<BenchRow[]> {
  const eddy = await client(run)
  const bare = await run.admin.connect()
  try {
    await follow(eddy, 'user:star10k', 10_000)
    await follow(eddy, 'user:star100k', 100_000)
    step('110,000 follows')
    const feeds = Array.from({ length: 10_000 }, (_, i) => `timeline:f${i}`)
    const bareInsert = () =>
      bare.query({
        name: 'bare_fanout',
        text: `INSERT INTO ${run.s}.bare_entries (feed, sk, origin)
          SELECT f, $2, $3 FROM unnest($1::text[]) AS f ORDER BY f`,
        values: [feeds, randomBytes(16).toString('hex'), 'user:star10k'],
      })
    const deliver = async (star: string) => {
      await eddy
        .feed('user', star)
        .addActivity({ actor: star, verb: 'post', object: `p:${randomBytes(6).toString('hex')}` })
      await eddy.flush()
    }
    await time(bareInsert)
    await deliver('star10k')
    const bareTimes: number[] = []
    const measure = async (star: string, runs: number) => {
      const times: number[] = []
      for (let r = 0; r < runs; r++) {
        times.push(await time(() => deliver(star)))
        bareTimes.push(await time(bareInsert))
      }
      return percentile(times, 50)
    }
    const before = run.statements.n
    const ten = await measure('star10k', run.quick ? 3 : 5)
    const perFanout = (run.statements.n - before) / (run.quick ? 3 : 5)
    step('fan-outs to 10,000')
    const hundred = await measure('star100k', run.quick ? 1 : 3)
    step('fan-outs to 100,000')
    const bareRate = 10_000 / (percentile(bareTimes, 50) / 1000)
    const chunk = eddy.engine.chunkSize
    return [
      { followers: 10_000, p50: ten },
      { followers: 100_000, p50: hundred },
    ].map(({ followers, p50 }) => {
      const perSecond = followers / (p50 / 1000)
      const detail =
        followers === 10_000 ? `; chunks of ${count(chunk)}, ${Math.round(perFanout)} statements` : ''
      return {
        name: `PostgreSQL: fan-out 1 activity to ${count(followers)} followers (add + delivery)`,
        value: `${ms(p50)} p50 (${rate(perSecond)} entries${detail})`,
        target: '≥ 100,000 entries/s',
        met: perSecond >= 100_000,
        limit: `10,000-row unnest INSERT: ${rate(bareRate)} entries`,
        ratio: bareRate / perSecond,
      }
    })
  } finally {
    bare.release()
    await eddy.close()
  }
}

/** The 2,000 activities of the aggregated feed the SQLite read rows use, added through Eddy. */
async function fillAggregated(eddy: EddyClient): Promise<void> {
  const agg = eddy.feed('timeline_aggregated', 'reader')
  for (let i = 0; i < 2_000; i += 100) {
    await agg.addActivities(
      Array.from({ length: 100 }, (_, j) => ({
        actor: `u${(i + j) % 13}`,
        verb: `v${(i + j) % 9}`,
        object: `o:${i + j}`,
        time: new Date(Date.UTC(2025, 0, 1) + (i + j) * 3_600_000).toISOString(),
      })),
    )
  }
  await eddy.flush()
}

/**
 * Pages of 25 with `total` activities bulk-loaded, each Eddy read taking turns with a bare
 * indexed page query (the store's own statement, prepared) that parses every body.
 */
async function reads(run: Run): Promise<BenchRow[]> {
  const total = run.quick ? 100_000 : 1_000_000
  const bare = await run.admin.connect()
  const eddy = await client(run)
  try {
    const loadSeconds = (await time(() => bulkLoad(bare, run.s, total))) / 1000
    await fillAggregated(eddy)
    step(`bulk load of ${count(total)} and 2,000 aggregated adds`)
    const big = eddy.feed('user', 'big')
    const agg = eddy.feed('timeline_aggregated', 'reader')
    await verifyLoad(run.admin, run.s, total, (await big.get({ limit: 25 })).results as Activity[])
    const deep = ((await big.get({ limit: 1, offset: 1_000 })).results[0] as { id: string }).id
    const barePage = async () => {
      const { rows } = await bare.query({
        name: 'bare_page',
        text: `SELECT e.sk, e.origin, coalesce(a.body, 'null') AS body
          FROM ${run.s}.entries AS e LEFT JOIN ${run.s}.activities AS a ON a.sk = e.sk
          WHERE e.feed = $1 ORDER BY e.sk DESC LIMIT $2 OFFSET $3`,
        values: ['user:big', 25, 0],
      })
      return rows.map((r: { body: string }) => JSON.parse(r.body))
    }
    // The limit: planned once. Left to choose, a connection may re-plan this statement on every
    // call (custom plans, ~0.1-0.2 ms of planning for ~0.07 ms of execution; the plan is the same).
    await bare.query('SET plan_cache_mode = force_generic_plan')
    const kinds = {
      bare: barePage,
      flat: () => big.get({ limit: 25 }),
      cursor: () => big.get({ limit: 25, id_lt: deep }),
      aggregated: () => agg.get({ limit: 25 }),
    }
    const times: Record<keyof typeof kinds, number[]> = { bare: [], flat: [], cursor: [], aggregated: [] }
    const n = run.quick ? 1_000 : 2_000
    // Each round starts with the next kind, so no kind always follows the heaviest read.
    const order = Object.keys(kinds) as (keyof typeof kinds)[]
    for (let i = 0; i < 200 + n; i++) {
      for (let j = 0; j < order.length; j++) {
        const kind = order[(i + j) % order.length]
        const took = await time(kinds[kind])
        if (i >= 200) times[kind].push(took)
      }
    }
    step('page reads')
    const label = `${total >= 1_000_000 ? `${total / 1_000_000} M` : `${total / 1_000} k`} activities stored`
    const bareP50 = percentile(times.bare, 50)
    const row = (name: string, samples: number[], target: string, goal?: number): BenchRow => ({
      name,
      value: `${ms(percentile(samples, 50))} p50, ${ms(percentile(samples, 99))} p99`,
      target,
      met: goal === undefined || percentile(samples, 50) <= goal,
      limit: `page of 25 + JSON.parse, generic plan: ${ms(bareP50)} p50`,
      ratio: percentile(samples, 50) / bareP50,
    })
    return [
      row(
        `PostgreSQL: flat page of 25, newest (${label}, bulk-loaded in ${loadSeconds.toFixed(0)} s)`,
        times.flat,
        '≤ 0.5 ms p50',
        0.5,
      ),
      row(
        `PostgreSQL: flat page of 25 by id_lt cursor deep in the feed (${label})`,
        times.cursor,
        '≤ 0.5 ms p50',
        0.5,
      ),
      row(`PostgreSQL: aggregated page of 25 groups (${label})`, times.aggregated, 'report'),
    ]
  } finally {
    await bare.query('RESET plan_cache_mode').catch(() => undefined)
    bare.release()
    await eddy.close()
  }
}

/**
 * Drops the scratch schema. A statement still running on it (a failed step's background fan-out)
 * can make the drop a deadlock victim, so it is tried again; if it still fails, says which schema
 * to drop by hand (without hiding the error that ended the run).
 */
async function dropSchema(admin: pg.Pool, s: string): Promise<void> {
  for (let attempt = 1; attempt <= 5; attempt++) {
    try {
      await admin.query(`DROP SCHEMA IF EXISTS ${s} CASCADE`)
      return
    } catch (error) {
      if (attempt === 5)
        console.error(`could not drop the schema ${s} (${(error as Error).message}); drop it by hand`)
      else await new Promise((resolve) => setTimeout(resolve, 200 * attempt))
    }
  }
}

/** Removes the Redis keys of the PostgreSQL + Redis row (prefix `prefix`). */
async function dropRedisKeys(prefix: string): Promise<void> {
  const { Redis } = await import('ioredis')
  const r = new Redis(REDIS, { lazyConnect: true, maxRetriesPerRequest: 1 })
  try {
    await r.connect()
    for (const pattern of [`${prefix}*`, `{${prefix}}*`]) {
      let cursor = '0'
      do {
        const [next, keys] = await r.scan(cursor, 'MATCH', pattern, 'COUNT', 10_000)
        cursor = next
        if (keys.length) await r.del(...keys)
      } while (cursor !== '0')
    }
  } finally {
    r.disconnect()
  }
}

/** Runs the PostgreSQL rows in a scratch schema, dropped afterwards (also on failure). */
export async function benchPostgres(quick = process.argv.includes('--quick')): Promise<BenchRow[]> {
  const schema = `eddy_bench_${process.pid}_${randomBytes(3).toString('hex')}`
  const admin = new pg.Pool({ connectionString: URL, max: 2 })
  try {
    await admin.query('SELECT 1')
  } catch (error) {
    await admin.end()
    const why = `PostgreSQL not reachable at ${URL}: ${(error as Error).message}`
    return [{ name: 'PostgreSQL rows skipped', value: why, target: 'report', met: true }]
  }
  const run: Run = { schema, s: `"${schema}"`, admin, quick, statements: { n: 0 }, trips: { n: 0 } }
  try {
    // Opening a store creates the schema; the bare tables copy the store's, indexes included.
    await (await openPostgresStore(URL, { schema, max: 1 })).close()
    await admin.query(`CREATE TABLE ${run.s}.bare_activities (LIKE ${run.s}.activities INCLUDING ALL);
      CREATE TABLE ${run.s}.bare_entries (LIKE ${run.s}.entries INCLUDING ALL)`)
    step('scratch schema')
    return [...(await fanout(run)), ...(await adds(run)), ...(await reads(run))]
  } finally {
    await dropSchema(admin, run.s)
    await dropSchema(admin, `"${schema}_r"`)
    await dropRedisKeys(schema).catch((error: Error) =>
      console.error(`could not remove Redis keys ${schema}*: ${error.message}`),
    )
    await admin.end()
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { table } = await import('./table.js')
  console.log(table(await benchPostgres()))
}
