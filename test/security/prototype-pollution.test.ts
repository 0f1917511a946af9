/**
 * Prototype pollution, as an attacker with an ordinary user token tries it: a partial update of
 * their own activity whose dotted paths walk into `__proto__` would make every token verified
 * afterwards a server token. Every path is refused with a 400 naming it, Object.prototype stays
 * clean, and fresh user tokens keep their limits. Also: keys that are input stay data everywhere
 * Eddy copies them (enrichment, collection upserts, token claims).
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { connect, type EddyClient } from 'eddy'
import type { FastifyInstance } from 'fastify'
import stream, { type NewActivity, type StreamClient } from 'getstream'
import { startStreamServer } from '../fixtures/stream-server.js'

const KEY = 'proto-key'
const SECRET = 'proto-secret'
const CLAIMS = ['resource', 'action', 'feed_id']

/** The official client, as these tests drive it. */
type Api = StreamClient

/** Stream's error body, as the client's error and the wire carry it. */
interface StreamError {
  status_code?: number
  code?: number
  exception?: string
  detail?: string
  exception_fields?: Record<string, unknown>
}

/** An activity without an actor, as these requests send it (getstream's typings require one). */
function noActor(activity: { verb: string; object: string }): NewActivity {
  return activity as NewActivity
}

/** Asserts Stream's 400 InputException whose detail names `path`. */
async function refused(promise: Promise<unknown>, path: string, field: string): Promise<void> {
  await assert.rejects(promise, (e: { error?: StreamError }) => {
    assert.equal(e.error?.status_code, 400, JSON.stringify(e.error))
    assert.equal(e.error?.code, 4)
    assert.equal(e.error?.exception, 'InputException')
    assert.ok(String(e.error?.detail).includes(JSON.stringify(path)), e.error?.detail)
    assert.ok(e.error?.exception_fields?.[field], JSON.stringify(e.error))
    return true
  })
}

function assertPrototypeClean(): void {
  for (const name of CLAIMS) {
    assert.equal(Object.hasOwn(Object.prototype, name), false, `Object.prototype.${name} was set`)
    assert.equal(({} as Record<string, unknown>)[name], undefined)
  }
  assert.equal(Object.hasOwn(Object.prototype, 'x'), false)
}

