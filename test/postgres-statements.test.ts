/**
 * What the PostgreSQL store sends: a fixed number of statements per call whatever the number of
 * followers or entries (batches, never one statement per follower), and transactions retried
 * when the server aborts them for a deadlock.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import pg from 'pg'
import type { PostgresStore } from '../src/store/postgres/index.js'
import { Session, sql } from '../src/store/postgres/session.js'
import type { EntryShape, FanoutJob } from '../src/store/store.js'
import { sk } from '../src/testing/store-contract.js'
import { PG, postgresUnavailable, ScratchSchemas } from './fixtures/postgres-store.js'

const skip = await postgresUnavailable()
const scratch = new ScratchSchemas('pgstmt')
after(() => scratch.drop())

describe('postgres store: statements per call', { skip }, () => {
  let store: PostgresStore
  let sent: string[] = []
  let trips = 0
  before(async () => {
    store = await scratch.open(scratch.name(), {
      onQuery: (text, roundTrip) => {
        sent.push(text.trim().split(/\s+/)[0])
        if (roundTrip) trips++
      },
    })
  })
  after(() => store.close())

  /** The first word of each statement `call` sends. */
  async function statements(call: () => Promise<unknown>): Promise<string[]> {
    sent = []
    await call()
    return sent
  }

  /** How many round trips `call` takes (statements sent before an answer share one). */
  async function roundTrips(call: () => Promise<unknown>): Promise<number> {
    trips = 0
    await call()
    return trips
  }

  it('adds in one round trip, and ends the job of a feed without followers in it', async () => {
    const flatShapes: Record<string, EntryShape> = { timeline: { kind: 'flat' } }
    await store.write({ follow: [{ source: 'timeline:rt', target: 'user:followed' }] })
    const add = (feed: string, n: number) => ({
      activities: [{ sk: sk(n), body: '{}' }],
      add: [{ feed, kind: 'flat' as const, sk: sk(n), origin: null }],
      fanout: [{ id: `rt${n}`, op: 'add' as const, feed, sk: sk(n), shapes: flatShapes, cursor: null }],
    })
    let pending: FanoutJob[] = []
    // BEGIN, body, entry, job, COMMIT, then (its own transaction) the jobs of feeds without followers.
    assert.deepEqual(
      await statements(async () => {
        pending = await store.write(add('user:alone', 9001))
      }),
      ['BEGIN', 'INSERT', 'WITH', 'INSERT', 'COMMIT', 'DELETE'],
    )
    assert.deepEqual(pending, [])
    assert.equal(await roundTrips(async () => (pending = await store.write(add('user:followed', 9002)))), 1)
    assert.equal(pending.length, 1)
    // A chunk to flat followers: job, edge hold and followers; then entries, cursor and COMMIT.
    assert.equal(await roundTrips(() => store.jobs.runFanout(pending[0], 100)), 2)
    assert.equal((await store.timelines.readFlat('timeline:rt', { limit: 5, offset: 0 })).length, 1)
  })

  const shapes: Record<string, EntryShape> = {
    user: { kind: 'flat', maxLength: 50 },
    notification: { kind: 'notification', group: 'g', actor: 'a', groupId: 'gid', maxLength: 50 },
  }

  for (const [slug, perChunk] of [
    // `BEGIN;`: a chunk opens with `BEGIN; SET LOCAL synchronous_commit TO OFF`, one round trip.
    ['user', ['BEGIN;', 'SELECT', 'SELECT', 'SELECT', 'SELECT', 'WITH', 'DELETE', 'UPDATE', 'COMMIT']],
    [
      'notification',
      [
        'BEGIN;',
        'SELECT',
        'SELECT',
        'SELECT',
        'SELECT',
        'WITH',
        'INSERT',
        'INSERT',
        'DELETE',
        'UPDATE',
        'COMMIT',
      ],
    ],
  ] as const) {
    it(`runs a chunk to ${slug} followers in ${perChunk.length} statements, for 10 or 400 followers`, async () => {
      for (const size of [10, 400]) {
        const author = `user:${slug}${size}`
        await store.write({
          follow: Array.from({ length: size + 1 }, (_, i) => ({ source: `${slug}:f${i}`, target: author })),
        })
        const job: FanoutJob = { id: `j${size}`, op: 'add', feed: author, sk: sk(size), shapes, cursor: null }
        const [accepted] = await store.write({ activities: [{ sk: sk(size), body: '{}' }], fanout: [job] })
        // Job, edge hold, followers, which of them were read lately (fan-out priority), entries
        // (actors, groups), trim, cursor: one statement each.
        assert.deepEqual(await statements(() => store.jobs.runFanout(accepted, size)), perChunk, `${size}`)
        // The last chunk (one follower) deletes the job instead.
        assert.equal(await store.jobs.runFanout({ ...accepted }, size), null)
      }
    })
  }

  it('reads a page with counts in one statement, and marks in one more inside a transaction', async () => {
    const page = { limit: 10, offset: 0 }
    assert.deepEqual(
      await statements(() => store.timelines.readGroups('notification:f1', page, 5, { counts: true })),
      ['SELECT'],
    )
    assert.deepEqual(
      await statements(() =>
        store.timelines.readGroups('notification:f1', page, 5, { counts: true, seen: true }),
      ),
      ['BEGIN', 'SELECT', 'UPDATE', 'COMMIT'],
    )
    assert.deepEqual(await statements(() => store.timelines.readFlat('user:f1', page)), ['SELECT'])
    assert.deepEqual(
      await statements(() =>
        store.follows.countFollows('user:user10', { followers: ['user', 'x'], following: [] }),
      ),
      ['SELECT'],
    )
  })

  it('writes a batch of 300 entries over 30 feeds in one statement per table', async () => {
    const add = Array.from({ length: 300 }, (_, i) => ({
      feed: `notification:b${i % 30}`,
      kind: 'notification' as const,
      sk: sk(1000 + i),
      origin: null,
      group: `g${i % 4}`,
      actor: `a${i % 5}`,
    }))
    assert.deepEqual(await statements(() => store.write({ add })), [
      'BEGIN',
      'WITH',
      'INSERT',
      'INSERT',
      'COMMIT',
    ])
    // notification:b0 holds i = 0, 30, ... 270: groups g0 and g2, five each, all from actor a0.
    const { groups } = await store.timelines.readGroups('notification:b0', { limit: 5, offset: 0 }, 0)
    assert.deepEqual(
      groups.map((g) => [g.group, g.activityCount, g.actorCount]),
      [
        ['g2', 5, 1],
        ['g0', 5, 1],
      ],
    )
  })
})

