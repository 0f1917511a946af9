/**
 * One bad fan-out job never blocks the others (issue 17, item 3): a job whose runs keep failing
 * is set aside as dead after `fanoutMaxFailures` failures, with its reason, counted in the
 * metrics, and put back by `retryFanout`; the jobs claimed behind it are delivered meanwhile.
 * On PostgreSQL the poison is real: a job whose group key holds a NUL (what a verb with a NUL
 * made before input was checked), which PostgreSQL refuses on every run. On the other stores a
 * store whose chunks fail for one feed stands in for it. The in-process runner on every store,
 * and the BullMQ queue path on PostgreSQL + Redis.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { connect, type EddyClient } from '../src/client/client.js'
import { skToId, sortKey, tailFor } from '../src/engine/ids.js'
import { BullFanoutQueue, openRedisStore } from '../src/store/redis/index.js'
import type { FanoutJob, Store } from '../src/store/store.js'
import { everyStore } from './fixtures/every-store.js'
import { PG_URL } from './fixtures/postgres-store.js'
import { REDIS_URL } from './fixtures/redis.js'
import { passes } from './fixtures/wait.js'

const { stores: STORES, schemas, prefixes, redisSkip } = await everyStore('deadjobs')

const FOLLOWERS = 10
const POSTS = 5
const POISON_FEED = 'user:poison'
const poisonSk = sortKey(Date.UTC(2026, 0, 1) * 1000, tailFor('c:poison'))

/**
 * Makes `store` fail every chunk of the poison job, unless it is PostgreSQL, where the job's own
 * data fails (`real`): a group key with a NUL, which no text column can hold.
 */
function poisoned(store: Store, real: boolean): Store {
  if (real) return store
  const run = store.jobs.runFanout.bind(store.jobs)
  store.jobs.runFanout = async (job, size, delivered) => {
    if (job.feed === POISON_FEED) throw new Error('poisoned chunk (test)')
    return run(job, size, delivered)
  }
  return store
}

/** Writes the poison activity and accepts its job unleased, as an older Eddy would have. */
async function injectPoison(store: Store): Promise<void> {
  const id = skToId(poisonSk)
  const body = JSON.stringify({ id, actor: 'mallory', verb: 'po\u0000st', object: 'o', origin: null })
  const job: FanoutJob = {
    id: 'poison-job',
    op: 'add',
    feed: POISON_FEED,
    sk: poisonSk,
    cursor: null,
    shapes: {
      timeline_aggregated: {
        kind: 'aggregated',
        group: 'po\u0000st_2026-01-01',
        actor: 'mallory',
        groupId: id,
      },
      timeline: { kind: 'flat' },
    },
  }
  await store.write({ activities: [{ sk: poisonSk, body }], fanout: [job], leaseMs: 0 })
}

/** Follows, the poison job first in the queue, then POSTS adds accepted behind it (unleased). */
async function seed(client: EddyClient, writer: EddyClient, store: Store): Promise<string[]> {
  await client.feed('timeline_aggregated', 'victim').follow('user', 'poison')
  for (let i = 0; i < FOLLOWERS; i++) await client.feed('timeline', `f${i}`).follow('user', 'star')
  await injectPoison(store)
  const ids: string[] = []
  for (let i = 0; i < POSTS; i++) {
    const added = await writer
      .feed('user', 'star')
      .addActivity({ actor: 'star', verb: 'post', object: `p:${i}` })
    ids.push(added.id)
  }
  return ids
}

async function everyoneHas(client: EddyClient, ids: string[]): Promise<void> {
  for (let i = 0; i < FOLLOWERS; i++) {
    const page = await client.feed('timeline', `f${i}`).get({ limit: 100 })
    const held = new Set(page.results.map((a) => (a as { id: string }).id))
    for (const id of ids) assert.ok(held.has(id), `timeline:f${i} lacks ${id}`)
  }
}

