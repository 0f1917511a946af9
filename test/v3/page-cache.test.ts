/**
 * The V3 feed page cache: a repeated GetOrCreateFeed read is served without store reads, with
 * the same bytes; after any acknowledged write, through this server or another one on the same
 * store, the next read is a fresh page (compared with a server that caches nothing); a cached
 * page is never served to another caller. On PostgreSQL + Redis, whose version misses document
 * writes, nothing is cached. Store-call counts and compared bytes, no timers.
 */
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import type { FeedsClient } from '@stream-io/feeds-client'
import { SignJWT } from 'jose'
import { connect, type EddyClient } from '../../src/client/client.js'
import { createServer } from '../../src/server/index.js'
import { openSqliteStore } from '../../src/store/sqlite/index.js'
import { must } from '../helpers.js'
import { KEY, SECRET, startV3, type V3Server, v3Stores } from './harness.js'

/** A feed read's answer text without its `duration`, which differs on every call. */
const withoutDuration = (text: string) => text.replace(/,"duration":"[0-9.]+ms"}$/, '}')

/** Reads `fid` through GetOrCreateFeed at `base` with `token`; the answer text without duration. */
async function read(base: string, token: string, fid: string, body: object = {}): Promise<string> {
  const [group, id] = fid.split(':')
  const response = await fetch(`${base}/api/v2/feeds/feed_groups/${group}/feeds/${id}?api_key=${KEY}`, {
    method: 'POST',
    headers: { 'stream-auth-type': 'jwt', 'content-type': 'application/json', authorization: token },
    body: JSON.stringify({ limit: 10, ...body }),
  })
  const text = await response.text()
  return `${response.status} ${withoutDuration(text)}`
}

const secret = new TextEncoder().encode(SECRET)
const serverToken = () => new SignJWT({ server: true }).setProtectedHeader({ alg: 'HS256' }).sign(secret)
const userToken = (user: string) =>
  new SignJWT({ user_id: user }).setProtectedHeader({ alg: 'HS256' }).sign(secret)

