/**
 * Realtime fairness, attacked with one ordinary user token: subscriptions are capped per Faye
 * connection (client id) and per user, so one user cannot fill the listening set and push other
 * subscribers out; a batch of subscriptions in one request cannot slip past the cap; a
 * connection that goes away gives its channels back. With the official client and raw Bayeux.
 */
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import type { AddressInfo } from 'node:net'
import { after, before, describe, it } from 'node:test'
import { createServer, type ServerOptions } from 'eddy/server'
import type { FastifyInstance } from 'fastify'
import stream, { type NewActivity, type RealTimeMessage, type StreamClient } from 'getstream'
import { serveEddy, stopEddy } from '../fixtures/eddy-process.js'
import { must } from '../helpers.js'

const KEY = 'caps-key'
const SECRET = 'caps-secret'
const APP = '77'

/** The official client, as these tests drive it. */
type Api = StreamClient

/** A Bayeux reply, as the wire carries it. */
interface BayeuxReply {
  channel?: string
  successful?: boolean
  clientId?: string
  error?: string
}

/** A refused subscription, as the official client rejects with it. */
type Refusal = { message?: string } | undefined

const server = stream.connect(KEY, SECRET)
const tokenOf = (user: string) => server.createUserToken(user)

/** Raw Bayeux over POST /faye: a handshake, then batches of messages for that client id. */
async function bayeux(origin: string, messages: object[]): Promise<BayeuxReply[]> {
  const res = await fetch(`${origin}/faye`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(messages),
  })
  assert.equal(res.status, 200)
  return (await res.json()) as BayeuxReply[]
}

async function handshake(origin: string): Promise<string> {
  const [reply] = await bayeux(origin, [
    { channel: '/meta/handshake', version: '1.0', supportedConnectionTypes: ['long-polling'] },
  ])
  assert.equal(reply.successful, true, JSON.stringify(reply))
  return must(reply.clientId, 'a client id')
}

const subscribe = (clientId: string, feed: string, token: string) => {
  const channel = `/site-${APP}-feed-${feed}`
  return {
    channel: '/meta/subscribe',
    clientId,
    subscription: channel,
    ext: { user_id: channel.slice(1), api_key: KEY, signature: token },
  }
}

