/**
 * Realtime across instances, in one process: two Eddy clients (two engines, each with its own
 * store) share a Redis pub/sub transport from `eddy/redis` on the single Redis (127.0.0.1:6379,
 * a key prefix of this run's own). A message built by one reaches the other's listener once,
 * the builder's own listeners once; a cancelled subscription hears nothing more; each instance
 * sees the feeds the other listens to, and forgets them once nobody renews them; garbage on the
 * channel is ignored; a message too big for one text arrives in parts. The same on a Redis
 * Cluster (3 masters, 3 replicas): PUBLISH reaches subscribers connected to any node. A Redis of
 * the test's own is restarted under two instances: nothing throws, delivery resumes after.
 */
import assert from 'node:assert/strict'
import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { createServer } from 'node:net'
import { after, before, describe, it } from 'node:test'
import { RedisFeedTransport, type RedisTransportOptions } from 'eddy/redis'
import { Redis } from 'ioredis'
import { connect, type EddyClient } from '../src/client/client.js'
import type { FeedMessage } from '../src/engine/events.js'
import { clusterUnavailable, startCluster, type TestCluster } from './fixtures/cluster.js'
import { REDIS_URL, redisUnavailable, ScratchPrefixes } from './fixtures/redis.js'
import { must } from './helpers.js'

const skip = await redisUnavailable()
const prefixes = new ScratchPrefixes('realtime')

