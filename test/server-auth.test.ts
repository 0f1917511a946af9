/**
 * Authentication and permissions: api_key and JWT checks, server-token scopes, and the user-token
 * permission matrix of stream-api.md §2, driven through the official client where it can be.
 */
import assert from 'node:assert/strict'
import type { AddressInfo } from 'node:net'
import { after, before, describe, it } from 'node:test'
import { createServer } from 'eddy/server'
import type { FastifyInstance } from 'fastify'
import stream, { type StreamClient } from 'getstream'
import { SignJWT } from 'jose'
import { status } from './fixtures/http-status.js'

const KEY = 'auth-key'
const SECRET = 'auth-secret'
const SOME_ID = 'f9969ca8-e659-11e8-801f-e4a47194940e'

/** The official client, as these tests drive it. */
type Api = StreamClient

function sign(claims: Record<string, unknown>, secret = SECRET, exp?: number): Promise<string> {
  const jwt = new SignJWT(claims).setProtectedHeader({ alg: 'HS256' })
  if (exp !== undefined) jwt.setExpirationTime(exp)
  return jwt.sign(new TextEncoder().encode(secret))
}

describe('server authentication and permissions', () => {
  let app: FastifyInstance
  let api: Api
  let alice: Api
  let bob: Api
  let options: { urlOverride: { api: string } }

  before(async () => {
    app = createServer({ store: 'sqlite::memory:', apiKey: KEY, apiSecret: SECRET })
    await app.listen({ port: 0, host: '127.0.0.1' })
    options = { urlOverride: { api: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}/api/` } }
    api = stream.connect(KEY, SECRET, 'app', options)
    alice = stream.connect(KEY, api.createUserToken('alice'), 'app', options)
    bob = stream.connect(KEY, api.createUserToken('bob'), 'app', options)
    await api.feed('user', 'bob').addActivity({ actor: 'SU:bob', verb: 'post', object: 'o:1' })
  })
  after(() => app.close())

  it('rejects a wrong api key with 401 code 2 and a bad signature with 401 code 3', async () => {
    const wrongKey = stream.connect('other-key', SECRET, 'app', options)
    await assert.rejects(
      wrongKey.feed('user', 'bob').get(),
      (e: { error: { code: number; status_code: number } }) => {
        return e.error.code === 2 && e.error.status_code === 401
      },
    )
    const wrongSecret = stream.connect(KEY, 'not-the-secret', 'app', options)
    await assert.rejects(
      wrongSecret.feed('user', 'bob').get(),
      (e: { error: { code: number; exception: string } }) => {
        return e.error.code === 3 && e.error.exception === 'SignatureException'
      },
    )
  })

  it('rejects missing, expired, tampered and unsigned tokens with 401', async () => {
    const url = `/api/v1.0/feed/user/bob/?api_key=${KEY}`
    const good = await sign({ resource: '*', action: '*', feed_id: '*' })
    const expired = await sign({ resource: '*', action: '*', feed_id: '*' }, SECRET, 1)
    const [h, p] = good.split('.')
    const tampered = `${h}.${Buffer.from(JSON.stringify({ user_id: 'bob' })).toString('base64url')}.${good.split('.')[2]}`
    const none = `${Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url')}.${p}.`
    const cases: [Record<string, string>, number, number][] = [
      [{}, 401, 3],
      [{ authorization: 'garbage' }, 401, 3],
      [{ authorization: `Bearer ${good}` }, 401, 3],
      [{ authorization: expired }, 401, 3],
      [{ authorization: tampered }, 401, 3],
      [{ authorization: none }, 401, 3],
      [{ authorization: good, 'stream-auth-type': 'anonymous' }, 401, 3],
      [{ authorization: good }, 200, 0],
    ]
    for (const [headers, code, streamCode] of cases) {
      const res = await app.inject({ method: 'GET', url, headers })
      assert.equal(res.statusCode, code, JSON.stringify(headers))
      if (code !== 200) assert.equal(res.json().code, streamCode)
    }
    const noKey = await app.inject({
      method: 'GET',
      url: '/api/v1.0/feed/user/bob/',
      headers: { authorization: good },
    })
    assert.equal(noKey.statusCode, 401)
    assert.equal(noKey.json().code, 2)
  })

  it('checks server-token scopes: resource, action and feed_id', async () => {
    const read = api.getReadOnlyToken('user', 'bob')
    const readOnly = async (method: 'GET' | 'POST', feed: string) =>
      (
        await app.inject({
          method,
          url: `/api/v1.0/feed/user/${feed}/?api_key=${KEY}`,
          headers: { authorization: read, 'stream-auth-type': 'jwt' },
          payload: method === 'POST' ? { actor: 'a', verb: 'v', object: 'o' } : undefined,
        })
      ).statusCode
    assert.equal(await readOnly('GET', 'bob'), 200)
    assert.equal(await readOnly('POST', 'bob'), 403)
    assert.equal(await readOnly('GET', 'carl'), 403)
    const activitiesOnly = await sign({ resource: 'activities', action: '*', feed_id: '*' })
    const res = await app.inject({
      method: 'GET',
      url: `/api/v1.0/feed/user/bob/?api_key=${KEY}`,
      headers: { authorization: activitiesOnly },
    })
    assert.equal(res.statusCode, 403)
    const listed = await sign({ resource: 'feed,activities', action: 'read', feed_id: 'useralice,userbob' })
    const ok = await app.inject({
      method: 'GET',
      url: `/api/v1.0/feed/user/bob/?api_key=${KEY}`,
      headers: { authorization: listed },
    })
    assert.equal(ok.statusCode, 200)
  })

  it('applies the user-token permission matrix', async () => {
    const at = new Date().toISOString()
    const bobUser = bob.user('bob')
    await bobUser.getOrCreate({ name: 'Bob' })
    const matrix: [string, () => Promise<unknown>, number][] = [
      ['read own timeline', () => alice.feed('timeline', 'alice').get(), 200],
      ['read another user feed', () => alice.feed('user', 'bob').get(), 200],
      ['read another timeline', () => alice.feed('timeline', 'bob').get(), 403],
      [
        'mark own notification feed',
        () => alice.feed('notification', 'alice').get({ mark_seen: true, mark_read: true }),
        200,
      ],
      [
        'impersonate bob',
        () =>
          alice
            .feed('user', 'alice')
            .addActivity({ actor: 'SU:bob', verb: 'post', object: 'x', foreign_id: 'f', time: at }),
        403,
      ],
      [
        'post to bob timeline',
        () => alice.feed('timeline', 'bob').addActivity({ verb: 'post', object: 'x' } as never),
        403,
      ],
      [
        'to another timeline',
        () =>
          alice.feed('user', 'alice').addActivity({ verb: 'p', object: 'x', to: ['timeline:123'] } as never),
        403,
      ],
      [
        'to another user feed',
        () => alice.feed('user', 'alice').addActivity({ verb: 'p', object: 'x', to: ['user:123'] } as never),
        403,
      ],
      [
        'to a notification feed',
        () =>
          alice
            .feed('user', 'alice')
            .addActivity({ verb: 'p', object: 'x', to: ['notification:123'] } as never),
        200,
      ],
      [
        'to not a list',
        () => alice.feed('user', 'alice').addActivity({ verb: 'p', object: 'x', to: 'abc' } as never),
        400,
      ],
      ['own timeline follows', () => alice.feed('timeline', 'alice').follow('user', 'bob'), 200],
      ['make bob follow', () => alice.feed('timeline', 'bob').follow('user', 'alice'), 403],
      ['make bob unfollow', () => alice.feed('timeline', 'bob').unfollow('user', 'alice'), 403],
      ['list bob followers', () => alice.feed('timeline', 'bob').followers(), 403],
      ['list bob following', () => alice.feed('user', 'bob').following(), 403],
      ['remove from bob feed', () => alice.feed('user', 'bob').removeActivity(SOME_ID), 403],
      ['remove missing from own feed', () => alice.feed('user', 'alice').removeActivity(SOME_ID), 200],
      ['create another user', () => alice.user('someone').create(), 403],
      ['update bob', () => alice.user('bob').update({ hacked: true }), 403],
      ['delete bob', () => alice.user('bob').delete(), 403],
      ['get bob profile', () => alice.user('bob').profile(), 200],
      ['own follow stats', () => alice.feed('timeline', 'alice').followStats(), 200],
    ]
    for (const [name, call, expected] of matrix) assert.equal(await status(call()), expected, name)
    const bobFeed = await api.feed('user', 'bob').get()
    assert.equal(bobFeed.results.length, 1, 'nothing reached bob')
  })

  it('lets a user partially update only activities it is the actor of', async () => {
    const mine = await alice.feed('user', 'alice').addActivity({ verb: 'p', object: 'mine' } as never)
    const theirs = (await api.feed('user', 'bob').get()).results[0]
    assert.equal(await status(alice.activityPartialUpdate({ id: mine.id, set: { x: 1 } })), 200)
    assert.equal(await status(alice.activityPartialUpdate({ id: theirs.id, set: { x: 1 } })), 403)
  })

  it('refuses server-only calls made with a user token', async () => {
    const token = api.createUserToken('alice')
    const calls: [string, string, unknown][] = [
      [
        'POST',
        '/api/v1.0/feed/add_to_many/',
        { activity: { actor: 'a', verb: 'v', object: 'o' }, feeds: ['user:bob'] },
      ],
      ['POST', '/api/v1.0/follow_many/', [{ source: 'timeline:bob', target: 'user:alice' }]],
      ['POST', '/api/v1.0/unfollow_many/', [{ source: 'timeline:bob', target: 'user:alice' }]],
      [
        'POST',
        '/api/v1.0/activities/',
        { activities: [{ actor: 'a', verb: 'v', object: 'o', foreign_id: 'x', time: '2020-01-01' }] },
      ],
      ['GET', '/api/v1.0/users/?ids=bob', undefined],
      ['POST', '/api/v1.0/collections/', { data: { food: [{ id: 'x', name: 'y' }] } }],
    ]
    for (const [method, path, payload] of calls) {
      const res = await app.inject({
        method: method as 'GET',
        url: `${path}${path.includes('?') ? '&' : '?'}api_key=${KEY}`,
        headers: { authorization: token, 'stream-auth-type': 'jwt' },
        payload: payload as object,
      })
      assert.equal(res.statusCode, 403, `${method} ${path}`)
    }
  })
})