describe('V3 feed page cache on SQLite, two servers on one file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'eddy-v3-pages-'))
  const path = join(dir, 'feeds.sqlite')
  const storeCalls = { count: 0 }
  let a: V3Server
  let b: V3Server
  let fresh: { base: string; close(): Promise<void>; eddy: EddyClient }
  let ann: FeedsClient
  let app: string

  before(async () => {
    // Server A counts its store calls; B writes on its own connection; `fresh` caches nothing.
    const store = openSqliteStore(path)
    for (const part of [store.documents, store.timelines, store.follows, store.reactions] as object[])
      for (const name of Object.getOwnPropertyNames(Object.getPrototypeOf(part))) {
        const method = (part as Record<string, unknown>)[name]
        if (name === 'constructor' || typeof method !== 'function') continue
        ;(part as Record<string, unknown>)[name] = (...args: unknown[]) => {
          storeCalls.count++
          return method.apply(part, args)
        }
      }
    a = await startV3({ options: () => ({ store }) })
    b = await startV3({ spec: () => `sqlite:${path}` })
    const eddy = connect({ store: `sqlite:${path}` })
    const server = createServer({ apiKey: KEY, apiSecret: SECRET, client: eddy, pageCacheBytes: 0 })
    fresh = {
      base: await server.listen({ port: 0, host: '127.0.0.1' }),
      eddy,
      close: async () => {
        await server.close()
        await eddy.close()
      },
    }
    app = await serverToken()
    ann = await b.connect('ann', 'Ann')
    await b.connect('bea', 'Bea')
    await ann.feed('user', 'ann').getOrCreate({ data: { name: 'Ann' } })
    await ann.addActivity({ feeds: ['user:ann'], type: 'post', text: 'first' })
  })
  after(async () => {
    await a.close()
    await b.close()
    await fresh.close()
    rmSync(dir, { recursive: true, force: true })
  })

  it('serves a repeated read without store calls, with the same bytes', async () => {
    const first = await read(a.base, app, 'user:ann', { user_id: 'ann' })
    const before = storeCalls.count
    const again = await read(a.base, app, 'user:ann', { user_id: 'ann' })
    assert.equal(storeCalls.count, before, 'the cached read calls the store for nothing')
    assert.equal(again, first)
    assert.equal(again, await read(fresh.base, app, 'user:ann', { user_id: 'ann' }))
    assert.match(again, /^200 /)
  })

  it('after each acknowledged write through server B, server A answers the fresh page', async () => {
    const token = await userToken('ann')
    const same = async (what: string) => {
      const body = { user_id: 'ann' }
      assert.equal(
        await read(a.base, app, 'user:ann', body),
        await read(fresh.base, app, 'user:ann', body),
        what,
      )
      assert.equal(await read(a.base, token, 'user:ann'), await read(fresh.base, token, 'user:ann'), what)
    }
    await same('warm')
    const { activity } = await ann.addActivity({ feeds: ['user:ann'], type: 'post', text: 'second' })
    await same('an activity added')
    assert.match(await read(a.base, token, 'user:ann'), /"second"/)
    await ann.addActivityReaction({ activity_id: activity.id, type: 'like' })
    await same('a reaction added')
    await ann.addComment({ object_id: activity.id, object_type: 'activity', comment: 'nice' })
    await same('a comment added')
    await ann.feed('user', 'ann').updateFeedMembers({ operation: 'upsert', members: [{ user_id: 'bea' }] })
    await same('a member added')
    await ann.pinActivity({ feed_group_id: 'user', feed_id: 'ann', activity_id: activity.id })
    await same('an activity pinned')
    // Feeds with V3 data: a feed without any shows the time of the read as its created_at.
    await ann.feed('timeline', 'ann').getOrCreate({})
    await b.server.feeds.feed('timeline', 'bea').getOrCreate({ user_id: 'bea' })
    await ann.follow({ source: 'timeline:ann', target: 'user:ann' })
    await b.server.feeds.follow({ source: 'timeline:bea', target: 'user:ann' })
    await same('a follower added')
    await b.server.updateUsers({ users: { ann: { id: 'ann', name: 'Ann Renamed' } } })
    await same('the creator renamed')
    assert.match(await read(a.base, token, 'user:ann'), /Ann Renamed/)
    await ann.deleteActivity({ id: activity.id })
    await same('an activity deleted')
  })

  it("never serves one caller's cached page to another", async () => {
    const owner = await userToken('ann')
    await ann.feed('user', 'secret').getOrCreate({ data: { visibility: 'private' } })
    await ann.addActivity({ feeds: ['user:secret'], type: 'post', text: 'private words' })
    const own = await read(a.base, owner, 'user:secret')
    assert.match(own, /^200 .*private words/)
    assert.equal(await read(a.base, owner, 'user:secret'), own)
    const stranger = await read(a.base, await userToken('mallory'), 'user:secret')
    assert.match(stranger, /^403 /)
    assert.doesNotMatch(stranger, /private words/)
    // An anonymous caller, and the app reading as someone else, get their own answers too.
    assert.doesNotMatch(await read(a.base, 'anonymous', 'user:secret'), /private words/)
    const asApp = await read(a.base, app, 'user:secret', { user_id: 'mallory' })
    assert.notEqual(asApp, own)
  })
})

const shared = must(
  (await v3Stores('v3pages')).find((s) => s.name === 'PostgreSQL + Redis'),
  'the PostgreSQL + Redis entry of the every-store list',
)

describe('V3 feed pages on PostgreSQL + Redis, two servers', { skip: shared.skip }, () => {
  let a: V3Server
  let b: V3Server

  before(async () => {
    const options = shared.options()
    a = await startV3({ options: () => options })
    b = await startV3({ options: () => options })
  })
  after(async () => {
    await a.close()
    await b.close()
  })

  it('a document written through B shows in the next read through A (nothing cached)', async () => {
    const feed = (s: V3Server) => s.server.feeds.feed('user', 'pgann')
    await feed(b).getOrCreate({ user_id: 'pgann', data: { name: 'before' } })
    assert.equal((await feed(a).getOrCreate({ user_id: 'pgann' })).feed.name, 'before')
    await feed(b).update({ name: 'after' })
    assert.equal((await feed(a).getOrCreate({ user_id: 'pgann' })).feed.name, 'after')
    await feed(b).updateFeedMembers({ operation: 'upsert', members: [{ user_id: 'pgbea' }] })
    assert.equal((await feed(a).getOrCreate({ user_id: 'pgann' })).feed.member_count, 1)
  })
})
