/** Contract cases: fan-out jobs that keep failing are set aside as dead and can be retried (rule 6). */
import assert from 'node:assert/strict'
import type { FanoutFailure, Store } from '../../store/store.js'
import { activities, drain, entryOf, job, type Test } from './fixtures.js'

export function deadJobTests(test: Test): void {
  const author = 'user:author'
  const failure = (reason: string, maxFailures = 2): FanoutFailure => ({ reason, maxFailures, retryMs: 0 })
  /** Accepts jobs unleased (as `localFanout: false` does), so any claim takes them. */
  const accept = (store: Store, ...jobs: ReturnType<typeof job>[]) =>
    store.write({ activities: activities(1, 2), fanout: jobs, leaseMs: 0 })
  const claimIds = async (store: Store) =>
    (await store.jobs.claimFanout({ limit: 100, leaseMs: 60_000 })).map((j) => j.id).sort()
  const setUp = async (store: Store) => {
    await store.write({ follow: [{ source: 'timeline:f', target: author }] })
    await store.write({ follow: [{ source: 'timeline:f', target: 'user:other' }] })
  }

  test('a job that fails maxFailures times is dead: with its reason, never claimed, counted', async (store) => {
    await setUp(store)
    const bad = job('bad', author, 1)
    const good = job('good', 'user:other', 2)
    await accept(store, bad, good)
    assert.deepEqual(await claimIds(store), ['bad', 'good'])
    assert.equal(await store.jobs.failFanout(bad, failure('boom 1')), 'retry')
    // A failure hands the job back after retryMs (0 here); the other job stays leased.
    assert.deepEqual(await claimIds(store), ['bad'])
    assert.equal(await store.jobs.failFanout(bad, failure('boom 2')), 'dead')
    assert.deepEqual(await claimIds(store), [])
    const dead = await store.jobs.deadFanout(10)
    assert.equal(dead.total, 1)
    assert.equal(dead.jobs.length, 1)
    const [row] = dead.jobs
    assert.deepEqual(
      { id: row.id, op: row.op, feed: row.feed, sk: row.sk, failures: row.failures, reason: row.reason },
      { id: 'bad', op: 'add', feed: author, sk: bad.sk, failures: 2, reason: 'boom 2' },
    )
    assert.ok(Math.abs(Date.parse(row.failedAt) - Date.now()) < 60_000, row.failedAt)
    assert.deepEqual((await store.jobs.deadFanout(0)).jobs, [])
    assert.equal((await store.jobs.deadFanout(0)).total, 1)
    // The other job still runs to the end.
    await drain(store, good, 10)
    assert.ok(await entryOf(store, 'timeline:f', 2))
  })

  test('retryFanout puts dead jobs back, failures forgotten; a new intent replaces a dead job', async (store) => {
    await setUp(store)
    const a = job('a', author, 1)
    const b = job('b', 'user:other', 2)
    await accept(store, a, b)
    for (const j of [a, b]) assert.equal(await store.jobs.failFanout(j, failure('x', 1)), 'dead')
    assert.equal(await store.jobs.retryFanout(['a', 'nope']), 1)
    assert.deepEqual(await claimIds(store), ['a'])
    assert.deepEqual(
      (await store.jobs.deadFanout(10)).jobs.map((j) => j.id),
      ['b'],
    )
    // Failures start over: one failure of two is not dead.
    assert.equal(await store.jobs.failFanout(a, failure('again', 2)), 'retry')
    assert.equal(await store.jobs.retryFanout('all'), 1)
    assert.equal((await store.jobs.deadFanout(10)).total, 0)
    assert.equal(await store.jobs.retryFanout('all'), 0)
    await drain(store, b, 10)
    assert.ok(await entryOf(store, 'timeline:f', 2))
    // A job accepted again for a dead job's (feed, sk) replaces it and starts with no failures.
    assert.equal(await store.jobs.failFanout(a, failure('x', 1)), 'dead')
    await store.write({ fanout: [job('a2', author, 1)], leaseMs: 0 })
    assert.equal((await store.jobs.deadFanout(10)).total, 0)
    assert.deepEqual(await claimIds(store), ['a2'])
  })

  test('failures count in a row: a chunk that commits starts the count over', async (store) => {
    await store.write({
      follow: ['timeline:f1', 'timeline:f2', 'timeline:f3'].map((source) => ({ source, target: author })),
    })
    const a = job('a', author, 1)
    await accept(store, a)
    assert.equal(await store.jobs.failFanout(a, failure('once', 2)), 'retry')
    const next = await store.jobs.runFanout(a, 1)
    assert.ok(next, 'one of three followers: the job goes on')
    assert.equal(await store.jobs.failFanout(next, failure('again', 2)), 'retry')
    assert.equal(await store.jobs.failFanout(next, failure('twice in a row', 2)), 'dead')
    assert.equal((await store.jobs.deadFanout(1)).jobs[0]?.reason, 'twice in a row')
  })

  test('failFanout leaves a finished or superseded job alone', async (store) => {
    await setUp(store)
    const a = job('a', author, 1)
    await accept(store, a)
    await store.write({ fanout: [job('a2', author, 1)], leaseMs: 0 })
    assert.equal(await store.jobs.failFanout(a, failure('late', 1)), 'gone')
    await drain(store, job('a2', author, 1), 10)
    assert.equal(await store.jobs.failFanout(job('a2', author, 1), failure('late', 1)), 'gone')
    assert.equal((await store.jobs.deadFanout(10)).total, 0)
  })
}
