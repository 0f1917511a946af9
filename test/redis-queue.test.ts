/**
 * The BullMQ fan-out queue's back-pressure and chunk order, on PostgreSQL + a single Redis: a
 * full queue refuses writes that fan out (503, nothing stored) until workers drain it, and a
 * job's first chunk runs before the later chunks of a big fan-out already waiting.
 */
import assert from 'node:assert/strict'
import { after, describe, it } from 'node:test'
import { connect, type EddyClient } from '../src/client/client.js'
import type { EddyError } from '../src/engine/errors.js'
import { BullFanoutQueue, openRedisStore } from '../src/store/redis/index.js'
import { PG_URL, postgresUnavailable, ScratchSchemas } from './fixtures/postgres-store.js'
import { REDIS_URL, redisUnavailable, ScratchPrefixes } from './fixtures/redis.js'
import { passes } from './fixtures/wait.js'

const skip = (await postgresUnavailable()) ?? (await redisUnavailable())
const schemas = new ScratchSchemas('redisqueue')
const prefixes = new ScratchPrefixes('queue')
after(async () => {
  await schemas.drop()
  if (!skip) await prefixes.drop()
})

/** A server-side client on a fresh schema and prefix whose writes only queue their fan-out. */
async function open(query: string, chunkSize = 2_000): Promise<EddyClient> {
  const prefix = prefixes.name()
  const schema = schemas.name()
  const timelines = `${REDIS_URL}?prefix=${prefix}`
  const store = await openRedisStore({ store: `${PG_URL}?schema=${schema}`, timelines })
  const client = connect({
    store,
    fanoutQueue: new BullFanoutQueue(`${timelines}&${query}`),
    fanoutChunkSize: chunkSize,
  })
  await client.ready()
  return client
}

/** The `object` of each activity of a flat page. */
const objects = (page: { results: unknown[] }) => page.results.map((a) => (a as { object: string }).object)

const post = (client: EddyClient, n: number) =>
  client.feed('user', 'alice').addActivity({ actor: 'alice', verb: 'post', object: `post:${n}` })