describe('realtime caps', () => {
  let app: FastifyInstance
  let origin: string
  const clients: Api[] = []

  function connect(token: string): Api {
    const c = stream.connect(KEY, token, APP, {
      urlOverride: { api: `${origin}/api/` },
      fayeUrl: `${origin}/faye`,
    })
    clients.push(c)
    return c
  }

  before(async () => {
    app = createServer({
      store: 'memory',
      apiKey: KEY,
      apiSecret: SECRET,
      realtime: { channelsPerConnection: 5, channelsPerUser: 8 },
    })
    await app.listen({ port: 0, host: '127.0.0.1' })
    origin = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`
  })

  after(async () => {
    await Promise.all(clients.map((c) => c.fayeClient?.disconnect()))
    await app.close()
  })

  it('refuses a connection its sixth channel and a user its ninth, and others still hear every message', async () => {
    const mallory = connect(tokenOf('mallory'))
    for (let i = 0; i < 5; i++) await mallory.feed('user', `victim${i}`).subscribe(() => {})
    await assert.rejects(
      () => Promise.resolve(mallory.feed('user', 'victim5').subscribe(() => {})),
      (e: Refusal) => /403.*at most 5 channels.*channelsPerConnection/.test(String(e?.message ?? e)),
    )
    // A second connection of the same user: 3 more reach the per-user cap of 8.
    const again = connect(tokenOf('mallory'))
    for (let i = 5; i < 8; i++) await again.feed('user', `victim${i}`).subscribe(() => {})
    await assert.rejects(
      () => Promise.resolve(again.feed('user', 'victim8').subscribe(() => {})),
      (e: Refusal) => /403.*at most 8 channels.*channelsPerUser/.test(String(e?.message ?? e)),
    )
    // Another user is not held by Mallory's subscriptions, and hears all 20 posts.
    const bob = connect(tokenOf('bob'))
    const heard: RealTimeMessage[] = []
    await bob.feed('user', 'alice').subscribe((m) => heard.push(m))
    const alice = connect(tokenOf('alice'))
    for (let i = 0; i < 20; i++)
      await alice.feed('user', 'alice').addActivity({ verb: 'post', object: `o:${i}` } as NewActivity)
    while (heard.length < 20) await new Promise((resolve) => setImmediate(resolve))
    assert.equal(heard.flatMap((m) => m.new).length, 20)
  })

  it('counts a batch of subscriptions in one request one by one', async () => {
    const token = tokenOf('batcher')
    const clientId = await handshake(origin)
    const batch = Array.from({ length: 40 }, (_, i) => subscribe(clientId, `userpublic${i}`, token))
    const replies = await bayeux(origin, batch)
    const ok = replies.filter((r) => r.channel === '/meta/subscribe' && r.successful)
    assert.equal(ok.length, 5, 'the per-connection cap holds inside one batch')
    assert.match(
      replies.find((r) => r.successful === false)?.error ?? '',
      /^403::a connection may listen to at most 5 channels/,
    )
    // A repeat of a channel it has is no new subscription.
    const [repeat] = await bayeux(origin, [subscribe(clientId, 'userpublic0', token)])
    assert.equal(repeat.successful, true)
  })

  it('gives the channels back when the connection unsubscribes or disconnects', async () => {
    const token = tokenOf('leaver')
    const first = await handshake(origin)
    const five = Array.from({ length: 5 }, (_, i) => subscribe(first, `userleft${i}`, token))
    assert.ok((await bayeux(origin, five)).every((r) => r.successful))
    const channel = `/site-${APP}-feed-userleft0`
    const [gone] = await bayeux(origin, [
      { channel: '/meta/unsubscribe', clientId: first, subscription: channel },
    ])
    assert.equal(gone.successful, true)
    const [sixth] = await bayeux(origin, [subscribe(first, 'userleft5', token)])
    assert.equal(sixth.successful, true, 'the freed slot is taken again')
    // Disconnecting frees all of them for the user: a new connection subscribes to 8 at once.
    const [bye] = await bayeux(origin, [{ channel: '/meta/disconnect', clientId: first }])
    assert.equal(bye.successful, true)
    const second = await handshake(origin)
    const third = await handshake(origin)
    const replies = await bayeux(origin, [
      ...Array.from({ length: 5 }, (_, i) => subscribe(second, `userleft${i}`, token)),
      ...Array.from({ length: 4 }, (_, i) => subscribe(third, `userleft${i + 5}`, token)),
    ])
    assert.deepEqual(
      replies.map((r) => r.successful),
      [true, true, true, true, true, true, true, true, false],
      'eight for the user again, the ninth refused',
    )
  })

  it('validates the caps when the server is made', () => {
    for (const realtime of [{ channelsPerUser: 0 }, { channelsPerConnection: 1.5 }, { perUser: 3 }, 'many']) {
      assert.throws(
        () =>
          createServer({
            store: 'memory',
            apiKey: KEY,
            apiSecret: SECRET,
            realtime: realtime as ServerOptions['realtime'],
          }),
        /realtime/,
      )
    }
  })

  it('caps connections: a handshake over the cap is refused when every connection listens', async () => {
    const small = createServer({
      store: 'memory',
      apiKey: KEY,
      apiSecret: SECRET,
      realtime: { connections: 2 },
    })
    await small.listen({ port: 0, host: '127.0.0.1' })
    try {
      const at = `http://127.0.0.1:${(small.server.address() as AddressInfo).port}`
      // Idle connections (listening to nothing) are dropped to make room (review-holes.test.ts).
      const token = tokenOf('capped')
      for (const feed of ['usercapped1', 'usercapped2']) {
        const [reply] = await bayeux(at, [subscribe(await handshake(at), feed, token)])
        assert.equal(reply.successful, true, JSON.stringify(reply))
      }
      const [third] = await bayeux(at, [
        { channel: '/meta/handshake', version: '1.0', supportedConnectionTypes: ['long-polling'] },
      ])
      assert.equal(third.successful, false)
      assert.match(must(third.error, 'the refusal'), /most realtime connections \(2\)/)
    } finally {
      await small.close()
    }
  })
})

describe('eddy serve --realtime-limit', () => {
  it('applies the caps it names, and refuses a spec it does not understand', async () => {
    const { child, origin: at } = await serveEddy(KEY, SECRET, [
      '--store',
      'memory',
      '--realtime-limit',
      'connection=2,user=50',
    ])
    try {
      const clientId = await handshake(at)
      const token = tokenOf('cli')
      const replies = await bayeux(
        at,
        [1, 2, 3].map((i) => subscribe(clientId, `usercli${i}`, token)),
      )
      assert.deepEqual(
        replies.map((r) => r.successful),
        [true, true, false],
      )
    } finally {
      assert.equal(await stopEddy(child), 0)
    }
    const cli = new URL('../../src/cli/eddy.ts', import.meta.url).pathname
    const bad = spawnSync(
      process.execPath,
      [
        '--conditions=eddy-source',
        '--import',
        'tsx',
        cli,
        'serve',
        '--store',
        'memory',
        '--realtime-limit',
        'conn=2',
      ],
      { encoding: 'utf8' },
    )
    assert.equal(bad.status, 2)
    assert.match(bad.stderr, /--realtime-limit takes connection=<n>,user=<n>,connections=<n>/)
  })
})
