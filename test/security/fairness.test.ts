/**
 * Fair scheduling: long background work (fan-out to many followers, a long follow_many) leaves
 * room for other requests between its transactions, deep offsets are refused, and a user token's
 * batch is bounded. Behaviour only; the timings are in `npm run bench` (the fairness row).
 */
import assert from 'node:assert/strict'
import { mkdtempSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import type { FastifyInstance } from 'fastify'
import type { StreamClient } from 'getstream'
import { connect } from '../../src/client/client.js'
import { MAX_OFFSET } from '../../src/engine/read.js'
import { MAX_USER_BATCH_TARGETS, MAX_USER_TARGET_CHANGES } from '../../src/server/user-limits.js'
import { MemoryStore } from '../../src/store/memory/memory-store.js'
import { CHECKPOINT_WORKER_AT_BYTES } from '../../src/store/sqlite/checkpointer.js'
import { openSqliteStore } from '../../src/store/sqlite/index.js'
import { startStreamServer } from '../fixtures/stream-server.js'
import { open, rejection, STORES } from '../helpers.js'

const turn = () => new Promise<void>((resolve) => setImmediate(resolve))
const ids = (results: unknown[]) => results.map((r) => (r as { id: string }).id)

for (const store of STORES) {
  describe(`${store.name}: fair scheduling`, () => {
    it('runs other work between the chunks of a long fan-out, which still reaches everyone once', async () => {
      const client = open(store, { fanoutChunkSize: 20 })
      try {
        const followers = Array.from({ length: 400 }, (_, i) => `timeline:f${String(i).padStart(3, '0')}`)
        await client.followMany(
          followers.map((source) => ({ source, target: 'user:star' })),
          0,
        )
        await client.feed('user', 'bystander').addActivity({ actor: 'b', verb: 'post', object: 'b:1' })
        const added = await client
          .feed('user', 'star')
          .addActivity({ actor: 'star', verb: 'post', object: 'p' })

        // Another caller, one event-loop turn at a time: it reads a feed, and looks whether the
        // last follower (in delivery order) has the activity yet.
        let turns = 0
        let readsBeforeDelivered = 0
        let stop = false
        const other = (async () => {
          while (!stop) {
            await turn()
            turns++
            const page = await client.feed('user', 'bystander').get()
            assert.equal(page.results.length, 1)
            const last = await client.feed('timeline', 'f399').get()
            if (last.results.length === 0) readsBeforeDelivered++
          }
        })()
        await client.flush()
        stop = true
        await other

        // 400 followers in chunks of 20: the first rides with the add, 19 run in the background.
        assert.ok(turns >= 19, `the other caller ran ${turns} times during the fan-out`)
        assert.ok(readsBeforeDelivered >= 10, `${readsBeforeDelivered} reads completed mid fan-out`)
        for (const feed of followers) {
          const { results } = await client.feed('timeline', feed.slice('timeline:'.length)).get()
          assert.deepEqual(ids(results), [added.id], feed)
        }
      } finally {
        await client.close()
      }
    })

    it('follows 2,500 feeds with copies in several writes, each follower getting each activity once', async () => {
      // A real store whose writes are counted (the client closes it).
      const counted =
        store.name === 'memory'
          ? new MemoryStore()
          : openSqliteStore(join(mkdtempSync(join(tmpdir(), 'eddy-fair-')), 'feeds.sqlite'))
      const write = counted.write.bind(counted)
      let writes = 0
      counted.write = (...args) => {
        writes++
        return write(...args)
      }
      const client = connect({ store: counted })
      try {
        const source = client.feed('user', 'src')
        for (let i = 0; i < 3; i++) await source.addActivity({ actor: 'src', verb: 'post', object: `o:${i}` })
        writes = 0
        const follows = Array.from({ length: 2_500 }, (_, i) => ({
          source: i % 25 === 0 ? `timeline_aggregated:m${i}` : `timeline:m${i}`,
          target: 'user:src',
        }))
        const following = client.followMany(follows)
        // An add lands while the follows are still being written: every follower must get it
        // exactly once, through its copy or through the fan-out.
        for (let i = 0; i < 5; i++) await turn()
        const late = await source.addActivity({ actor: 'src', verb: 'post', object: 'late' })
        await following
        await client.flush()

        assert.ok(writes > 10, `follow_many of 2,500 used ${writes} writes`)
        for (const { source: feed } of follows) {
          const [slug, id] = feed.split(':')
          const { results } = await client.feed(slug, id).get({ limit: 100 })
          if (slug === 'timeline') {
            const got = ids(results)
            assert.equal(got.length, 4, feed)
            assert.equal(new Set(got).size, 4, feed)
            assert.ok(got.includes(late.id), feed)
          } else {
            const counts = results.map((g) => (g as { activity_count: number }).activity_count)
            assert.equal(
              counts.reduce((a, b) => a + b, 0),
              4,
              feed,
            )
          }
        }
      } finally {
        await client.close()
      }
    })

    it(`refuses an offset over ${MAX_OFFSET}, naming the cap and echoing the value`, async () => {
      const client = open(store)
      try {
        await client.feed('user', 'deep').addActivity({ actor: 'd', verb: 'post', object: 'd:1' })
        assert.deepEqual((await client.feed('user', 'deep').get({ offset: MAX_OFFSET })).results, [])
        for (const [slug, offset] of [
          ['user', MAX_OFFSET + 1],
          ['user', '1000000'],
          ['timeline_aggregated', 5_000],
          ['notification', MAX_OFFSET + 1],
        ] as const) {
          const error = await rejection(client.feed(slug, 'deep').get({ offset }))
          assert.equal(error.exception, 'InputException')
          assert.equal(error.status_code, 400)
          assert.match(error.detail, new RegExp(`offset may be at most ${MAX_OFFSET}.*id_lt`))
          assert.ok(error.detail.endsWith(`got ${JSON.stringify(offset)}`), error.detail)
        }
      } finally {
        await client.close()
      }
    })
  })
}

describe('sqlite: WAL checkpoints off the event loop', () => {
  it('copies a grown WAL into the database file from a worker thread, and closes cleanly', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'eddy-checkpoint-')), 'feeds.sqlite')
    const client = connect({ store: `sqlite:${file}` })
    const follows = Array.from({ length: 10_000 }, (_, i) => ({
      source: `timeline:c${i}`,
      target: 'user:star',
    }))
    await client.followMany(follows, 0)
    const added = await client.feed('user', 'star').addActivity({ actor: 'star', verb: 'post', object: 'p' })
    await client.flush()
    assert.ok(statSync(`${file}-wal`).size >= CHECKPOINT_WORKER_AT_BYTES)
    // In WAL mode only a checkpoint writes the database file, and the main connection runs none
    // before 10,000 pages (40 MB): the file growing now is the worker's doing.
    const before = statSync(file).size
    for (let i = 0; i < 200 && statSync(file).size === before; i++) await sleep(50)
    assert.ok(statSync(file).size > before, 'the database file received the checkpointed pages')
    await client.close()
    assert.throws(() => statSync(`${file}-wal`), /ENOENT/, 'the last connection to close removed the WAL')
    const again = connect({ store: `sqlite:${file}` })
    try {
      assert.deepEqual(ids((await again.feed('timeline', 'c9999').get()).results), [added.id])
    } finally {
      await again.close()
    }
  })
})