describe('fan-out queue back-pressure', { skip }, () => {
  it('refuses writes that fan out once maxQueued chunks wait, storing nothing, until workers drain it', async () => {
    const client = await open('maxQueued=3')
    try {
      await client.feed('timeline', 'bob').follow('user', 'alice')
      for (let n = 1; n <= 3; n++) await post(client, n)
      const refused = await post(client, 4).then(
        () => assert.fail('the fourth write was accepted with 3 chunks waiting'),
        (error: EddyError) => error,
      )
      assert.equal(refused.status_code, 503)
      assert.equal(refused.exception, 'ServiceUnavailableException')
      assert.match(refused.detail, /3 waiting chunks.*limit of 3 \(maxQueued\); nothing was stored/)
      const stored = await client.feed('user', 'alice').get({ limit: 10 })
      assert.deepEqual(objects(stored), ['post:3', 'post:2', 'post:1'], 'the refused activity was not stored')

      // A reaction that would reach a target feed is refused before it is stored; one without
      // target feeds does not fan out and is accepted.
      const [post1] = stored.results.slice(-1) as { id: string }[]
      const refusedLike = await client.reactions
        .add('like', post1.id, {}, { userId: 'bob', targetFeeds: ['notification:alice'] })
        .then(
          () => assert.fail('a reaction with target feeds was accepted with the queue full'),
          (error: EddyError) => error,
        )
      assert.equal(refusedLike.status_code, 503)
      await client.reactions.add('comment', post1.id, { text: 'hi' }, { userId: 'bob' })
      const reactions = await client.reactions.filter({ activity_id: post1.id })
      assert.deepEqual(
        reactions.results.map((r) => r.kind),
        ['comment'],
        'only the reaction without target feeds was stored',
      )

      // A worker drains the queue; writes are accepted again and everything reaches bob.
      const stop = new AbortController()
      const working = client.engine.work(stop.signal, undefined, 1)
      try {
        await passes(async () => {
          const timeline = await client.feed('timeline', 'bob').get({ limit: 10 })
          assert.equal(timeline.results.length, 3)
        })
        await passes(() => post(client, 4))
        await passes(async () => {
          const timeline = await client.feed('timeline', 'bob').get({ limit: 10 })
          assert.deepEqual(objects(timeline), ['post:4', 'post:3', 'post:2', 'post:1'])
        })
      } finally {
        stop.abort()
        await working
      }
    } finally {
      await client.close()
    }
  })

  it('never refuses with maxQueued=0, and rejects a bad maxQueued naming it', async () => {
    const client = await open('maxQueued=0')
    try {
      await client.feed('timeline', 'bob').follow('user', 'alice')
      for (let n = 1; n <= 5; n++) await post(client, n)
      assert.equal((await client.feed('user', 'alice').get({ limit: 10 })).results.length, 5)
    } finally {
      await client.close()
    }
    for (const bad of ['-1', '1.5', 'lots']) {
      assert.throws(
        () => new BullFanoutQueue(`${REDIS_URL}?maxQueued=${bad}`),
        new RegExp(
          `maxQueued must be a whole number of chunks from 0 \\(no limit\\) to 1000000000, got ${bad}`,
        ),
      )
    }
  })

  it("runs a job's first chunk ahead of the later chunks of bigger fan-outs queued before it", async () => {
    const prefix = prefixes.name()
    const timelines = `${REDIS_URL}?prefix=${prefix}`
    const store = await openRedisStore({ store: `${PG_URL}?schema=${schemas.name()}`, timelines })
    // Records each chunk as it starts; the second one waits at a gate the test opens.
    const ran: string[] = []
    let atGate!: () => void
    const reachedGate = new Promise<void>((resolve) => {
      atGate = resolve
    })
    let openGate!: () => void
    const gate = new Promise<void>((resolve) => {
      openGate = resolve
    })
    const runFanout = store.jobs.runFanout.bind(store.jobs)
    store.jobs.runFanout = async (job, chunkSize) => {
      ran.push(`${job.feed}@${job.cursor === null ? 'first' : 'later'}`)
      if (ran.length === 2) {
        atGate()
        await gate
      }
      return runFanout(job, chunkSize)
    }
    const client = connect({ store, fanoutQueue: new BullFanoutQueue(timelines), fanoutChunkSize: 2 })
    await client.ready()
    const stop = new AbortController()
    let working: Promise<void> | undefined
    try {
      // alice and erin have 4 followers each (2 chunks of 2), carol 1.
      for (const n of [1, 2, 3, 4]) {
        await client.feed('timeline', `a${n}`).follow('user', 'alice')
        await client.feed('timeline', `e${n}`).follow('user', 'erin')
      }
      await client.feed('timeline', 'dave').follow('user', 'carol')
      const postAs = (actor: string) =>
        client.feed('user', actor).addActivity({ actor, verb: 'post', object: `post:${actor}` })
      await postAs('alice')
      await postAs('erin')
      // One chunk at a time: alice's first chunk queues her second; erin's first waits at the gate.
      working = client.engine.work(stop.signal, undefined, 1)
      await reachedGate
      // Queued after alice's second chunk, yet run before it: first chunks go first.
      await postAs('carol')
      openGate()
      await passes(async () => {
        assert.equal((await client.feed('timeline', 'dave').get()).results.length, 1)
        for (const n of [1, 2, 3, 4]) {
          assert.equal((await client.feed('timeline', `a${n}`).get()).results.length, 1)
          assert.equal((await client.feed('timeline', `e${n}`).get()).results.length, 1)
        }
      })
      assert.deepEqual(ran.slice(0, 3), ['user:alice@first', 'user:erin@first', 'user:carol@first'])
      // Then the later chunks: alice's and erin's (an empty last one may follow a full chunk).
      for (const later of ran.slice(3)) assert.match(later, /^user:(alice|erin)@later$/)
    } finally {
      openGate()
      stop.abort()
      await working
      await client.close()
    }
  })
})
