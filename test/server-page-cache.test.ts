/**
 * The server's page cache: a repeated plain read is served without a store read, with the same
 * bytes; and a cached page is never stale, whoever wrote: this server, a fan-out chunk, a mark,
 * or another process on the same SQLite file. Behaviour and store-read counts, no timers.
 */
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { after, before, describe, it } from 'node:test'
import { createServer } from 'eddy/server'
import type { FastifyInstance } from 'fastify'
import stream, { type StreamClient } from 'getstream'
import { SignJWT } from 'jose'
import { connect, type EddyClient } from '../src/client/client.js'
import { PageCache } from '../src/server/page-cache.js'
import { openSqliteStore, type SqliteStore } from '../src/store/sqlite/index.js'
import { must } from './helpers.js'

const KEY = 'cache-key'
const SECRET = 'cache-secret'
const CHILD = new URL('./fixtures/store-process.ts', import.meta.url).pathname

/** Runs a store-process.ts mode in a child process until it prints DONE. */
async function child(...args: string[]): Promise<void> {
  const proc = spawn(process.execPath, ['--conditions=eddy-source', '--import', 'tsx', CHILD, ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  for await (const line of createInterface({ input: must(proc.stdout, 'the child stdout') }))
    if (line === 'DONE') return
  throw new Error(`${args[0]} exited before it was done`)
}

/** A response body without its `duration`, which differs on every call. */
const withoutDuration = (text: string) => text.replace(/,"duration":"[0-9.]+ms"}$/, '}')

/** The official client, as these tests drive it. */
type Api = StreamClient

describe('server page cache on SQLite', () => {
  const dir = mkdtempSync(join(tmpdir(), 'eddy-page-cache-'))
  const path = join(dir, 'feeds.sqlite')
  const reads = { flat: 0, groups: 0 }
  let store: SqliteStore
  let client: EddyClient
  let app: FastifyInstance
  let uncached: FastifyInstance
  let api: Api
  let urls: { cached: string; uncached: string }
  let token: string

  before(async () => {
    store = openSqliteStore(path)
    const readFlat = store.timelines.readFlat.bind(store.timelines)
    const readGroups = store.timelines.readGroups.bind(store.timelines)
    store.timelines.readFlat = (...args) => {
      reads.flat++
      return readFlat(...args)
    }
    store.timelines.readGroups = (...args) => {
      reads.groups++
      return readGroups(...args)
    }
    client = connect({ store })
    app = createServer({ client, apiKey: KEY, apiSecret: SECRET })
    uncached = createServer({ client, apiKey: KEY, apiSecret: SECRET, pageCacheBytes: 0 })
    const base = async (server: FastifyInstance) => {
      await server.listen({ port: 0, host: '127.0.0.1' })
      return `http://127.0.0.1:${(server.server.address() as AddressInfo).port}`
    }
    urls = { cached: await base(app), uncached: await base(uncached) }
    api = stream.connect(KEY, SECRET, 'app', { urlOverride: { api: `${urls.cached}/api/` } })
    token = await new SignJWT({ resource: '*', action: '*', feed_id: '*' })
      .setProtectedHeader({ alg: 'HS256' })
      .sign(new TextEncoder().encode(SECRET))
    await client.feed('timeline', 'reader').follow('user', 'hot')
    await client.feed('timeline_aggregated', 'reader').follow('user', 'hot')
    for (let i = 0; i < 3; i++) {
      await client
        .feed('user', 'hot')
        .addActivity({ actor: 'hot', verb: 'post', object: `first:${i}`, to: ['notification:reader'] })
    }
    await client.flush()
  })
  after(async () => {
    await app.close()
    await uncached.close()
    await client.close()
    rmSync(dir, { recursive: true, force: true })
  })

  /** The raw body of a plain read of `feed` from one of the two servers. */
  async function raw(server: 'cached' | 'uncached', feed: string, query = ''): Promise<string> {
    const [slug, id] = feed.split(':')
    const response = await fetch(`${urls[server]}/api/v1.0/feed/${slug}/${id}/?api_key=${KEY}${query}`, {
      headers: { authorization: token, 'stream-auth-type': 'jwt' },
    })
    assert.equal(response.status, 200)
    return response.text()
  }

  it('answers a repeated read without reading the store, with the bytes an uncached server sends', async () => {
    for (const feed of ['timeline:reader', 'timeline_aggregated:reader', 'notification:reader']) {
      const first = await raw('cached', feed, '&limit=2')
      const before = { ...reads }
      const again = await raw('cached', feed, '&limit=2')
      assert.deepEqual(reads, before, `${feed}: the second read came from the cache`)
      assert.equal(withoutDuration(again), withoutDuration(first))
      assert.equal(withoutDuration(await raw('uncached', feed, '&limit=2')), withoutDuration(first), feed)
      assert.match(again, /,"duration":"[0-9.]+ms"}$/)
    }
    // Another page of the same feed is another entry.
    const before = reads.flat
    await raw('cached', 'timeline:reader', '&limit=1')
    assert.equal(reads.flat, before + 1)
  })

  it('shows an add made through the server, and its fan-out, on the next read', async () => {
    await raw('cached', 'timeline:reader')
    await raw('cached', 'user:hot')
    const added = await api.feed('user', 'hot').addActivity({ actor: 'hot', verb: 'post', object: 'second' })
    assert.ok((await raw('cached', 'user:hot')).includes(added.id))
    await client.flush()
    assert.ok((await raw('cached', 'timeline:reader')).includes(added.id))
    const groups = JSON.parse(await raw('cached', 'timeline_aggregated:reader'))
    assert.ok(groups.results.some((g: { activities: { id: string }[] }) => g.activities[0].id === added.id))
  })

  it('shows an add made by another process on the same file on the next read', async () => {
    const feeds = ['user:hot', 'timeline:reader', 'timeline_aggregated:reader']
    for (const feed of feeds) await raw('cached', feed)
    const before = { ...reads }
    for (const feed of feeds) await raw('cached', feed)
    assert.deepEqual(reads, before, 'all three pages are cached')
    // store-process.ts adds hot:0 to user:hot and delivers its fan-out, in its own process.
    await child('adder', `sqlite:${path}`, '1')
    for (const feed of feeds) {
      const page = JSON.parse(await raw('cached', feed))
      const newest = page.results[0].activities?.[0] ?? page.results[0]
      assert.equal(newest.object, 'hot:0', feed)
    }
    assert.equal(reads.flat, before.flat + 2)
    assert.equal(reads.groups, before.groups + 1)
  })

  it('never caches a read that marks, and shows the marks on the next read', async () => {
    const unread = JSON.parse(await raw('cached', 'notification:reader'))
    assert.ok(unread.unseen > 0)
    const before = reads.groups
    await raw('cached', 'notification:reader', '&mark_seen=true')
    await raw('cached', 'notification:reader', '&mark_seen=true')
    assert.equal(reads.groups, before + 2, 'each marking read reaches the store')
    const seen = JSON.parse(await raw('cached', 'notification:reader'))
    assert.equal(seen.unseen, 0)
    assert.ok(seen.results.every((g: { is_seen: boolean }) => g.is_seen))
  })

  it('changes the data version for writes of this connection and of others, not for reads', async () => {
    const other = openSqliteStore(path)
    try {
      const v0 = await store.dataVersion()
      await store.timelines.readFlat('user:hot', { limit: 25, offset: 0 })
      assert.equal(await store.dataVersion(), v0)
      await client.feed('user', 'quiet').addActivity({ actor: 'q', verb: 'post', object: 'q:1' })
      const v1 = await store.dataVersion()
      assert.notEqual(v1, v0)
      await other.write({ follow: [{ source: 'timeline:x', target: 'user:quiet' }] })
      const v2 = await store.dataVersion()
      assert.notEqual(v2, v1)
      assert.equal(await store.dataVersion(), v2)
    } finally {
      await other.close()
    }
  })
})