describe('postgres store: retries', { skip }, () => {
  it('runs a transaction again when the server aborts it for a deadlock', async () => {
    const schema = scratch.name()
    await (await scratch.open(schema)).close()
    await scratch.admin.query(`CREATE TABLE "${schema}".t (k int PRIMARY KEY, v int NOT NULL)`)
    await scratch.admin.query(`INSERT INTO "${schema}".t VALUES (1, 0), (2, 0)`)
    const target = { host: PG.host, port: PG.port, database: PG.database, user: PG.user, schema }
    const pools = [new pg.Pool({ ...PG, max: 1 }), new pg.Pool({ ...PG, max: 1 })]
    const sessions = pools.map((pool) => new Session(pool, target, { ownsPool: true }))
    let attempts = 0
    let arrived = 0
    let bothLocked!: () => void
    const barrier = new Promise<void>((resolve) => {
      bothLocked = resolve
    })
    const bump = sql(`UPDATE "${schema}".t SET v = v + 1 WHERE k = $1`)
    // Each locks one row, waits for the other to lock the other row, then wants it: a deadlock.
    const crossing = (session: Session, first: number, second: number) =>
      session.transaction('crossing', async (db) => {
        attempts++
        await db.run(sql(`SET LOCAL deadlock_timeout = '20ms'`))
        await db.run(bump, [first])
        if (++arrived === 2) bothLocked()
        await barrier
        await db.run(bump, [second])
      })
    await Promise.all([crossing(sessions[0], 1, 2), crossing(sessions[1], 2, 1)])
    // At least one ran again; the rows below show each committed exactly once. Under heavy load
    // both backends can be chosen as deadlock victims and both run again (4 attempts, seen once).
    assert.ok(attempts >= 3, `ran ${attempts} times: a deadlock victim must run again`)
    const rows = await scratch.rows<{ v: number }>(`SELECT v FROM "${schema}".t ORDER BY k`)
    assert.deepEqual(
      rows.map((r) => r.v),
      [2, 2],
    )
    for (const session of sessions) await session.close()
  })
})
