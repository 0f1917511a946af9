/**
 * Robustness: a few hundred generated bad requests (malformed JSON, wrong types, unknown fields,
 * oversized bodies, over-long ids, invalid slugs, bad or missing auth) each get a Stream-shaped
 * 4xx; afterwards the server still serves and the stored feeds are unchanged.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { createServer } from 'eddy/server'
import type { FastifyInstance, InjectOptions } from 'fastify'
import { SignJWT } from 'jose'
import { prng } from './fixtures/attack.js'

const KEY = 'fuzz-key'
const SECRET = 'fuzz-secret'
const FEEDS = ['user/alice', 'timeline/bob', 'notification/bob', 'timeline_aggregated/bob']

function sign(claims: Record<string, unknown>, secret = SECRET): Promise<string> {
  return new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).sign(new TextEncoder().encode(secret))
}

describe('the server under a few hundred bad requests', () => {
  let app: FastifyInstance
  let admin: string
  let alice: string
  const snapshot = async () => {
    const out: Record<string, unknown> = {}
    for (const feed of FEEDS) {
      const res = await app.inject({
        method: 'GET',
        url: `/api/v1.0/feed/${feed}/?api_key=${KEY}&limit=100`,
        headers: { authorization: admin },
      })
      assert.equal(res.statusCode, 200, res.body)
      const { duration, ...rest } = res.json()
      out[feed] = rest
    }
    const followers = await app.inject({
      method: 'GET',
      url: `/api/v1.0/feed/user/alice/followers/?api_key=${KEY}`,
      headers: { authorization: admin },
    })
    out.followers = followers.json().results
    return out
  }

  before(async () => {
    app = createServer({ store: 'sqlite::memory:', apiKey: KEY, apiSecret: SECRET, bodyLimit: 256 * 1024 })
    admin = await sign({ resource: '*', action: '*', feed_id: '*' })
    alice = await sign({ user_id: 'alice' })
    await app.inject({
      method: 'POST',
      url: `/api/v1.0/feed/timeline/bob/following/?api_key=${KEY}`,
      headers: { authorization: admin },
      payload: { target: 'user:alice' },
    })
    for (let i = 0; i < 5; i++) {
      const res = await app.inject({
        method: 'POST',
        url: `/api/v1.0/feed/user/alice/?api_key=${KEY}`,
        headers: { authorization: admin },
        payload: {
          actor: 'SU:alice',
          verb: 'post',
          object: `post:${i}`,
          foreign_id: `p:${i}`,
          to: ['notification:bob'],
        },
      })
      assert.equal(res.statusCode, 200, res.body)
    }
  })
  after(() => app.close())

  it('answers each with a Stream-shaped 4xx, keeps serving, and changes nothing', async () => {
    const before = await snapshot()
    const rand = prng(42)
    const pick = <T>(items: T[]): T => items[Math.floor(rand() * items.length)]
    const long = 'x'.repeat(300)
    const badJson = [
      '{',
      '{"actor":',
      '[1,2',
      'nul',
      '{"a":1}}',
      '\u0000',
      '{"__proto__":{"admin":true},"actor":"a","verb":"v","object":"o"}',
      '"just a string"',
      '12',
      'true',
    ]
    const badActivities: unknown[] = [
      null,
      [],
      42,
      'activity',
      {},
      { verb: 'v', object: 'o' },
      { actor: 'a', object: 'o' },
      { actor: 'a', verb: 'v' },
      { actor: 'a', verb: 'v', object: '' },
      { actor: {}, verb: 'v', object: 'o' },
      { actor: 'a', verb: ['v'], object: 'o' },
      { actor: 'a', verb: 'v'.repeat(300), object: 'o' },
      { actor: 'a', verb: 'v', object: 'o', time: 'yesterday' },
      { actor: 'a', verb: 'v', object: 'o', time: {} },
      { actor: 'a', verb: 'v', object: 'o', to: 'notification:bob' },
      { actor: 'a', verb: 'v', object: 'o', to: ['nope:1'] },
      { actor: 'a', verb: 'v', object: 'o', to: [`user:${long}`] },
      { actor: 'a', verb: 'v', object: 'o', foreign_id: {} },
      { actor: 'a', verb: 'v', object: 'o', foreign_id: long },
      { actor: 'a', verb: 'v', object: 'o', blob: 'z'.repeat(20_000) },
      { activities: [] },
      { activities: [{ actor: 'a', verb: 'v', object: 'o' }, null] },
      { activities: Array.from({ length: 101 }, (_, i) => ({ actor: 'a', verb: 'v', object: `o${i}` })) },
    ]
    const paths = [
      'user/alice',
      'timeline/bob',
      'nope/x',
      `user/${long}`,
      `${long}/x`,
      'user/a%20b',
      'user/%00',
      'us-er/x',
      'user/é',
      'user/a:b',
    ]
    const bodies: [string, string, unknown][] = [
      ['POST', 'feed/timeline/bob/following/', { target: 'user' }],
      ['POST', 'feed/timeline/bob/following/', { target: 'notification:bob' }],
      ['POST', 'feed/timeline/bob/following/', { target: 'timeline:bob' }],
      ['POST', 'feed/timeline/bob/following/', { target: 'user:alice', activity_copy_limit: -1 }],
      ['POST', 'feed/timeline/bob/following/', { target: 'user:alice', activity_copy_limit: 5000 }],
      ['POST', 'feed/timeline/bob/following/', { target: 'user:alice', extra: 1 }],
      ['POST', 'feed/timeline/bob/following/', ['user:alice']],
      ['POST', 'follow_many/', { source: 'timeline:bob', target: 'user:alice' }],
      ['POST', 'follow_many/', [{ source: 'timeline:bob', target: 5 }]],
      ['POST', 'unfollow_many/', [{ source: 'timeline:bob', target: 'user:alice', keep_history: 'yes' }]],
      [
        'POST',
        'feed/add_to_many/',
        { activity: { actor: 'a', verb: 'v', object: 'o' }, feeds: 'user:alice' },
      ],
      [
        'POST',
        'feed/add_to_many/',
        { activity: { actor: 'a', verb: 'v', object: 'o', to: ['user:x'] }, feeds: ['user:x'] },
      ],
      ['POST', 'activities/', { activities: [{ actor: 'a', verb: 'v', object: 'o', foreign_id: 'p:1' }] }],
      ['POST', 'activities/', { activities: 'all' }],
      ['POST', 'activity/', { changes: [{ id: 'nope', set: { a: 1 } }] }],
      ['POST', 'activity/', { changes: [{ foreign_id: 'p:1', time: 'bad', set: { a: 1 } }] }],
      ['POST', 'activity/', { changes: {} }],
      [
        'POST',
        'feed_targets/user/alice/activity_to_targets/',
        { foreign_id: 'p:1', time: 'bad', new_targets: [] },
      ],
      [
        'POST',
        'feed_targets/user/alice/activity_to_targets/',
        { foreign_id: 'p:1', time: '2020-01-01T00:00:00', new_targets: ['x'], added_targets: ['user:y'] },
      ],
      ['POST', 'user/', { id: long, data: {} }],
      ['POST', 'user/', { id: 'ok', data: 'text' }],
      ['POST', 'collections/food/', { id: '!bad!', data: { a: 1 } }],
      ['POST', 'collections/food/', { data: {} }],
      ['PUT', 'collections/food/x/', { id: 'y', data: { a: 1 } }],
      ['DELETE', 'feed/user/alice/not-a-uuid/', undefined],
      ['DELETE', 'feed/timeline/bob/following/bad/', undefined],
    ]
    const queries = [
      'limit=-1',
      'limit=1000000',
      'limit=abc',
      'offset=-5',
      'id_lt=nope',
      'id_lt=a&id_lt=b',
      'limit=1&limit=2',
      `id_gt=${long}`,
    ]

    const requests: InjectOptions[] = []
    const q = (extra = '') => `?api_key=${KEY}${extra ? `&${extra}` : ''}`
    const auth = { authorization: admin, 'stream-auth-type': 'jwt' }
    for (let i = 0; i < 60; i++) {
      requests.push({
        method: 'POST',
        url: `/api/v1.0/feed/user/alice/${q()}`,
        headers: { ...auth, 'content-type': 'application/json' },
        payload: pick(badJson),
      })
    }
    for (const a of badActivities)
      requests.push({
        method: 'POST',
        url: `/api/v1.0/feed/user/alice/${q()}`,
        headers: auth,
        payload: JSON.stringify(a),
      })
    for (const p of paths.slice(2)) {
      requests.push({ method: 'GET', url: `/api/v1.0/feed/${p}/${q()}`, headers: auth })
      requests.push({
        method: 'POST',
        url: `/api/v1.0/feed/${p}/${q()}`,
        headers: auth,
        payload: { actor: 'a', verb: 'v', object: 'o' },
      })
    }
    for (const [method, path, payload] of bodies) {
      requests.push({
        method: method as 'POST',
        url: `/api/v1.0/${path}${q()}`,
        headers: auth,
        payload: payload === undefined ? undefined : JSON.stringify(payload),
      })
    }
    for (let i = 0; i < 100; i++) {
      requests.push({
        method: 'GET',
        url: `/api/v1.0/feed/${pick(FEEDS)}/${q(pick(queries))}`,
        headers: auth,
      })
    }
    for (const mark of ['mark_read=garbage', 'mark_seen=nope', 'mark_read=1,2', 'mark_seen=a&mark_seen=b']) {
      requests.push({ method: 'GET', url: `/api/v1.0/feed/notification/bob/${q(mark)}`, headers: auth })
    }
    requests.push({
      method: 'POST',
      url: `/api/v1.0/feed/user/alice/${q()}`,
      headers: auth,
      payload: JSON.stringify({ actor: 'a', verb: 'v', object: 'o', big: 'b'.repeat(300_000) }),
    })
    requests.push({
      method: 'POST',
      url: `/api/v1.0/feed/user/alice/${q()}`,
      headers: auth,
      payload: `{"actor":"a","verb":"v","object":"o","deep":${'['.repeat(50_000)}${']'.repeat(50_000)}}`,
    })
    requests.push({
      method: 'POST',
      url: `/api/v1.0/feed/user/alice/${q()}`,
      headers: { ...auth, 'content-type': 'text/plain' },
      payload: 'actor=a',
    })
    requests.push({
      method: 'POST',
      url: `/api/v1.0/feed/user/alice/${q()}`,
      headers: { ...auth, 'content-type': 'multipart/form-data; boundary=x' },
      payload: '--x\r\n\r\n--x--',
    })
    requests.push({ method: 'PATCH', url: `/api/v1.0/feed/user/alice/${q()}`, headers: auth, payload: {} })
    requests.push({ method: 'GET', url: `/api/v1.0/nothing/here/${q()}`, headers: auth })
    requests.push({ method: 'GET', url: `/api/v1.0/feed/user/%E0%A4%A/${q()}`, headers: auth })
    // Auth failures on writes that would otherwise succeed.
    const expiredOrWrong = [
      await sign({ resource: '*', action: '*', feed_id: '*' }, 'other-secret'),
      'a.b.c',
      '',
      `${admin}x`,
    ]
    for (let i = 0; i < 60; i++) {
      const headers: Record<string, string> = { 'stream-auth-type': 'jwt' }
      const token = pick(expiredOrWrong)
      if (token) headers.authorization = token
      const key = rand() < 0.2 ? 'wrong-key' : KEY
      requests.push({
        method: 'POST',
        url: `/api/v1.0/feed/user/alice/?api_key=${key}`,
        headers,
        payload: { actor: 'a', verb: 'v', object: `x${i}` },
      })
    }
    // A user token writing where it may not.
    const userAuth = { authorization: alice, 'stream-auth-type': 'jwt' }
    for (let i = 0; i < 30; i++) {
      const choice = pick([
        {
          method: 'POST',
          url: `/api/v1.0/feed/timeline/bob/${q()}`,
          payload: { verb: 'v', object: `o${i}` },
        },
        {
          method: 'POST',
          url: `/api/v1.0/feed/user/alice/${q()}`,
          payload: { actor: 'SU:bob', verb: 'v', object: `o${i}` },
        },
        {
          method: 'POST',
          url: `/api/v1.0/feed/user/alice/${q()}`,
          payload: { actor: 'SU:alice', verb: 'v', object: `o${i}`, to: ['timeline:bob'] },
        },
        {
          method: 'POST',
          url: `/api/v1.0/feed/timeline/bob/following/${q()}`,
          payload: { target: 'user:carl' },
        },
        { method: 'DELETE', url: `/api/v1.0/feed/timeline/bob/following/user:alice/${q()}` },
        { method: 'GET', url: `/api/v1.0/feed/timeline/bob/${q('mark_seen=true')}` },
      ])
      requests.push({ ...(choice as InjectOptions), headers: userAuth })
    }
    assert.ok(requests.length >= 300, `only ${requests.length} requests`)

    for (const request of requests) {
      const res = await app.inject(request)
      const what = `${request.method} ${String(request.url).slice(0, 120)} -> ${res.statusCode} ${res.body.slice(0, 200)}`
      assert.ok(res.statusCode >= 400 && res.statusCode < 500, what)
      const body = res.json()
      for (const key of ['code', 'detail', 'exception', 'status_code', 'duration'])
        assert.ok(key in body, `${key} missing: ${what}`)
      assert.equal(body.status_code, res.statusCode, what)
    }
    assert.deepEqual(await snapshot(), before)
  })
})
