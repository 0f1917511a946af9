/**
 * Realtime across processes, as docs/scale-out.md runs it: two `eddy serve` processes that only
 * queue fan-out (`--workers 0`) and one `eddy worker`, on PostgreSQL and the single Redis (a
 * PostgreSQL schema and a Redis prefix of this run's own). The official `getstream` client
 * subscribes through server B's Faye endpoint; an activity added through server A reaches it:
 * the author's feed message built by server A, the follower's timeline message built by the
 * worker that ran the fan-out chunk, each carried by the Redis pub/sub transport.
 */
import assert from 'node:assert/strict'
import type { ChildProcess } from 'node:child_process'
import { after, before, describe, it } from 'node:test'
import stream, { type NewActivity, type RealTimeMessage, type StreamClient } from 'getstream'
import { startEddy, stopEddy } from './fixtures/eddy-process.js'
import { PG_URL, postgresUnavailable, ScratchSchemas } from './fixtures/postgres-store.js'
import { REDIS_URL, redisUnavailable, ScratchPrefixes } from './fixtures/redis.js'
import { must } from './helpers.js'

const KEY = 'rt-key'
const SECRET = 'rt-secret'
const APP = '777'

const skip = (await postgresUnavailable()) ?? (await redisUnavailable())

/** The official client, as these tests drive it. */
type Api = StreamClient

/** Polls `check` until it holds or `ms` passed (then false): a retry cadence, never an assertion. */
async function within(ms: number, check: () => boolean): Promise<boolean> {
  const deadline = Date.now() + ms
  while (!check()) {
    if (Date.now() > deadline) return false
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  return true
}

describe('realtime across two servers and a worker on PostgreSQL and Redis', { skip }, () => {
  const schemas = new ScratchSchemas('realtime')
  const prefixes = new ScratchPrefixes('rtproc')
  const children: ChildProcess[] = []
  const clients: Api[] = []
  const origins: string[] = []

  before(async () => {
    const timelines = `${REDIS_URL}?prefix=${prefixes.name()}`
    const common = ['--store', `${PG_URL}?schema=${schemas.name()}`, '--timelines', timelines]
    const creds = ['--api-key', KEY, '--api-secret', SECRET]
    // The first server creates the schema; the others then open a migrated one.
    for (let i = 0; i < 2; i++) {
      const server = await startEddy(
        ['serve', '--port', '0', '--workers', '0', ...common, ...creds],
        /serving (\S+)\/api\//,
      )
      children.push(server.child)
      origins.push(server.match[1])
    }
    children.push((await startEddy(['worker', ...common], /^eddy worker on /)).child)
  })

  after(async () => {
    await Promise.all(clients.map((c) => c.fayeClient?.disconnect()))
    const codes = await Promise.all(children.map(stopEddy))
    try {
      await prefixes.drop()
    } finally {
      await schemas.drop()
    }
    assert.deepEqual(codes, [0, 0, 0], 'every process exits cleanly on SIGTERM')
  })

  function connect(origin: string, token: string): Api {
    const c = stream.connect(KEY, token, APP, {
      urlOverride: { api: `${origin}/api/` },
      fayeUrl: `${origin}/faye`,
    })
    clients.push(c)
    return c
  }

  it("delivers a worker's fan-out and another server's add to a Faye subscriber on server B", async () => {
    const [a, b] = origins
    const server = connect(a, SECRET)
    const alice = connect(a, server.createUserToken('alice'))
    const bob = connect(b, server.createUserToken('bob'))
    const watcher = connect(b, SECRET)
    await bob.feed('timeline', 'bob').follow('user', 'alice')

    const timeline: RealTimeMessage[] = []
    const authored: RealTimeMessage[] = []
    await bob.feed('timeline', 'bob').subscribe((m) => timeline.push(m))
    await watcher.feed('user', 'alice').subscribe((m) => authored.push(m))

    // The subscription is announced to the worker and server A through Redis as it is made; an
    // add that raced ahead of the announcement is simply not heard, so add until one is.
    const added: string[] = []
    for (let attempt = 0; attempt < 20 && timeline.length === 0; attempt++) {
      const activity = await alice
        .feed('user', 'alice')
        .addActivity({ verb: 'post', object: `o:${attempt}`, foreign_id: `p:${attempt}` } as NewActivity)
      added.push(activity.id)
      await within(3000, () => timeline.length > 0)
    }
    assert.ok(timeline.length > 0, 'the fan-out reached the subscriber on server B')
    const delivered = timeline[0]
    assert.equal(delivered.feed, 'timeline:bob')
    assert.equal(delivered.app_id, APP)
    assert.equal(delivered.new.length, 1)
    assert.ok(added.includes(delivered.new[0].id as string))
    assert.equal(delivered.new[0].origin, 'user:alice', 'a fan-out copy, delivered by the worker')

    // One more add: it arrives on both subscriptions, and nothing arrives twice.
    const last = await alice
      .feed('user', 'alice')
      .addActivity({ verb: 'post', object: 'o:last' } as NewActivity)
    const ids = (messages: RealTimeMessage[]) => messages.flatMap((m) => m.new.map((x) => x.id))
    assert.ok(await within(60_000, () => ids(timeline).includes(last.id)), 'the timeline hears the last add')
    assert.ok(await within(60_000, () => ids(authored).includes(last.id)), "the author's feed hears it too")
    for (const messages of [timeline, authored])
      assert.equal(new Set(ids(messages)).size, ids(messages).length, 'each activity once')
    const fromA = must(
      authored.find((m) => m.new[0]?.id === last.id),
      "the author's feed message",
    )
    assert.equal(fromA.feed, 'user:alice')
    assert.equal(fromA.app_id, APP)

    await alice.feed('user', 'alice').removeActivity({ foreignId: 'p:0' })
    assert.ok(
      await within(60_000, () => timeline.some((m) => m.deleted.includes(added[0]))),
      'the removal reaches the timeline through the worker',
    )
  })
})
