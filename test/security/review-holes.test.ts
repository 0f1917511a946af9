/**
 * Holes found by a review of issue 17's fixes, tried as an attacker with an ordinary user token
 * against a real server: ways around a rule that the fix's own tests did not take.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { connect, type EddyClient } from 'eddy'
import type { FastifyInstance } from 'fastify'
import type { NewActivity, RealTimeMessage, StreamClient } from 'getstream'
import { type StreamServer, startStreamServer } from '../fixtures/stream-server.js'
import { passes } from '../fixtures/wait.js'
import { must } from '../helpers.js'

const KEY = 'review-key'
const SECRET = 'review-secret'

/** The official client, as these tests drive it. */
type Api = StreamClient

/** Stream's error, as the official client rejects with it. */
interface Refused {
  error?: { status_code?: number; exception?: string; detail?: string }
}

/** A Bayeux reply, as the wire carries it. */
interface BayeuxReply {
  successful?: boolean
  clientId?: string
  error?: string
}

describe('a user token reacts only where it may read, also through a parent reaction', () => {
  let client: EddyClient
  let app: FastifyInstance
  let started: StreamServer
  let api: Api
  let mallory: Api
  let secret: { id: string }
  let comment: { id: string }

  before(async () => {
    client = connect({ store: 'memory' })
    await client.ready()
    started = await startStreamServer(KEY, SECRET, { client })
    app = started.app
    api = started.api
    mallory = started.user('mallory')
    // A private activity (only in notification:victim) and the victim's comment on it.
    secret = await api
      .feed('notification', 'victim')
      .addActivity({ actor: 'SU:carol', verb: 'message', object: 'message:1', text: 'your code is 1234' })
    comment = await api.reactions.add('comment', secret.id, { text: 'thanks' }, { userId: 'victim' })
  })
  after(async () => {
    await app.close()
    await client.close()
  })

  it('refuses a child reaction under a reaction to an activity the user may not read', async () => {
    // The direct way is refused (sec-privacy's rule) ...
    await assert.rejects(
      mallory.reactions.add('like', secret.id),
      (e: Refused) => e.error?.status_code === 400,
    )
    // ... and so is the way through the parent: the same 400 a missing parent gets, nothing stored.
    for (const parent of [comment.id, 'no-such-reaction']) {
      await assert.rejects(mallory.reactions.addChild('like', parent, {}), (e: Refused) => {
        assert.equal(e.error?.status_code, 400, JSON.stringify(e.error))
        assert.equal(e.error?.exception, 'InputException')
        assert.match(e.error?.detail ?? '', /parent must be an existing reaction/)
        return true
      })
    }
    const children = await api.reactions.filter({ reaction_id: comment.id })
    assert.deepEqual(children.results, [])
    // Where the activity is readable (the victim's own feed), a child reaction works as before.
    const victim = started.user('victim')
    const reply = await victim.reactions.addChild('like', comment.id, {})
    assert.equal(reply.parent, comment.id)
    assert.equal(reply.activity_id, secret.id)
    // A server token is trusted.
    assert.equal((await api.reactions.addChild('like', comment.id, {}, { userId: 'bob' })).parent, comment.id)
  })
})

/** Raw Bayeux over POST /faye, token-less. */
async function bayeux(origin: string, messages: object[]): Promise<BayeuxReply[]> {
  const res = await fetch(`${origin}/faye`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(messages),
  })
  assert.equal(res.status, 200)
  return (await res.json()) as BayeuxReply[]
}
const HANDSHAKE = { channel: '/meta/handshake', version: '1.0', supportedConnectionTypes: ['long-polling'] }

