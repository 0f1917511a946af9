/**
 * Realtime over the server's Faye endpoint with the unmodified official `getstream` client:
 * `feed.subscribe(cb)` with `fayeUrl` receives Stream-shaped messages for an add by another
 * client, a fan-out delivery and a notification (`to`), with user and server tokens; a tampered
 * signature, another user's private feed, a deactivated user and a client publish are refused.
 */
import assert from 'node:assert/strict'
import type { AddressInfo } from 'node:net'
import { after, before, describe, it } from 'node:test'
import { createServer } from 'eddy/server'
import type { FastifyInstance } from 'fastify'
import stream, { type NewActivity, type RealTimeMessage, type StreamClient } from 'getstream'
import { SignJWT } from 'jose'
import { must } from './helpers.js'

const KEY = 'realtime-key'
const SECRET = 'realtime-secret'
const APP = '4242'

/** A realtime message as the server sends it: a notification feed's also carries its counts. */
type Message = RealTimeMessage & { unseen?: number; unread?: number }
/** A refusal as the client rejects it (an Error, or Faye's error text). */
type Refusal = { message?: string } | string | undefined
const says = (text: string) => (e: Refusal) =>
  String(typeof e === 'object' ? (e.message ?? e) : e).includes(text)

/** Messages of one subscription, awaited one at a time. */
function inbox() {
  const messages: Message[] = []
  let wake: (() => void) | undefined
  return {
    push: (m: Message) => {
      messages.push(m)
      wake?.()
    },
    async next(): Promise<Message> {
      while (messages.length === 0) await new Promise<void>((r) => (wake = r))
      return must(messages.shift(), 'a message')
    },
    /** Messages received and not yet taken. */
    get waiting(): number {
      return messages.length
    },
  }
}