async function deadPoison(client: EddyClient, failures: number, reason: RegExp): Promise<void> {
  const dead = await client.engine.deadFanout()
  assert.equal(dead.total, 1, JSON.stringify(dead))
  const [job] = dead.jobs
  assert.equal(job.id, 'poison-job')
  assert.equal(job.feed, POISON_FEED)
  assert.equal(job.failures, failures)
  assert.match(job.reason, reason)
}

for (const kind of STORES) {
  describe(`dead fan-out jobs, in-process runner (${kind.name})`, { skip: kind.skip }, () => {
    it('sets the poison job aside after 3 failures, delivers every job claimed behind it, and retries on demand', async () => {
      // PostgreSQL refuses the poison job's own data (see poisoned); the other stores fail its chunks.
      const real = kind.name === 'PostgreSQL'
      const store = poisoned(await kind.open(), real)
      const client = connect({ store, fanoutMaxFailures: 3, fanoutRetryMs: 20 })
      // Accepts only (no lease), so the runner claims these behind the older poison job.
      const writer = connect({ store, localFanout: false })
      try {
        const ids = await seed(client, writer, store)
        await client.engine.resume()
        await passes(() => everyoneHas(client, ids))
        const reason = real ? /0x00|UTF8/ : /poisoned chunk/
        await passes(() => deadPoison(client, 3, reason))
        assert.match(await client.engine.metrics(), /^eddy_fanout_dead_jobs 1$/m)
        const grouped = await client.feed('timeline_aggregated', 'victim').get()
        assert.equal(grouped.results.length, 0, 'the poison reached nobody')

        // Put back, it runs (and fails) again from no failures; other work still flows.
        assert.equal(await client.engine.retryFanout('all'), 1)
        assert.equal((await client.engine.deadFanout()).total, 0)
        const later = await client
          .feed('user', 'star')
          .addActivity({ actor: 'star', verb: 'post', object: 'later' })
        await client.engine.resume()
        await passes(() => everyoneHas(client, [later.id]))
        await passes(() => deadPoison(client, 3, reason))
        assert.match(await client.engine.metrics(), /^eddy_fanout_dead_jobs 1$/m)
      } finally {
        await client.close().catch(() => undefined)
      }
    })
  })
}

describe('dead fan-out jobs, BullMQ queue (PostgreSQL + Redis)', { skip: redisSkip }, () => {
  it('sets the poison job aside instead of queueing it forever; the chunks behind it are delivered', async () => {
    const prefix = prefixes.name()
    const timelines = `${REDIS_URL}?prefix=${prefix}`
    const store = poisoned(
      await openRedisStore({ store: `${PG_URL}?schema=${schemas.name()}`, timelines }),
      false,
    )
    const client = connect({
      store,
      fanoutQueue: new BullFanoutQueue(timelines, { attempts: 50, backoffMs: 10 }),
      fanoutMaxFailures: 3,
      fanoutLeaseMs: 300,
    })
    const writer = connect({ store, localFanout: false })
    const stop = new AbortController()
    let working: Promise<void> | undefined
    try {
      await client.ready()
      const ids = await seed(client, writer, store)
      // The sweep claims the poison and the adds behind it and queues them all.
      working = client.engine.work(stop.signal, undefined, 2)
      await passes(() => everyoneHas(client, ids))
      await passes(() => deadPoison(client, 3, /poisoned chunk/))
      assert.match(await client.engine.metrics(), /^eddy_fanout_dead_jobs 1$/m)
      // Dead stays dead while later work flows: the sweep passes it by (no fourth failure).
      const later = await client
        .feed('user', 'star')
        .addActivity({ actor: 'star', verb: 'post', object: 'later' })
      await passes(() => everyoneHas(client, [later.id]))
      await deadPoison(client, 3, /poisoned chunk/)
    } finally {
      stop.abort()
      await working
      await client.close().catch(() => undefined)
    }
  })
})
