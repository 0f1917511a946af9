/**
 * Feeds V3 beside V1 over HTTP at a fixed 1,500 requests/s (autocannon's `overallRate`, 16
 * connections, in a worker thread), on one server over the embedded SQLite store: a feed read of
 * 25 (V3 GetOrCreateFeed, V1 `GET feed/`) and an activity add (V3 AddActivity, V1 `POST feed/`),
 * p50 and p99, each beside a bare Fastify route driven at the same rate in the same run (the read:
 * the same page bytes sent statically; the add: the body parsed and an activity row + a timeline
 * row committed on a bare connection). Targets and limits alternate block by block (`alternate`).
 * Runnable alone: `node --conditions=eddy-source --import tsx bench/v3-bench.ts`.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { connect } from 'eddy'
import { createServer } from 'eddy/server'
import Fastify, { type FastifyInstance } from 'fastify'
import { SignJWT } from 'jose'
import { BareSqlite } from './limits.js'
import { alternate, type Load } from './server-bench.js'
import type { BenchRow } from './table.js'

const KEY = 'bench-key'
const SECRET = 'bench-secret'
const SEED = 1_000
/** The fixed request rate of every row (issue 21). */
const RATE = 1_500

/** The bare routes beside the rows: a V1 and a V3 path each, static page bytes or a bare commit. */
async function bareServer(pages: { v1: string; v3: string }, bare: BareSqlite) {
  const app = Fastify()
  const send = (body: string) => (_request: unknown, reply: { type(t: string): { send(b: string): void } }) =>
    reply.type('application/json; charset=utf-8').send(body)
  app.get('/api/v1.0/feed/:slug/:id/', send(pages.v1))
  app.post('/api/v2/feeds/feed_groups/:group/feeds/:id', send(pages.v3))
  const commit = (request: { body: unknown }, fid: string) => {
    bare.add(JSON.stringify(request.body), fid)
    return { ok: true }
  }
  app.post('/api/v1.0/feed/:slug/:id/', async (request) => {
    const { slug, id } = request.params as { slug: string; id: string }
    return commit(request, `${slug}:${id}`)
  })
  app.post('/api/v2/feeds/activities', async (request) => commit(request, 'user:writer'))
  await app.listen({ port: 0, host: '127.0.0.1' })
  return { app, base: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}` }
}

const ms = (l: Load) => `p50 ${l.p50} ms, p99 ${l.p99} ms`
const rate = (l: Load) => `${Math.round(l.perSecond).toLocaleString('en-US')}/s`

/** The V3 and V1 read and add rows at 1,500 requests/s, each beside its same-run limit. */
export async function benchV3(): Promise<BenchRow[]> {
  const dir = mkdtempSync(join(tmpdir(), 'eddy-v3-bench-'))
  const path = join(dir, 'bench.sqlite')
  const client = connect({ store: `sqlite:${path}` })
  const app = createServer({ client, apiKey: KEY, apiSecret: SECRET })
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
          text: `post ${i + j}`,
        })),
      )
    }
    await app.listen({ port: 0, host: '127.0.0.1' })
    const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`
    const secret = new TextEncoder().encode(SECRET)
    // V1's server token (every resource) and V3's (`server: true`), as the SDKs sign them.
    const v1Token = await new SignJWT({ resource: '*', action: '*', feed_id: '*' })
      .setProtectedHeader({ alg: 'HS256' })
      .sign(secret)
    const v3Token = await new SignJWT({ server: true }).setProtectedHeader({ alg: 'HS256' }).sign(secret)
    const json = { 'stream-auth-type': 'jwt', 'content-type': 'application/json' }
    const v1Headers = { ...json, authorization: v1Token }
    const v3Headers = { ...json, authorization: v3Token }

    const v1Read = (b: string) => ({
      url: `${b}/api/v1.0/feed/user/bench/?api_key=${KEY}&limit=25`,
      headers: v1Headers,
    })
    const v3Read = (b: string) => ({
      url: `${b}/api/v2/feeds/feed_groups/user/feeds/bench?api_key=${KEY}`,
      method: 'POST',
      headers: v3Headers,
      body: JSON.stringify({ user_id: 'bench', limit: 25 }),
    })
    const v1Add = (b: string) => ({
      url: `${b}/api/v1.0/feed/user/writer/?api_key=${KEY}`,
      method: 'POST',
      headers: v1Headers,
      body: JSON.stringify({
        actor: 'SU:writer',
        verb: 'post',
        object: 'post',
        text: 'hello from autocannon',
      }),
    })
    const v3Add = (b: string) => ({
      url: `${b}/api/v2/feeds/activities?api_key=${KEY}`,
      method: 'POST',
      headers: v3Headers,
      body: JSON.stringify({
        user_id: 'writer',
        feeds: ['user:writer'],
        type: 'post',
        text: 'hello from autocannon',
      }),
    })
    // Each request answered once before the load: a failing one would void every row.
    const page = async (r: {
      url: string
      method?: string
      headers: Record<string, string>
      body?: string
    }) => {
      const response = await fetch(r.url, r)
      const text = await response.text()
      if (!response.ok)
        throw new Error(`v3 bench: ${r.method ?? 'GET'} ${r.url} answered ${response.status}: ${text}`)
      return text
    }
    const pages = { v1: await page(v1Read(base)), v3: await page(v3Read(base)) }
    const v3Page = JSON.parse(pages.v3) as { activities: unknown[] }
    if (v3Page.activities.length !== 25) throw new Error('v3 bench: the V3 page is not 25 activities')
    await page(v1Add(base))
    await page(v3Add(base))
    const bareApp = await bareServer(pages, bare)
    limits = bareApp.app

    const at = { overallRate: RATE }
    const reads = await alternate({
      v3: { ...v3Read(base), ...at },
      v1: { ...v1Read(base), ...at },
      bareV3: { ...v3Read(bareApp.base), ...at },
      bareV1: { ...v1Read(bareApp.base), ...at },
    })
    const adds = await alternate({
      v3: { ...v3Add(base), ...at },
      v1: { ...v1Add(base), ...at },
      bareV3: { ...v3Add(bareApp.base), ...at },
      bareV1: { ...v1Add(bareApp.base), ...at },
    })
    const target = `p99 ≤ 2× V1's, at ${RATE.toLocaleString('en-US')}/s`
    const row = (name: string, l: Load, limit: Load, limitText: string, v1?: Load): BenchRow => ({
      name,
      value: `${ms(l)} at ${rate(l)}`,
      target: v1 ? target : 'report',
      met: v1 ? l.p99 <= 2 * v1.p99 && l.perSecond >= 0.95 * RATE : true,
      limit: `${limitText}: ${ms(limit)} at ${rate(limit)}`,
      ratio: limit.p50 > 0 ? l.p50 / limit.p50 : undefined,
    })
    const readLimit = (b: string) =>
      `Fastify route sending the same ${b.length.toLocaleString('en-US')} bytes`
    const addLimit = 'Fastify route parsing the body and committing an activity row + a timeline row'
    return [
      row(
        'V3 server: GetOrCreateFeed, a page of 25, 1,500 req/s',
        reads.v3,
        reads.bareV3,
        readLimit(pages.v3),
        reads.v1,
      ),
      row(
        'V1 server: feed read of 25 (page cache on), 1,500 req/s',
        reads.v1,
        reads.bareV1,
        readLimit(pages.v1),
      ),
      row('V3 server: AddActivity, 1,500 req/s', adds.v3, adds.bareV3, addLimit, adds.v1),
      row('V1 server: activity add, 1,500 req/s', adds.v1, adds.bareV1, addLimit),
    ]
  } finally {
    await limits?.close()
    await app.close()
    await client.close()
    bare.close()
    rmSync(dir, { recursive: true, force: true })
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { table } = await import('./table.js')
  console.log(table(await benchV3()))
}
