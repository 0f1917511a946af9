/**
 * Scope claims, as an attacker holding one feed's token tries to stretch it. Stream signs a
 * feed's `feed_id` as `<slug><userId>` with no separator, so `timeline_aggregatedbob` is both
 * timeline_aggregated:bob and timeline:_aggregatedbob; it names the first only (the longest
 * configured slug, as Faye channels are read). `stats/follow` checks the scope for every feed
 * it names, not only `followers`.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import type { FastifyInstance } from 'fastify'
import stream, { type StreamClient } from 'getstream'
import { forbidden } from '../fixtures/attack.js'
import { startStreamServer } from '../fixtures/stream-server.js'

const KEY = 'scope-key'
const SECRET = 'scope-secret'

/** The official client, as these tests drive it. */
type Api = StreamClient

/** What these tests read from a raw answer: Stream's error code, or the results (a page or the follow stats). */
interface RawAnswer {
  code?: number
  results?: unknown
}

describe('scope claims name one feed each', () => {
  let app: FastifyInstance
  let base: string
  let api: Api
  let anonymous: Api

  before(async () => {
    const started = await startStreamServer(KEY, SECRET, { store: 'memory' })
    app = started.app
    base = started.base
    api = started.api
    // Client-side mode: no secret, each feed with the token the app server handed out.
    anonymous = stream.connect(KEY, null, 'app', { urlOverride: { api: base } })
    // An app-wide token: a feed token for timeline:_aggregatedbob is read as timeline_aggregated:bob.
    const added = await raw(api.getOrCreateToken(), 'POST', 'feed/timeline/_aggregatedbob/', {
      actor: 'x',
      verb: 'secret',
      object: 'o:1',
    })
    assert.equal(added.status, 200)
    await api.feed('timeline_aggregated', 'bob').addActivity({ actor: 'x', verb: 'mine', object: 'o:2' })
    await api.feed('timeline', 'bob').follow('user', 'carol')
    await api.feed('user', 'alice').follow('user', 'carol')
  })
  after(() => app.close())

  async function raw(token: string, method: string, path: string, body?: unknown) {
    const sep = path.includes('?') ? '&' : '?'
    const res = await fetch(`${base}v1.0/${path}${sep}api_key=${KEY}`, {
      method,
      headers: { authorization: token, 'stream-auth-type': 'jwt', 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    })
    return { status: res.status, body: (await res.json()) as RawAnswer }
  }

  it('a token for timeline_aggregated:bob does not reach timeline:_aggregatedbob', async () => {
    const readOnly: string = api.getReadOnlyToken('timeline_aggregated', 'bob')
    const readWrite: string = api.getReadWriteToken('timeline_aggregated', 'bob')
    // Its own feed works.
    const own = await anonymous.feed('timeline_aggregated', 'bob', readOnly).get()
    assert.equal(own.results[0].verb, 'mine')
    // The other reading of the same text is refused, for reads and writes alike.
    await forbidden(anonymous.feed('timeline', '_aggregatedbob', readOnly).get())
    await forbidden(anonymous.feed('timeline', '_aggregatedbob', readWrite).get())
    await forbidden(
      anonymous
        .feed('timeline', '_aggregatedbob', readWrite)
        .addActivity({ actor: 'x', verb: 'v', object: 'o' }),
    )
    for (const [method, path, body] of [
      ['GET', 'feed/timeline/_aggregatedbob/'],
      ['GET', 'enrich/feed/timeline/_aggregatedbob/'],
      ['POST', 'feed/timeline/_aggregatedbob/', { actor: 'x', verb: 'v', object: 'o' }],
      ['GET', 'feed/timeline/_aggregatedbob/followers/'],
      ['POST', 'feed/timeline/_aggregatedbob/following/', { target: 'user:x' }],
    ] as [string, string, unknown][]) {
      const res = await raw(readWrite, method, path, body)
      assert.equal(res.status, 403, `${method} ${path}`)
      assert.equal(res.body.code, 17)
    }
    // So is the official server client's own feed token for it (the format cannot tell them
    // apart): such a feed is reached with an app-wide token only.
    await forbidden(api.feed('timeline', '_aggregatedbob').get())
    const all: string = api.getOrCreateToken()
    const stored = await raw(all, 'GET', 'feed/timeline/_aggregatedbob/')
    assert.deepEqual(
      (stored.body.results as { verb: string }[]).map((a) => a.verb),
      ['secret'],
    )
    assert.deepEqual((await raw(all, 'GET', 'feed/timeline/_aggregatedbob/following/')).body.results, [])
  })

  it("matches only Stream's claim formats: `*`, or `<slug><userId>` in a comma list", async () => {
    const token = (feedId: string) => stream.JWTScopeToken(SECRET, '*', '*', { feedId })
    const status = async (feedId: string, query: string) =>
      (await raw(token(feedId), 'GET', `stats/follow/?${query}`)).status
    assert.equal(await status('useralice,timelinebob', 'followers=user:alice&following=timeline:bob'), 200)
    assert.equal(await status('useralice, timelinebob', 'followers=timeline:bob'), 200)
    // A colon, a prefix, a glob or another split of the same text is no claim on the feed.
    for (const claim of ['user:alice', 'user', 'useral', 'user*', 'usera*', 'userALICE', ':useralice']) {
      assert.equal(await status(claim, 'followers=user:alice'), 403, claim)
    }
    assert.equal((await raw(token('timelinebob'), 'GET', 'feed/timeline/bob/')).status, 200)
    assert.equal(
      (await raw(token('timeline_aggregatedbob'), 'GET', 'feed/timeline_aggregated/bob/')).status,
      200,
    )
    // An unknown group is the route's 400, as for an app-wide token.
    assert.equal((await raw(token('nopebob'), 'GET', 'feed/nope/bob/')).status, 400)
  })

  it('stats/follow checks the scope for the following feed too', async () => {
    const alice: string = api.feed('user', 'alice').token
    const ok = await raw(alice, 'GET', 'stats/follow/?followers=user:alice&following=user:alice')
    assert.equal(ok.status, 200)
    assert.equal((ok.body.results as { following: { count: number } }).following.count, 1)
    assert.equal((await raw(alice, 'GET', 'stats/follow/?following=user:alice')).status, 200)
    for (const query of [
      'followers=user:alice&following=timeline:bob',
      'following=timeline:bob',
      'followers=timeline:bob',
      'followers=timeline:bob&following=user:alice',
    ]) {
      const res = await raw(alice, 'GET', `stats/follow/?${query}`)
      assert.equal(res.status, 403, query)
      assert.equal(res.body.code, 17)
      assert.doesNotMatch(JSON.stringify(res.body), /count/)
    }
    // The official client's own call (an app-wide token) still works.
    const stats = await api.feed('timeline', 'bob').followStats()
    assert.equal(stats.results.following.count, 1)
  })
})
