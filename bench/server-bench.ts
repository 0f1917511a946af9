/**
 * Server benchmark: feed reads of 25 and activity adds over HTTP on loopback, driven by autocannon
 * in a worker thread (so generator and server each get a core), against the embedded SQLite store,
 * each beside a bare Fastify route measured in the same run with the same settings.
 * Runnable alone: `node --conditions=eddy-source --import tsx bench/server-bench.ts`.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
// @ts-expect-error autocannon ships no types (and @types/autocannon is not installed)
import autocannonUntyped from 'autocannon'
import { connect } from 'eddy'
import { createServer } from 'eddy/server'
import Fastify, { type FastifyInstance } from 'fastify'
import { SignJWT } from 'jose'
import { BareSqlite, share } from './limits.js'
import type { BenchRow } from './table.js'

const KEY = 'bench-key'
const SECRET = 'bench-secret'
const SEED = 1_000
const SECONDS = Number(process.env.EDDY_BENCH_SECONDS ?? 5)

/** The part of autocannon's result this bench reads. */
export interface LoadResult {
  requests: { average: number; total: number }
  duration: number
  latency: { p50: number; p99: number }
  non2xx: number
  errors: number
}
export type LoadOptions = { url: string; method?: string; headers?: Record<string, string>; body?: string }
const autocannon = autocannonUntyped as (
  options: LoadOptions & Record<string, unknown>,
) => Promise<LoadResult>

/** One autocannon run against `url` (16 connections unless `options` say otherwise); throws on failed requests. */
export async function load(
  url: string,
  options: Omit<LoadOptions, 'url'> & Record<string, unknown>,
  seconds = SECONDS,
): Promise<LoadResult> {
  const result = await autocannon({ url, connections: 16, duration: seconds, workers: 1, ...options })
  if (result.non2xx + result.errors > 0) {
    throw new Error(`server bench saw ${result.non2xx + result.errors} failed requests to ${url}`)
  }
  return result
}

/** Requests per second and the worst block's p50 and p99 over several autocannon blocks. */
export interface Load {
  perSecond: number
  p50: number
  p99: number
}

/**
 * Drives each target with the same autocannon settings (16 connections, one worker thread, and
 * whatever else a target adds, such as a fixed `overallRate`) in alternating blocks, after a one-second warm-up each, so Eddy and its limit see the same load.
 */
export async function alternate<K extends string>(
  targets: Record<K, { url: string } & Omit<LoadOptions, 'url'> & Record<string, unknown>>,
): Promise<Record<K, Load>> {
  const block = Math.max(1, Math.round(SECONDS / 2))
  const names = Object.keys(targets) as K[]
  const runs = Object.fromEntries(names.map((k) => [k, [] as LoadResult[]])) as Record<K, LoadResult[]>
  for (const k of names) await load(targets[k].url, targets[k], 1)
  for (let round = 0; round < 3; round++) {
    for (let j = 0; j < names.length; j++) {
      const k = names[(round + j) % names.length]
      runs[k].push(await load(targets[k].url, targets[k], block))
    }
  }
  const out = {} as Record<K, Load>
  for (const k of names) {
    const r = runs[k]
    out[k] = {
      perSecond: r.reduce((a, b) => a + b.requests.total, 0) / r.reduce((a, b) => a + b.duration, 0),
      p50: Math.max(...r.map((b) => b.latency.p50)),
      p99: Math.max(...r.map((b) => b.latency.p99)),
    }
  }
  return out
}

const perSecond = (v: number) => `${Math.round(v).toLocaleString('en-US')}/s`

/**
 * The limits beside the server rows, on one bare Fastify instance: a GET route that sends a
 * feed page's exact bytes as a static body, and a POST route that parses the JSON body and
 * commits an activity row and a timeline row on a bare connection to the same file.
 */