describe('PageCache', () => {
  it("keeps pages per feed and version, drops a feed's pages on its new version, and refuses a page read under an older one", () => {
    const cache = new PageCache(1_000)
    assert.equal(cache.get('f', 'f|a', '1'), undefined)
    cache.set('f', 'f|a', '1', 'page a')
    assert.equal(cache.get('g', 'g|a', '7'), undefined)
    cache.set('g', 'g|a', '7', 'page of g')
    assert.equal(cache.get('f', 'f|a', '1'), 'page a')
    assert.equal(cache.get('f', 'f|a', '2'), undefined)
    assert.equal(cache.size, 1, "f's page went with its new version; g's stays")
    assert.equal(cache.get('g', 'g|a', '7'), 'page of g')
    cache.set('f', 'f|b', '1', 'read before version 2 was seen')
    assert.equal(cache.get('f', 'f|b', '2'), undefined)
  })

  it('takes the versions once per turn for every read that asked, after they asked', async () => {
    let state = 0
    const calls: string[][] = []
    const cache = new PageCache(1_000, async (feeds) => {
      calls.push(feeds)
      return feeds.map((f) => `${f}@${state}`)
    })
    const asked = [cache.version('f'), cache.version('g'), cache.version('f')]
    state++ // a write after the reads asked, in the same turn: the shared call must see it
    assert.deepEqual(await Promise.all(asked), ['f@1', 'g@1', 'f@1'])
    assert.deepEqual(calls, [['f', 'g']], 'one call, each feed once')
    state++
    assert.equal(await cache.version('g'), 'g@2')
    assert.equal(calls.length, 2)
    assert.equal(await new PageCache(1_000).version('f'), undefined, 'a store without versions: no caching')
  })

  it('takes a version per read while sharing is off (background fan-out changes it every chunk)', async () => {
    let reads = 0
    const cache = new PageCache(
      1_000,
      async (feeds) => feeds.map(() => String(++reads)),
      () => false,
    )
    assert.deepEqual(await Promise.all([cache.version('f'), cache.version('f')]), ['1', '2'])
  })

  it('stays within its byte budget, oldest pages first', () => {
    const cache = new PageCache(100)
    cache.get('f', '', 'v')
    for (const key of ['k1', 'k2', 'k3']) cache.set('f', key, 'v', 'x'.repeat(18)) // 40 bytes each
    assert.equal(cache.get('f', 'k1', 'v'), undefined)
    assert.equal(cache.get('f', 'k3', 'v'), 'x'.repeat(18))
    assert.equal(cache.size, 2)
    cache.set('f', 'big', 'v', 'x'.repeat(60))
    assert.equal(cache.get('f', 'big', 'v'), undefined, 'a page over the whole budget is not kept')
  })
})