describe('server: deep offsets and user-token batches', () => {
  const KEY = 'fair-key'
  const SECRET = 'fair-secret'
  let app: FastifyInstance
  let api: StreamClient
  let alice: StreamClient

  before(async () => {
    const started = await startStreamServer(KEY, SECRET, { store: 'sqlite::memory:' })
    app = started.app
    api = started.api
    alice = started.user('alice')
    await api.feed('user', 'alice').addActivity({ actor: 'SU:alice', verb: 'post', object: 'o:1' })
  })
  after(() => app.close())

  const status400 = (pattern: RegExp) => (e: { response: { status: number }; error: { detail: string } }) => {
    assert.equal(e.response.status, 400)
    assert.match(e.error.detail, pattern)
    return true
  }

  it('answers an offset over the cap with 400 on the plain, enriched and grouped reads', async () => {
    assert.equal((await api.feed('user', 'alice').get({ offset: MAX_OFFSET })).results.length, 0)
    const over = new RegExp(`offset may be at most ${MAX_OFFSET}.*got "1000000"`)
    await assert.rejects(api.feed('user', 'alice').get({ offset: 1_000_000 }), status400(over))
    await assert.rejects(alice.feed('user', 'alice').get({ offset: 1_000_000 }), status400(over))
    await assert.rejects(api.feed('notification', 'alice').get({ offset: 1_000_000 }), status400(over))
  })

  it(`limits a user token's batch to ${MAX_USER_BATCH_TARGETS} to targets in all; a server token may send Stream's limits`, async () => {
    const batch = (n: number, targets: number) =>
      Array.from({ length: n }, (_, i) => ({
        actor: 'SU:alice',
        verb: 'post',
        object: `b:${i}`,
        to: Array.from({ length: targets }, (_, t) => `notification:n${t}`),
      }))
    await assert.rejects(
      alice.feed('user', 'alice').addActivities(batch(100, 2)),
      status400(new RegExp(`at most ${MAX_USER_BATCH_TARGETS} to targets over all its activities.*got 200`)),
    )
    // getstream types the answer as an array; the wire (and Stream) answer `{ activities }`.
    const added = async (client: StreamClient, activities: ReturnType<typeof batch>) =>
      ((await client.feed('user', 'alice').addActivities(activities)) as unknown as { activities: unknown[] })
        .activities.length
    assert.equal(await added(alice, batch(50, 2)), 50)
    assert.equal(await added(api, batch(100, 100)), 100)
  })

  it(`limits a user token's to-targets change to ${MAX_USER_TARGET_CHANGES} targets in all`, async () => {
    const time = '2026-11-20T12:00:00.000000'
    await api
      .feed('user', 'alice')
      .addActivity({ actor: 'SU:alice', verb: 'post', object: 't', foreign_id: 't:1', time })
    const feeds = (prefix: string, n: number) =>
      Array.from({ length: n }, (_, i) => `notification:${prefix}${i}`)
    await assert.rejects(
      alice
        .feed('user', 'alice')
        .updateActivityToTargets('t:1', time, undefined, feeds('a', 60), feeds('r', 60)),
      status400(new RegExp(`at most ${MAX_USER_TARGET_CHANGES} targets in total.*got 120`)),
    )
    await alice
      .feed('user', 'alice')
      .updateActivityToTargets('t:1', time, undefined, feeds('a', 60), feeds('r', 40))
    await api
      .feed('user', 'alice')
      .updateActivityToTargets('t:1', time, undefined, feeds('b', 100), feeds('a', 60))
  })
})