describe('realtime over Faye with the official client', () => {
  let app: FastifyInstance
  let origin: string
  let server: StreamClient
  const clients: StreamClient[] = []

  function connect(token: string): StreamClient {
    const c = stream.connect(KEY, token, APP, {
      urlOverride: { api: `${origin}/api/` },
      fayeUrl: `${origin}/faye`,
    })
    clients.push(c)
    return c
  }

  before(async () => {
    app = createServer({ store: 'memory', apiKey: KEY, apiSecret: SECRET })
    await app.listen({ port: 0, host: '127.0.0.1' })
    origin = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`
    server = connect(SECRET)
  })

  after(async () => {
    await Promise.all(clients.map((c) => c.fayeClient?.disconnect()))
    await app.close()
  })

  it('delivers an add by another client and a fan-out delivery, as Stream messages', async () => {
    const bob = connect(server.createUserToken('bob'))
    const alice = connect(server.createUserToken('alice'))
    await bob.feed('timeline', 'bob').follow('user', 'alice')
    const own = inbox()
    const timeline = inbox()
    await server.feed('user', 'alice').subscribe(own.push)
    await bob.feed('timeline', 'bob').subscribe(timeline.push)

    const added = await alice
      .feed('user', 'alice')
      .addActivity({ verb: 'post', object: 'o:1', foreign_id: 'p:1' } as NewActivity)
    const m = await own.next()
    assert.deepEqual(Object.keys(m).sort(), [
      'app_id',
      'deleted',
      'deleted_foreign_ids',
      'feed',
      'new',
      'published_at',
    ])
    assert.equal(m.app_id, APP)
    assert.equal(m.feed, 'user:alice')
    assert.deepEqual(m.deleted, [])
    assert.equal(m.new[0].id, added.id)
    assert.equal(m.new[0].actor, 'SU:alice')

    const f = await timeline.next()
    assert.equal(f.feed, 'timeline:bob')
    assert.equal(f.new[0].id, added.id)
    assert.equal(f.new[0].origin, 'user:alice')

    await alice.feed('user', 'alice').removeActivity({ foreignId: 'p:1' })
    const r = await own.next()
    assert.deepEqual(r.deleted, [added.id])
    assert.deepEqual(r.deleted_foreign_ids, [['p:1', added.time]])
    assert.deepEqual((await timeline.next()).deleted, [added.id])
  })

  it('a notification feed gets unseen/unread with each message', async () => {
    const carl = connect(server.createUserToken('carl'))
    const dave = connect(server.createUserToken('dave'))
    const box = inbox()
    await carl.feed('notification', 'carl').subscribe(box.push)
    await dave
      .feed('user', 'dave')
      .addActivity({ verb: 'poke', object: 'o:1', to: ['notification:carl'] } as NewActivity)
    const m = await box.next()
    assert.equal(m.feed, 'notification:carl')
    assert.equal(m.unseen, 1)
    assert.equal(m.unread, 1)
    assert.equal(typeof m.new[0].group, 'string')
    await carl.feed('notification', 'carl').get({ mark_seen: true })
    const seen = await box.next()
    assert.equal(seen.mark_seen, true)
    assert.equal(seen.unseen, 0)
  })

  it('refuses a tampered signature and another user private feed', async () => {
    const eve = connect(server.createUserToken('eve'))
    // Another user's timeline: the user token may not read it.
    await assert.rejects(
      () => Promise.resolve(eve.feed('timeline', 'alice').subscribe(() => {})),
      says('403'),
    )
    // A feed token signed with another secret.
    const forged = connect('not-the-secret').feed('user', 'alice')
    await assert.rejects(() => Promise.resolve(forged.subscribe(() => {})), says('signature is not valid'))
    // A feed token whose signature was altered.
    const feed = server.feed('user', 'alice')
    const [h, p, s] = feed.token.split('.')
    feed.token = `${h}.${p}.${s.slice(0, -2)}${s.endsWith('AA') ? 'BA' : 'AA'}`
    await assert.rejects(() => Promise.resolve(feed.subscribe(() => {})), says('403'))
  })

  /** Deactivates `userId` through V3's DeactivateUser, as the app. */
  async function deactivate(userId: string): Promise<void> {
    const appToken = await new SignJWT({ server: true })
      .setProtectedHeader({ alg: 'HS256' })
      .sign(new TextEncoder().encode(SECRET))
    const deactivated = await fetch(`${origin}/api/v2/users/${userId}/deactivate?api_key=${KEY}`, {
      method: 'POST',
      headers: { authorization: appToken, 'stream-auth-type': 'jwt', 'content-type': 'application/json' },
      body: '{}',
    })
    assert.equal(deactivated.status, 201)
  }

  it("refuses a deactivated user's subscriptions (V3's DeactivateUser holds on V1 too)", async () => {
    await server.user('dee').getOrCreate({})
    await deactivate('dee')
    const dee = connect(server.createUserToken('dee'))
    await assert.rejects(
      () => Promise.resolve(dee.feed('user', 'dee').subscribe(() => {})),
      says('dee is deactivated'),
    )
  })

  it("ends a deactivated user's open subscriptions", async () => {
    await server.user('flo').getOrCreate({})
    const flo = connect(server.createUserToken('flo'))
    const mine = inbox()
    const app = inbox()
    await flo.feed('user', 'flo').subscribe(mine.push)
    // The app's own subscription to the same feed is not the user's: it goes on, and paces the test.
    await server.feed('user', 'flo').subscribe(app.push)
    const add = (n: number) =>
      server.feed('user', 'flo').addActivity({ actor: 'flo', verb: 'post', object: `o:${n}` })
    await add(1)
    assert.equal((await mine.next()).new[0].object, 'o:1')
    await app.next()
    await deactivate('flo')
    for (const n of [2, 3]) {
      await add(n)
      assert.equal((await app.next()).new[0].object, `o:${n}`)
    }
    assert.equal(mine.waiting, 0, 'the deactivated user heard nothing after its deactivation')
  })

  it('refuses publishes from clients', async () => {
    // The faye package's client publishes too; the client's typings leave that method out.
    const faye = server.getFayeClient() as unknown as {
      publish(channel: string, data: object): Promise<unknown>
    }
    await assert.rejects(
      () => Promise.resolve(faye.publish(`/site-${APP}-feed-useralice`, { new: [] })),
      says('only the server publishes'),
    )
  })
})