async function bareServer(page: string, bare: BareSqlite): Promise<{ app: FastifyInstance; base: string }> {
  const app = Fastify()
  app.get('/api/v1.0/feed/:slug/:id/', (_request, reply) => {
    reply.type('application/json; charset=utf-8').send(page)
  })
  app.post('/api/v1.0/feed/:slug/:id/', (request, reply) => {
    const { slug, id } = request.params as { slug: string; id: string }
    bare.add(JSON.stringify(request.body), `${slug}:${id}`)
    reply.send({ ok: true })
  })
  await app.listen({ port: 0, host: '127.0.0.1' })
  return { app, base: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}/api/v1.0` }
}

/**
 * Feed reads of 25 and adds over HTTP with 16 connections, each beside its limit measured in
 * the same run with the same autocannon settings (see {@link bareServer}).
 */
export async function benchServer(): Promise<BenchRow[]> {
  const dir = mkdtempSync(join(tmpdir(), 'eddy-server-bench-'))
  const path = join(dir, 'bench.sqlite')
  const client = connect({ store: `sqlite:${path}` })
  const app = createServer({ client, apiKey: KEY, apiSecret: SECRET })
  // The same client without the page cache (every read reaches the store) and without group
  // commit (every add commits alone, as before group commit).
  const uncached = createServer({
    client,
    apiKey: KEY,
    apiSecret: SECRET,
    pageCacheBytes: 0,
    groupCommit: false,
  })
  const bare = new BareSqlite(path)
  let limits: FastifyInstance | undefined
  try {
    const feed = client.feed('user', 'bench')
    for (let i = 0; i < SEED; i += 100) {
      await feed.addActivities(
        Array.from({ length: 100 }, (_, j) => ({
          actor: 'SU:bench',
          verb: 'post',
          object: `post:${i + j}`,
          foreign_id: `p:${i + j}`,
        })),
      )
    }
    await app.listen({ port: 0, host: '127.0.0.1' })
    await uncached.listen({ port: 0, host: '127.0.0.1' })
    const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}/api/v1.0`
    const uncachedBase = `http://127.0.0.1:${(uncached.server.address() as AddressInfo).port}/api/v1.0`
    const token = await new SignJWT({ resource: '*', action: '*', feed_id: '*' })
      .setProtectedHeader({ alg: 'HS256' })
      .sign(new TextEncoder().encode(SECRET))
    const headers = { authorization: token, 'stream-auth-type': 'jwt', 'content-type': 'application/json' }
    const readUrl = (b: string) => `${b}/feed/user/bench/?api_key=${KEY}&limit=25`
    const page = await (await fetch(readUrl(base), { headers })).text()
    const bareApp = await bareServer(page, bare)
    limits = bareApp.app

    const reads = await alternate({
      eddy: { url: readUrl(base), headers },
      uncached: { url: readUrl(uncachedBase), headers },
      bare: { url: readUrl(bareApp.base), headers },
    })
    const add = {
      method: 'POST',
      headers,
      body: JSON.stringify({
        actor: 'SU:writer',
        verb: 'post',
        object: 'post:1',
        text: 'hello from autocannon',
      }),
    }
    const adds = await alternate({
      eddy: { url: `${base}/feed/user/writer/?api_key=${KEY}`, ...add },
      alone: { url: `${uncachedBase}/feed/user/writer/?api_key=${KEY}`, ...add },
      bare: { url: `${bareApp.base}/feed/user/writer/?api_key=${KEY}`, ...add },
    })
    const readShare = reads.eddy.perSecond / reads.bare.perSecond
    return [
      {
        name: 'server: feed reads of 25 over HTTP, 16 connections',
        value: `${perSecond(reads.eddy.perSecond)} (${Math.round(100 * readShare)} % of the limit), p99 ${reads.eddy.p99} ms (p50 ${reads.eddy.p50} ms)`,
        target: '≥ 50 % of the limit, p99 ≤ 5 ms',
        met: readShare >= 0.5 && reads.eddy.p99 <= 5,
        anchor: 'GetStream publishes ~11 ms p50',
        limit: `Fastify route sending the same ${page.length.toLocaleString('en-US')} bytes statically: ${perSecond(reads.bare.perSecond)}, p99 ${reads.bare.p99} ms`,
        ratio: reads.bare.perSecond / reads.eddy.perSecond,
      },
      {
        name: 'server: the same reads with the page cache off (each from the store)',
        value: `${perSecond(reads.uncached.perSecond)} (${share(reads.uncached.perSecond, reads.bare.perSecond)} of the limit), p99 ${reads.uncached.p99} ms (p50 ${reads.uncached.p50} ms)`,
        target: 'report',
        met: true,
        limit: `the same route: ${perSecond(reads.bare.perSecond)}`,
        ratio: reads.bare.perSecond / reads.uncached.perSecond,
      },
      {
        name: 'server: activity adds over HTTP, 16 connections (group commit)',
        value: `${perSecond(adds.eddy.perSecond)}, p99 ${adds.eddy.p99} ms; ${(adds.eddy.perSecond / adds.alone.perSecond).toFixed(2)}× one commit per add (${perSecond(adds.alone.perSecond)}, p99 ${adds.alone.p99} ms)`,
        target: '≥ 3× one commit per add',
        met: adds.eddy.perSecond >= 3 * adds.alone.perSecond,
        limit: `Fastify route parsing the body and committing an activity row + a timeline row: ${perSecond(adds.bare.perSecond)}, p99 ${adds.bare.p99} ms`,
        ratio: adds.bare.perSecond / adds.eddy.perSecond,
      },
    ]
  } finally {
    await limits?.close()
    await uncached.close()
    await app.close()
    await client.close()
    bare.close()
    rmSync(dir, { recursive: true, force: true })
  }
}

