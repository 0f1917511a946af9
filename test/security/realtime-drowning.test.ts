/**
 * Drowning realtime across servers: the feeds listened to anywhere share one Redis set, which
 * each instance reads up to its `maxFeeds`. One user token subscribing to many public channels on
 * server S used to push that set past the bound, so an instance W that builds messages (another
 * server, a fan-out worker) left other subscribers' feeds out and they missed messages. With the
 * per-user cap, Mallory adds at most `channelsPerUser` feeds per server: Bob, subscribing after
 * her, still hears W's add, and W's reads never overflow.
 */
import assert from 'node:assert/strict'
import type { AddressInfo } from 'node:net'
import { after, before, describe, it } from 'node:test'
import { RedisFeedTransport } from 'eddy/redis'
import { createServer } from 'eddy/server'
import type { FastifyInstance } from 'fastify'
import stream, { type RealTimeMessage, type StreamClient } from 'getstream'
import { connect, type EddyClient } from '../../src/client/client.js'
import { REDIS_URL, redisUnavailable, ScratchPrefixes } from '../fixtures/redis.js'

const skip = await redisUnavailable()
const prefixes = new ScratchPrefixes('drown')
const KEY = 'drown-key'
const SECRET = 'drown-secret'
const APP = '5'
const server = stream.connect(KEY, SECRET)

/** Polls `check` (no fixed sleep) until it holds; fails after a generous minute. */
async function until(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 60_000
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

async function bayeux(
  origin: string,
  messages: object[],
): Promise<{ successful: boolean; clientId: string }[]> {
  const res = await fetch(`${origin}/faye`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(messages),
  })
  return (await res.json()) as { successful: boolean; clientId: string }[]
}

describe('realtime across servers: one user cannot drown the shared listening set', { skip }, () => {
  let app: FastifyInstance
  let origin: string
  let served: EddyClient
  let writer: EddyClient
  const transports: RedisFeedTransport[] = []
  const clients: StreamClient[] = []

  before(async () => {
    const prefix = prefixes.name()
    const open = (maxFeeds: number) =>
      RedisFeedTransport.open({ redis: REDIS_URL, prefix, ttlMs: 5000, refreshMs: 50, maxFeeds })
    served = connect({ store: 'memory' })
    writer = connect({ store: 'memory' })
    transports.push(
      (await open(30)).attach(served.engine.events),
      (await open(30)).attach(writer.engine.events),
    )
    app = createServer({
      client: served,
      apiKey: KEY,
      apiSecret: SECRET,
      realtime: { channelsPerConnection: 10, channelsPerUser: 20 },
    })
    await app.listen({ port: 0, host: '127.0.0.1' })
    origin = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`
  })

  after(async () => {
    await Promise.all(clients.map((c) => c.fayeClient?.disconnect()))
    await app?.close()
    for (const t of transports) await t.close()
    await served?.close()
    await writer?.close()
    await prefixes.drop()
  })

  it("keeps Bob's feed in the writer's view while Mallory subscribes to 60 channels", async () => {
    const token = server.createUserToken('mallory')
    let accepted = 0
    for (let c = 0; c < 6; c++) {
      const [hello] = await bayeux(origin, [
        { channel: '/meta/handshake', version: '1.0', supportedConnectionTypes: ['long-polling'] },
      ])
      const batch = Array.from({ length: 10 }, (_, i) => {
        const channel = `/site-${APP}-feed-userflood${c * 10 + i}`
        const ext = { user_id: channel.slice(1), api_key: KEY, signature: token }
        return { channel: '/meta/subscribe', clientId: hello.clientId, subscription: channel, ext }
      })
      accepted += (await bayeux(origin, batch)).filter((r) => r.successful).length
    }
    assert.equal(accepted, 20, 'the per-user cap stops Mallory at 20')

    const bob = stream.connect(KEY, server.createUserToken('bob'), APP, {
      urlOverride: { api: `${origin}/api/` },
      fayeUrl: `${origin}/faye`,
    })
    clients.push(bob)
    const heard: RealTimeMessage[] = []
    await bob.feed('user', 'alice').subscribe((m) => heard.push(m))
    await until(() => writer.engine.events.wants('user:alice'), "the writer learns of Bob's feed")
    await writer.feed('user', 'alice').addActivity({ actor: 'alice', verb: 'post', object: 'o:1' })
    await until(() => heard.length > 0, 'Bob hears the add made on the other instance')
    assert.equal(heard[0].new[0].object, 'o:1')
    assert.equal(transports[1].stats().overflows, 0, "the writer's reads never overflowed")
  })
})