describe('prototype pollution through partial updates and other input keys', () => {
  let client: EddyClient
  let app: FastifyInstance
  let api: Api
  let mallory: Api
  let base: string
  let options: { urlOverride: { api: string } }
  let post: { id: string }
  let fresh = 0
  /** A client for a user id no token was verified for yet, so nothing comes from the token cache. */
  const newUser = () => {
    fresh += 1
    const id = `eve${fresh}`
    return { id, api: stream.connect(KEY, api.createUserToken(id), 'app', options) as Api }
  }

  before(async () => {
    client = connect({ store: 'sqlite::memory:' })
    const started = await startStreamServer(KEY, SECRET, { client })
    app = started.app
    base = started.base
    options = { urlOverride: { api: base } }
    api = stream.connect(KEY, SECRET, 'app', options)
    mallory = stream.connect(KEY, api.createUserToken('mallory'), 'app', options)
    await api.feed('user', 'bob').addActivity({ actor: 'SU:bob', verb: 'post', object: 'secret:1' })
    await api.feed('timeline', 'bob').follow('user', 'bob')
    post = await mallory.feed('user', 'mallory').addActivity(noActor({ verb: 'post', object: 'o:1' }))
  })
  after(async () => {
    await app.close()
    await client.close()
  })

  it('refuses the escalation attack with a 400 naming the path, and leaves Object.prototype alone', async () => {
    const set = { '__proto__.resource': '*', '__proto__.action': '*', '__proto__.feed_id': '*' }
    await refused(mallory.activityPartialUpdate({ id: post.id, set }), '__proto__.resource', 'set')
    assertPrototypeClean()
  })

  it('refuses __proto__, prototype and constructor anywhere in set and unset paths', async () => {
    // A bare `__proto__` key cannot even travel: the server's JSON parser refuses the body.
    await assert.rejects(
      mallory.activityPartialUpdate({ id: post.id, set: JSON.parse('{"__proto__":{"resource":"*"}}') }),
      (e: { error?: StreamError }) => {
        assert.equal(e.error?.status_code, 400)
        assert.match(String(e.error?.detail), /no __proto__ key/)
        return true
      },
    )
    const paths = ['constructor.prototype.resource', 'a.__proto__.resource', 'prototype.x', 'a.b.constructor']
    for (const path of paths) {
      await refused(mallory.activityPartialUpdate({ id: post.id, set: { [path]: '*' } }), path, 'set')
      await refused(mallory.activityPartialUpdate({ id: post.id, unset: [path] }), path, 'unset')
    }
    await refused(
      mallory.activityPartialUpdate({ id: post.id, unset: ['__proto__.x'] }),
      '__proto__.x',
      'unset',
    )
    assertPrototypeClean()
    // The activity is untouched, and ordinary dotted paths still work.
    const done = await mallory.activityPartialUpdate({ id: post.id, set: { 'meta.tags': ['a'] } })
    assert.deepEqual(done.meta, { tags: ['a'] })
    assert.equal(done.resource, undefined)
  })

  it('leaves fresh user tokens with user rights', async () => {
    const eve = newUser()
    const status = async (promise: Promise<unknown>) =>
      promise.then(
        () => 200,
        (e: { response?: { status: number } }) => e.response?.status,
      )
    assert.equal(await status(eve.api.feed('timeline', 'bob').get()), 403)
    assert.equal(
      await status(eve.api.feed('user', 'bob').addActivity(noActor({ verb: 'v', object: 'o' }))),
      403,
    )
    assert.equal(await status(eve.api.feed('user', 'bob').get()), 200) // user feeds are public
    const other = newUser()
    const res = await fetch(`${base}v1.0/users/?api_key=${KEY}&ids=bob`, {
      headers: { authorization: api.createUserToken(other.id), 'stream-auth-type': 'jwt' },
    })
    assert.equal(res.status, 403)
    assert.equal(((await res.json()) as StreamError).code, 17)
  })

  it('reads token claims as own properties even if Object.prototype were polluted', async () => {
    // Simulate a pollution from elsewhere (another library): claims must not be inherited.
    for (const name of CLAIMS) {
      Object.defineProperty(Object.prototype, name, { value: '*', configurable: true, writable: true })
    }
    try {
      const eve = newUser()
      await assert.rejects(eve.api.feed('timeline', 'bob').get(), (e: { response?: { status: number } }) => {
        return e.response?.status === 403
      })
    } finally {
      for (const name of CLAIMS) delete (Object.prototype as Record<string, unknown>)[name]
    }
    assertPrototypeClean()
  })

  it('keeps a stored __proto__ field as data when enrichment replaces it', async () => {
    await api.user('bob').getOrCreate({ name: 'Bob' })
    // Only the embedded client can store such a field: the server's JSON parser refuses `__proto__` keys.
    const fields = JSON.parse('{"__proto__":"SU:bob"}') as Record<string, unknown>
    const added = await client
      .feed('user', 'carol')
      .addActivity({ actor: 'SU:carol', verb: 'v', object: 'o', ...fields })
    const res = await fetch(`${base}v1.0/enrich/activities/?api_key=${KEY}&ids=${added.id}`, {
      headers: { authorization: api.getOrCreateToken(), 'stream-auth-type': 'jwt' },
    })
    assert.equal(res.status, 200)
    const [activity] = ((await res.json()) as { results: object[] }).results
    assert.equal(Object.hasOwn(activity, '__proto__'), true)
    const replaced = Object.getOwnPropertyDescriptor(activity, '__proto__')?.value
    assert.equal(replaced.id, 'bob')
    assert.deepEqual(replaced.data, { name: 'Bob' })
    assertPrototypeClean()
  })

  it('upserts collections named like Object members instead of failing', async () => {
    // Raw HTTP: the official client (axios) drops a `constructor` key from the body it sends.
    for (const name of ['constructor', 'toString', 'hasOwnProperty']) {
      const res = await fetch(`${base}v1.0/collections/?api_key=${KEY}`, {
        method: 'POST',
        headers: {
          authorization: api.getOrCreateToken(),
          'stream-auth-type': 'jwt',
          'content-type': 'application/json',
        },
        body: JSON.stringify({ data: { [name]: [{ id: 'e1', name: 'x' }] } }),
      })
      assert.equal(res.status, 200, name)
      const body = (await res.json()) as { data: Record<string, unknown> }
      assert.deepEqual(Object.keys(body.data), [name])
      assert.deepEqual(body.data[name], [{ id: 'e1', name: 'x' }])
    }
    // An upserted entry's data is the whole object sent, its id included, as on Stream.
    const entry = await api.collections.get('constructor', 'e1')
    assert.deepEqual(entry.data, { id: 'e1', name: 'x' })
    assertPrototypeClean()
  })
})
