/**
 * Server benchmark: feed reads of 25 and activity adds over HTTP on loopback, driven by autocannon
 * in a worker thread (so generator and server each get a core), against the embedded SQLite store.
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
import { SignJWT } from 'jose'
import type { BenchRow } from './table.js'

const KEY = 'bench-key'
const SECRET = 'bench-secret'
const SEED = 1_000
const SECONDS = Number(process.env.EDDY_BENCH_SECONDS ?? 5)

/** The part of autocannon's result this bench reads. */
interface LoadResult {
  requests: { average: number }
  latency: { p50: number; p99: number }
  non2xx: number
  errors: number
}
type LoadOptions = { url: string; method?: string; headers?: Record<string, string>; body?: string }
const autocannon = autocannonUntyped as (
  options: LoadOptions & Record<string, unknown>,
) => Promise<LoadResult>

async function load(url: string, options: Omit<LoadOptions, 'url'>): Promise<LoadResult> {
  return autocannon({ url, connections: 16, duration: SECONDS, workers: 1, ...options })
}

/** Measures reads of 25 and adds per second (with p99) and returns the rows `npm run bench` prints. */
export async function benchServer(): Promise<BenchRow[]> {
  const dir = mkdtempSync(join(tmpdir(), 'eddy-server-bench-'))
  const client = connect({ store: `sqlite:${join(dir, 'bench.sqlite')}` })
  const app = createServer({ client, apiKey: KEY, apiSecret: SECRET })
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
    const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}/api/v1.0`
    const token = await new SignJWT({ resource: '*', action: '*', feed_id: '*' })
      .setProtectedHeader({ alg: 'HS256' })
      .sign(new TextEncoder().encode(SECRET))
    const headers = { authorization: token, 'stream-auth-type': 'jwt', 'content-type': 'application/json' }

    const reads = await load(`${base}/feed/user/bench/?api_key=${KEY}&limit=25`, { headers })
    const adds = await load(`${base}/feed/user/writer/?api_key=${KEY}`, {
      method: 'POST',
      headers,
      body: JSON.stringify({
        actor: 'SU:writer',
        verb: 'post',
        object: 'post:1',
        text: 'hello from autocannon',
      }),
    })
    const bad = reads.non2xx + adds.non2xx + reads.errors + adds.errors
    if (bad > 0) throw new Error(`server bench saw ${bad} failed requests`)
    return [
      {
        name: 'server: feed reads of 25 over HTTP (req/s)',
        value: Math.round(reads.requests.average).toLocaleString('en-US'),
        target: '≥ 10,000',
        met: reads.requests.average >= 10_000,
      },
      {
        name: 'server: feed read latency p99',
        value: `${reads.latency.p99} ms (p50 ${reads.latency.p50} ms)`,
        target: '≤ 10 ms',
        met: reads.latency.p99 <= 10,
        anchor: 'GetStream publishes ~11 ms p50',
      },
      {
        name: 'server: activity adds over HTTP (req/s)',
        value: `${Math.round(adds.requests.average).toLocaleString('en-US')} (p99 ${adds.latency.p99} ms)`,
        target: 'report',
        met: true,
      },
    ]
  } finally {
    await app.close()
    await client.close()
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