describe('a token-less handshake flood cannot lock subscribers out of realtime', () => {
  let app: FastifyInstance
  let started: StreamServer
  let origin: string
  const clients: Api[] = []
  const CAP = 20

  before(async () => {
    started = await startStreamServer(KEY, SECRET, { store: 'memory', realtime: { connections: CAP } }, '9')
    app = started.app
    origin = started.origin
  })
  after(async () => {
    await Promise.all(clients.map((c) => c.fayeClient?.disconnect()))
    await app.close()
  })

  it('makes room by dropping the oldest connection that listens to nothing', async () => {
    const api = started.api
    const listen = async (user: string) => {
      const c = started.user(user)
      clients.push(c)
      const heard: RealTimeMessage[] = []
      await c.feed('user', user).subscribe((m) => heard.push(m))
      return heard
    }
    // Alice listens before the flood; the attacker, with no token, then handshakes five times the
    // cap (never subscribing): every handshake is answered, and no more connections are kept than the cap.
    const alice = await listen('alice')
    for (let i = 0; i < 5; i++) {
      const replies = await bayeux(origin, Array(CAP).fill(HANDSHAKE))
      assert.ok(
        replies.every((r) => r.successful === true),
        JSON.stringify(replies[0]),
      )
    }
    // Bob comes after the flood and still gets a connection and a subscription; both hear their posts.
    const bob = await listen('bob')
    await api.feed('user', 'alice').addActivity({ actor: 'alice', verb: 'post', object: 'a:1' })
    await api.feed('user', 'bob').addActivity({ actor: 'bob', verb: 'post', object: 'b:1' })
    await passes(() => {
      assert.equal(alice[0]?.new[0]?.object, 'a:1')
      assert.equal(bob[0]?.new[0]?.object, 'b:1')
    })
  })

  it('still refuses a handshake when every connection listens', async () => {
    const small = await startStreamServer(KEY, SECRET, { store: 'memory', realtime: { connections: 1 } }, '9')
    try {
      const at = small.origin
      const [first] = await bayeux(at, [HANDSHAKE])
      const token = small.token('carol')
      const channel = '/site-9-feed-usercarol'
      const [sub] = await bayeux(at, [
        {
          channel: '/meta/subscribe',
          clientId: first.clientId,
          subscription: channel,
          ext: { user_id: channel.slice(1), api_key: KEY, signature: token },
        },
      ])
      assert.equal(sub.successful, true, JSON.stringify(sub))
      const [second] = await bayeux(at, [HANDSHAKE])
      assert.equal(second.successful, false)
      assert.match(must(second.error, 'the refusal'), /most realtime connections \(1\)/)
    } finally {
      await small.close()
    }
  })
})

describe('reaction/get_many/ serialises each reaction once', () => {
  let app: FastifyInstance
  let started: StreamServer

  before(async () => {
    started = await startStreamServer(KEY, SECRET, { store: 'memory' })
    app = started.app
  })
  after(() => app.close())

  it('answers one id named 100 times with that reaction once, so a read cannot repeat a budgeted reaction', async () => {
    const token = started.token('mallory')
    const mallory = started.user('mallory')
    const post = await mallory
      .feed('user', 'mallory')
      .addActivity({ verb: 'post', object: 'x' } as NewActivity)
    const parent = await mallory.reactions.add('comment', post.id, {})
    // Children of many kinds with 9 KB each: the reaction is shown at its budgeted size (~100 KB).
    const big = 'z'.repeat(9_000)
    for (let k = 0; k < 30; k++) await mallory.reactions.addChild(`kind${k}`, parent.id, { big })
    const get = async (query: string) => {
      const res = await fetch(`${started.base}v1.0/reaction/get_many/?${query}&api_key=${KEY}`, {
        headers: { authorization: token, 'stream-auth-type': 'jwt' },
      })
      assert.equal(res.status, 200)
      const text = await res.text()
      return { bytes: Buffer.byteLength(text), body: JSON.parse(text) as { reactions: { id: string }[] } }
    }
    const single = await get(`ids=${parent.id}`)
    for (const extra of ['', '&include_deleted=true']) {
      const repeated = await get(`ids=${Array(100).fill(parent.id).join(',')}${extra}`)
      assert.equal(repeated.body.reactions.length, 1)
      assert.ok(
        repeated.bytes < single.bytes * 2,
        `${repeated.bytes} bytes for one reaction of ${single.bytes}`,
      )
    }
    // Distinct ids keep the order asked.
    const other = await mallory.reactions.add('like', post.id, {})
    const both = await get(`ids=${other.id},${parent.id},${other.id}`)
    assert.deepEqual(
      both.body.reactions.map((r) => r.id),
      [other.id, parent.id],
    )
  })
})