/** Followers of the feed the fairness row fans out from. */
const FOLLOWERS = 50_000

/**
 * Fair scheduling: the p99 of feed reads over HTTP while one feed's activities fan out to 50,000
 * followers back to back, against the same reads with nothing else running (same run, same
 * server). Background fan-out yields to the event loop between chunks, so a read waits at most
 * about one chunk's transaction. Few connections: this measures latency, not throughput.
 */
export async function benchFairness(quick = process.argv.includes('--quick')): Promise<BenchRow[]> {
  const seconds = quick ? Math.min(SECONDS, 2) : SECONDS
  const dir = mkdtempSync(join(tmpdir(), 'eddy-fairness-bench-'))
  const client = connect({ store: `sqlite:${join(dir, 'bench.sqlite')}` })
  const app = createServer({ client, apiKey: KEY, apiSecret: SECRET })
  try {
    await client
      .feed('user', 'bench')
      .addActivities(
        Array.from({ length: 100 }, (_, i) => ({ actor: 'SU:bench', verb: 'post', object: `post:${i}` })),
      )
    for (let i = 0; i < FOLLOWERS; i += 2_500) {
      const follows = Array.from({ length: Math.min(2_500, FOLLOWERS - i) }, (_, j) => ({
        source: `timeline:f${i + j}`,
        target: 'user:star',
      }))
      await client.followMany(follows, 0)
    }
    await app.listen({ port: 0, host: '127.0.0.1' })
    const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}/api/v1.0`
    const token = await new SignJWT({ resource: '*', action: '*', feed_id: '*' })
      .setProtectedHeader({ alg: 'HS256' })
      .sign(new TextEncoder().encode(SECRET))
    const reads = () =>
      autocannon({
        url: `${base}/feed/user/bench/?api_key=${KEY}&limit=25`,
        headers: { authorization: token, 'stream-auth-type': 'jwt' },
        connections: 4,
        duration: seconds,
        workers: 1,
      })

    const alone = await reads()
    let fanouts = 0
    let done = false
    // autocannon returns a thenable instance, not a Promise.
    const during = Promise.resolve(reads()).finally(() => {
      done = true
    })
    const star = client.feed('user', 'star')
    const started = performance.now()
    while (!done) {
      await star.addActivity({ actor: 'star', verb: 'post', object: `p:${fanouts}` })
      await client.flush()
      fanouts++
    }
    const perFanout = (performance.now() - started) / fanouts
    const loaded = await during
    const bad = alone.non2xx + alone.errors + loaded.non2xx + loaded.errors
    if (bad > 0) throw new Error(`fairness bench saw ${bad} failed requests`)
    const ratio = loaded.latency.p99 / Math.max(alone.latency.p99, 1)
    return [
      {
        name: 'server: read p99 during a 50k-follower fan-out (4 connections)',
        value:
          `${loaded.latency.p99} ms vs ${alone.latency.p99} ms alone (${ratio.toFixed(1)}x); ` +
          `${fanouts} fan-outs of ${Math.round(perFanout)} ms, chunk ${client.engine.chunkSize.toLocaleString('en-US')}`,
        target: '≤ 20 ms',
        met: loaded.latency.p99 <= 20,
      },
    ]
  } finally {
    await app.close()
    await client.close()
    rmSync(dir, { recursive: true, force: true })
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { table } = await import('./table.js')
  console.log(table(process.argv.includes('--fairness') ? await benchFairness() : await benchServer()))
}