/** Waits (polling, no fixed sleep) until `check` holds; fails after a generous minute. */
async function until(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 60_000
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

/** Polls `check` until it holds or `ms` passed (then false): a retry cadence, never an assertion. */
async function within(ms: number, check: () => boolean): Promise<boolean> {
  const deadline = Date.now() + ms
  while (!check()) {
    if (Date.now() > deadline) return false
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  return true
}

/** One instance: a client on its own memory store, its bus on the shared transport. */
async function instance(prefix: string, options: Partial<RedisTransportOptions> = {}) {
  const client = connect({ store: 'memory' })
  const transport = await RedisFeedTransport.open({
    redis: REDIS_URL,
    prefix,
    ttlMs: 1000,
    refreshMs: 50,
    ...options,
  })
  transport.attach(client.engine.events)
  return { client, transport }
}

type Instance = { client: EddyClient; transport: RedisFeedTransport }

/** Messages of one listener, in arrival order. */
function inbox(client: EddyClient, slug: string, id: string) {
  const messages: FeedMessage[] = []
  const subscription = client.feed(slug, id).subscribe((m) => messages.push(m))
  return { messages, cancel: () => subscription.cancel() }
}

const ids = (messages: FeedMessage[]) => messages.flatMap((m) => m.new.map((a) => a.id))

describe('realtime over Redis pub/sub between instances', { skip }, () => {
  let prefix: string
  let a: Instance
  let b: Instance
  const opened: Instance[] = []

  before(async () => {
    prefix = prefixes.name()
    a = await instance(prefix)
    b = await instance(prefix, { maxMessageBytes: 4096 })
    opened.push(a, b)
  })

  after(async () => {
    for (const { client, transport } of opened) {
      await transport.close()
      await client.close()
    }
    await prefixes.drop()
  })

  it('delivers a message built on one instance to the other once, and to its own listeners once', async () => {
    const remote = inbox(b.client, 'user', 'alice')
    const own = inbox(a.client, 'user', 'alice')
    await until(() => a.transport.listening().has('user:alice'), 'a knows b listens to user:alice')
    assert.ok(a.client.engine.events.wants('user:alice'))

    const first = await a.client
      .feed('user', 'alice')
      .addActivity({ actor: 'alice', verb: 'post', object: 'o:1' })
    const second = await a.client
      .feed('user', 'alice')
      .addActivity({ actor: 'alice', verb: 'post', object: 'o:2' })
    // One channel, one publisher: the second message arrives after the first.
    await until(() => ids(remote.messages).includes(second.id), 'b hears the second add')
    assert.deepEqual(ids(remote.messages), [first.id, second.id])
    assert.deepEqual(ids(own.messages), [first.id, second.id], 'the publisher delivers its own once')
    assert.equal(remote.messages[0].feed, 'user:alice')
    assert.deepEqual(remote.messages[0].deleted, [])
    remote.cancel()
    own.cancel()
  })

  it('stops delivering to a cancelled subscription', async () => {
    const gone = inbox(b.client, 'user', 'gone')
    const marker = inbox(b.client, 'user', 'marker')
    await until(
      () => a.transport.listening().has('user:gone') && a.transport.listening().has('user:marker'),
      'a knows both feeds',
    )
    await a.client.feed('user', 'gone').addActivity({ actor: 'x', verb: 'post', object: 'o:1' })
    await until(() => gone.messages.length === 1, 'b hears the first add')
    gone.cancel()
    await a.client.feed('user', 'gone').addActivity({ actor: 'x', verb: 'post', object: 'o:2' })
    const last = await a.client
      .feed('user', 'marker')
      .addActivity({ actor: 'x', verb: 'post', object: 'o:3' })
    await until(() => ids(marker.messages).includes(last.id), 'b hears the later marker')
    assert.equal(gone.messages.length, 1, 'nothing after cancel')
    marker.cancel()
  })

  it('reports feeds listened to on another instance, until nobody renews them', async () => {
    const c = await instance(prefix)
    const stop = c.client.feed('notification', 'carl').subscribe(() => undefined)
    await until(() => a.transport.listening().has('notification:carl'), 'a sees c listen')
    await until(() => b.client.engine.events.listening().includes('notification:carl'), 'b sees c listen')
    stop.cancel()
    await c.transport.close()
    await c.client.close()
    // c is gone: its entry is not renewed and expires (TTL 1 s here) on every instance.
    await until(() => !a.transport.listening().has('notification:carl'), 'a forgets notification:carl')
    await until(() => !b.transport.listening().has('notification:carl'), 'b forgets notification:carl')
  })

  it('ignores texts on the channel that are not envelopes, and goes on delivering', async () => {
    const box = inbox(b.client, 'user', 'garbage')
    await until(() => a.transport.listening().has('user:garbage'), 'a knows b listens')
    const before = b.transport.stats().ignored
    const raw = new Redis(REDIS_URL)
    const wellFormed = {
      feed: 'user:garbage',
      new: [],
      deleted: [],
      deleted_foreign_ids: [],
      app_id: '',
      published_at: '',
    }
    try {
      const bad = [
        'not json',
        '{}',
        'null',
        JSON.stringify({ v: 1, from: 'x', kind: 'message', message: { feed: 'user:garbage' } }),
        JSON.stringify({ v: 1, from: 'x', kind: 'message', message: { feed: 'user:garbage', new: 'no' } }),
        JSON.stringify({ v: 1, from: 'x', kind: 'message', message: { ...wellFormed, v3: 'no' } }),
        JSON.stringify({ v: 1, from: 'x', kind: 'message', message: { ...wellFormed, v3: [1, null] } }),
        JSON.stringify({ v: 1, from: 'x', kind: 'listen', feeds: [42], until: Date.now() }),
        JSON.stringify({ v: 2, from: 'x', kind: 'listen', feeds: ['user:z'], until: Date.now() }),
        'x'.repeat(5000), // over b's maxMessageBytes
      ]
      for (const text of bad) await raw.publish(b.transport.channel, text)
    } finally {
      raw.disconnect()
    }
    const added = await a.client
      .feed('user', 'garbage')
      .addActivity({ actor: 'x', verb: 'post', object: 'o' })
    await until(() => box.messages.length > 0, 'b hears the valid message after the garbage')
    assert.deepEqual(ids(box.messages), [added.id])
    assert.equal(b.transport.stats().ignored - before, 10)
    assert.ok(!b.transport.listening().has('user:z'))
    box.cancel()
  })

  it('splits a message bigger than one text between its activities', async () => {
    const box = inbox(b.client, 'user', 'big')
    await until(() => a.transport.listening().has('user:big'), 'a knows b listens')
    const small = await instance(prefix, { maxMessageBytes: 4096 })
    opened.push(small)
    await until(() => small.transport.listening().has('user:big'), 'the small instance knows b listens')
    const activities = Array.from({ length: 6 }, (_, i) => ({
      actor: 'x',
      verb: 'post',
      object: `o:${i}`,
      text: `${i}`.repeat(1500),
    }))
    const added = await small.client.feed('user', 'big').addActivities(activities)
    const sent = added.activities.map((x) => x.id)
    await until(() => ids(box.messages).length === sent.length, 'b hears every activity')
    assert.ok(box.messages.length > 1, 'in several messages')
    assert.deepEqual(ids(box.messages).sort(), [...sent].sort())
    box.cancel()
  })

  it('refuses to open on a Redis that does not answer, saying where', async () => {
    await assert.rejects(
      RedisFeedTransport.open({ redis: 'redis://127.0.0.1:1', prefix: 'x' }),
      /cannot use Redis at redis:\/\/127\.0\.0\.1:1 for realtime/,
    )
    await assert.rejects(RedisFeedTransport.open({ redis: REDIS_URL, prefix: 'a b' }), /prefix/)
    await assert.rejects(RedisFeedTransport.open({ redis: REDIS_URL, ttlMs: 0 }), /ttlMs/)
  })
})

describe('realtime over Redis pub/sub on a Redis Cluster', {
  skip: skip ?? (await clusterUnavailable()),
}, () => {
  let cluster: TestCluster
  const opened: Instance[] = []

  before(async () => {
    cluster = await startCluster()
  })

  after(async () => {
    for (const { client, transport } of opened) {
      await transport.close()
      await client.close()
    }
    await cluster?.stop()
  })

  it('carries messages and listened feeds between instances connected to different nodes', async () => {
    const prefix = prefixes.name()
    // Seeds in opposite orders: the two subscriptions likely sit on different nodes.
    const reversed = `redis-cluster://${[...cluster.seeds].reverse().join(',')}`
    for (const redis of [cluster.url, reversed]) {
      const client = connect({ store: 'memory' })
      const transport = await RedisFeedTransport.open({ redis, prefix, ttlMs: 1000, refreshMs: 50 })
      opened.push({ client, transport: transport.attach(client.engine.events) })
    }
    const [a, b] = opened
    const box = inbox(b.client, 'timeline', 'bob')
    const own = inbox(a.client, 'timeline', 'bob')
    await until(() => a.transport.listening().has('timeline:bob'), 'a knows b listens')
    const added = await a.client
      .feed('timeline', 'bob')
      .addActivity({ actor: 'x', verb: 'post', object: 'o' })
    const marker = await a.client
      .feed('timeline', 'bob')
      .addActivity({ actor: 'x', verb: 'post', object: 'm' })
    await until(() => ids(box.messages).includes(marker.id), 'b hears both adds')
    assert.deepEqual(ids(box.messages), [added.id, marker.id])
    assert.deepEqual(ids(own.messages), [added.id, marker.id])
  })
})

/** A free loopback port. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })
}

describe('realtime over a Redis that restarts', { skip: skip ?? (await clusterUnavailable()) }, () => {
  let port: number
  let redis: ChildProcess | undefined
  const opened: Instance[] = []

  /** A redis-server of this test's own, without persistence; resolves once it answers. */
  async function startRedis(): Promise<void> {
    redis = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      {
        stdio: 'ignore',
      },
    )
    await until(() => probed, 'the private Redis answers')
  }
  let probed = false
  async function probe(): Promise<void> {
    probed = (await redisUnavailable(`redis://127.0.0.1:${port}`)) === undefined
  }
  async function stopRedis(): Promise<void> {
    const child = must(redis, 'the private Redis process')
    const exited = once(child, 'exit')
    child.kill('SIGKILL')
    await exited
    redis = undefined
    probed = false
  }

  before(async () => {
    port = await freePort()
  })

  after(async () => {
    for (const { client, transport } of opened) {
      await transport.close()
      await client.close()
    }
    if (redis) await stopRedis()
  })

  it('keeps publishing quietly while Redis is down and delivers again once it is back', async () => {
    const poll = setInterval(() => void probe(), 20)
    try {
      await startRedis()
      const url = `redis://127.0.0.1:${port}`
      for (let i = 0; i < 2; i++) {
        const client = connect({ store: 'memory' })
        const transport = await RedisFeedTransport.open({ redis: url, ttlMs: 600, refreshMs: 50 })
        opened.push({ client, transport: transport.attach(client.engine.events) })
      }
      const [a, b] = opened
      const box = inbox(b.client, 'user', 'r')
      const own = inbox(a.client, 'user', 'r')
      await until(() => a.transport.listening().has('user:r'), 'a knows b listens')

      await stopRedis()
      const lost = await a.client.feed('user', 'r').addActivity({ actor: 'x', verb: 'post', object: 'down' })
      assert.deepEqual(ids(own.messages), [lost.id], 'the publisher still delivers its own')
      await until(() => a.transport.stats().failures > 0, 'the failed publish is counted')

      await startRedis()
      // Reconnecting and subscribing again take a moment: add until b hears one.
      const sent: string[] = []
      for (let attempt = 0; attempt < 30 && box.messages.length === 0; attempt++) {
        const x = await a.client.feed('user', 'r').addActivity({ actor: 'x', verb: 'post', object: 'up' })
        sent.push(x.id)
        await within(2000, () => box.messages.length > 0)
      }
      assert.ok(box.messages.length > 0, 'delivery resumed after the restart')
      assert.ok(!ids(box.messages).includes(lost.id), 'what was published while down is lost, not replayed')
      assert.ok(ids(box.messages).every((id) => sent.includes(id)))
    } finally {
      clearInterval(poll)
    }
  })
})
