/**
 * Group commit on PostgreSQL (`WriteBatch.groupCommit`): plain writes issued in one turn of the
 * event loop share one transaction and one COMMIT, each resolves with its own jobs once that
 * commit is done, and a write that cannot be applied fails alone while the others commit. The
 * contract holds with every write asking for it, on a pool that does not pipeline (so the
 * statement-by-statement path is covered too). Commits are counted from the statements sent.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import pg from 'pg'
import type { PostgresStore } from '../src/store/postgres/index.js'
import { openPostgresStore } from '../src/store/postgres/index.js'
import type { FanoutJob, Store, WriteBatch } from '../src/store/store.js'
import { runStoreContract, sk } from '../src/testing/store-contract.js'
import { PG, postgresUnavailable, ScratchSchemas } from './fixtures/postgres-store.js'

const skip = await postgresUnavailable()
const scratch = new ScratchSchemas('pggroup')
after(() => scratch.drop())

/** A store whose every write asks for group commit: the whole contract must still hold. */
function grouped(store: PostgresStore): Store {
  const write = store.write.bind(store)
  store.write = (batch) => write({ ...batch, groupCommit: true })
  return store
}

const contractSchema = scratch.name()
const plainPool = new pg.Pool({ ...PG, max: 4 })
after(() => plainPool.end())

if (skip) {
  it('PostgreSQL group commit', { skip }, () => undefined)
} else {
  runStoreContract({
    name: 'postgres, unpipelined pool, every write group-committed',
    create: async () => {
      const store = await openPostgresStore(plainPool, { schema: contractSchema })
      await scratch.empty(contractSchema)
      return grouped(store)
    },
  })
}

const add = (n: number, feed = 'user:a'): WriteBatch => ({
  groupCommit: true,
  activities: [{ sk: sk(n), body: JSON.stringify({ n }) }],
  add: [{ feed, kind: 'flat', sk: sk(n), origin: null }],
  fanout: [{ id: `j${n}`, op: 'add', feed, sk: sk(n), cursor: null, shapes: { timeline: { kind: 'flat' } } }],
})

describe('postgres store: group commit', { skip }, () => {
  let store: PostgresStore
  let sent: string[] = []
  before(async () => {
    store = await scratch.open(scratch.name(), { onQuery: (text) => sent.push(text.trim().split(/\s+/)[0]) })
  })
  after(() => store.close())

  it('commits 16 concurrent adds in one transaction, each resolving with its own job', async () => {
    // Half of the feeds have a follower; the jobs of the others end right after the commit.
    await store.write({
      follow: Array.from({ length: 8 }, (_, i) => ({ source: 'timeline:x', target: `user:g${i}` })),
    })
    sent = []
    const jobs = await Promise.all(Array.from({ length: 16 }, (_, i) => store.write(add(i, `user:g${i}`))))
    assert.equal(sent.filter((s) => s === 'COMMIT').length, 1)
    assert.deepEqual(
      jobs.map((j) => j.map((x) => [x.id, x.feed, x.cursor])),
      Array.from({ length: 16 }, (_, i) => (i < 8 ? [[`j${i}`, `user:g${i}`, null]] : [])),
    )
    const rows = await scratch.rows<{ n: string }>(
      `SELECT count(*) AS n FROM "${store.session.target.schema}".entries WHERE feed LIKE 'user:g%'`,
    )
    assert.equal(rows[0].n, '16')
    for (const [job] of jobs.slice(0, 8)) assert.equal(await store.jobs.runFanout(job, 100), null)
    const timeline = await store.timelines.readFlat('timeline:x', { limit: 20, offset: 0 })
    assert.equal(timeline.length, 8)
  })

  it('fails a write that cannot be applied alone, and commits the others', async () => {
    const bad = add(100, 'user:bad')
    ;(bad.fanout as FanoutJob[])[0].op = 'bogus' as FanoutJob['op']
    const outcomes = await Promise.allSettled([
      store.write(add(101, 'user:ok1')),
      store.write(bad),
      store.write(add(102, 'user:ok2')),
    ])
    assert.deepEqual(
      outcomes.map((o) => o.status),
      ['fulfilled', 'rejected', 'fulfilled'],
    )
    const page = async (feed: string) =>
      (await store.timelines.readFlat(feed, { limit: 5, offset: 0 })).length
    assert.deepEqual([await page('user:ok1'), await page('user:bad'), await page('user:ok2')], [1, 0, 1])
  })

  it('lets a later write of the same job win, as one after another would', async () => {
    await store.write({ follow: [{ source: 'timeline:y', target: 'user:same' }] })
    const first = add(200, 'user:same')
    const second = add(200, 'user:same')
    ;(second.fanout as FanoutJob[])[0].id = 'j200b'
    const [a, [b]] = await Promise.all([store.write(first), store.write(second)])
    // The first caller's job was replaced by the second's: nothing of it is left to run.
    assert.deepEqual(a, [])
    const rows = await scratch.rows<{ id: string }>(
      `SELECT id FROM "${store.session.target.schema}".fanout_jobs WHERE feed = 'user:same'`,
    )
    assert.deepEqual(rows, [{ id: 'j200b' }])
    assert.equal(await store.jobs.runFanout(b, 100), null)
  })
})
