/**
 * The PostgreSQL store under concurrency: two stores (two pools, as two processes would have)
 * on one schema, racing for jobs, chunks, expected bodies and group counters. Deterministic
 * interleavings come from a table lock held by the test, never from sleeps.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import type { PostgresStore } from '../src/store/postgres/index.js'
import { type EntryWrite, type FanoutJob, WriteConflict } from '../src/store/store.js'
import { sk } from '../src/testing/store-contract.js'
import { eventually, postgresUnavailable, ScratchSchemas } from './fixtures/postgres-store.js'
import { must } from './helpers.js'

const skip = await postgresUnavailable()
const scratch = new ScratchSchemas('pgconc')
after(() => scratch.drop())

const body = (n: number, text = `{"n":${n}}`) => ({ sk: sk(n), body: text })
const followers = (n: number) =>
  Array.from({ length: n }, (_, i) => `notification:${String(i).padStart(3, '0')}`)
const job = (id: string, feed: string, n: number): FanoutJob => ({
  id,
  op: 'add',
  feed,
  sk: sk(n),
  shapes: { notification: { kind: 'notification', group: 'g', actor: 'a', groupId: `group-${n}` } },
  cursor: null,
})

describe('postgres store: two processes', { skip }, () => {
  let schema: string
  let a: PostgresStore
  let b: PostgresStore
  before(async () => {
    schema = scratch.name()
    ;[a, b] = await Promise.all([scratch.open(schema, { max: 4 }), scratch.open(schema, { max: 4 })])
  })
  after(async () => {
    await a.close()
    await b.close()
  })
  const count = async (sql: string, values: unknown[] = []) =>
    (await scratch.rows<{ n: number }>(sql.replaceAll('$S', `"${schema}"`), values))[0].n

  /** Every group counter, bound and unseen/unread count recomputed from the entries: [] when exact. */
  async function drift(): Promise<unknown[]> {
    return scratch.rows(
      `SELECT 'group' AS what, g.feed, g.grp FROM $S.feed_groups AS g CROSS JOIN LATERAL (
         SELECT count(*) AS n, count(DISTINCT actor) AS actors, min(sk) AS first, max(sk) AS last
         FROM $S.entries AS e WHERE e.feed = g.feed AND e.grp = g.grp) AS x
       WHERE g.activity_count <> x.n OR g.actor_count <> x.actors OR g.first_sk <> x.first OR g.last_sk <> x.last
       UNION ALL SELECT 'orphan entry', e.feed, e.grp FROM $S.entries AS e
       WHERE e.grp IS NOT NULL AND NOT EXISTS (SELECT 1 FROM $S.feed_groups AS g WHERE g.feed = e.feed AND g.grp = e.grp)
       UNION ALL SELECT 'actor', a.feed, a.grp FROM $S.group_actors AS a
       WHERE a.n <> (SELECT count(*) FROM $S.entries AS e WHERE e.feed = a.feed AND e.grp = a.grp AND e.actor = a.actor)
       UNION ALL SELECT 'counts', c.feed, '' FROM $S.feed_counts AS c
       WHERE c.unseen <> (SELECT count(*) FROM $S.feed_groups AS g WHERE g.feed = c.feed AND NOT g.is_seen)
          OR c.unread <> (SELECT count(*) FROM $S.feed_groups AS g WHERE g.feed = c.feed AND NOT g.is_read)`.replaceAll(
        '$S',
        `"${schema}"`,
      ),
    )
  }

  it('claims each job once across two pools while leased, and again once the lease ends', async () => {
    const author = 'user:claims'
    await a.write({ follow: [{ source: 'notification:x', target: author }] })
    const jobs = Array.from({ length: 40 }, (_, i) => job(`c${i}`, author, 100 + i))
    // Writers that died at once: leases that end immediately.
    await a.write({ fanout: jobs.slice(0, 20), leaseMs: 0 })
    await b.write({ fanout: jobs.slice(20), leaseMs: 0 })
    const claims = await Promise.all(
      Array.from({ length: 8 }, (_, i) => (i % 2 ? a : b).jobs.claimFanout({ limit: 7, leaseMs: 60_000 })),
    )
    const ids = claims.flat().map((j) => j.id)
    assert.equal(ids.length, 40)
    assert.equal(new Set(ids).size, 40)
    assert.deepEqual(await a.jobs.claimFanout({ limit: 100, leaseMs: 60_000 }), [])
    // A worker that dies holding a 1 ms lease: the job comes back to the other process.
    const [short] = await a.write({ fanout: [job('short', author, 200)], leaseMs: 0 })
    assert.deepEqual(
      (await a.jobs.claimFanout({ limit: 10, leaseMs: 1 })).map((j) => j.id),
      [short.id],
    )
    let again: FanoutJob[] = []
    await eventually(async () => {
      again = await b.jobs.claimFanout({ limit: 10, leaseMs: 60_000 })
      return again.length > 0
    }, 'the 1 ms lease ends')
    assert.deepEqual(
      again.map((j) => [j.id, j.cursor, j.shapes?.notification.groupId]),
      [['short', null, 'group-200']],
    )
  })

  it('hands out jobs oldest first, and a job accepted again goes to the end of the queue', async () => {
    const author = 'user:queue'
    // A follower, so the jobs wait to be claimed (a feed's jobs without followers end at commit).
    await a.write({ follow: [{ source: 'timeline:queue', target: author }] })
    for (const n of [1, 2, 3]) await a.write({ fanout: [job(`q${n}`, author, 400 + n)], leaseMs: 0 })
    assert.deepEqual(
      (await b.jobs.claimFanout({ limit: 2, leaseMs: 60_000 })).map((j) => j.id),
      ['q1', 'q2'],
    )
    // q1 accepted again (a later intent): new id, reset cursor, back of the queue, lease ended.
    await a.write({ fanout: [job('q1-again', author, 401)], leaseMs: 0 })
    assert.deepEqual(
      (await a.jobs.claimFanout({ limit: 10, leaseMs: 60_000 })).map((j) => [j.id, j.cursor]),
      [
        ['q3', null],
        ['q1-again', null],
      ],
    )
  })

  it('delivers to each follower exactly once when two pools run one job at the same time', async () => {
    const author = 'user:racing'
    const feeds = followers(120)
    await a.write({ follow: feeds.map((source) => ({ source, target: author })) })
    const [accepted] = await a.write({ activities: [body(1)], fanout: [job('race', author, 1)] })
    const drain = async (store: PostgresStore) => {
      let next: FanoutJob | null = accepted
      let chunks = 0
      while (next) {
        next = await store.jobs.runFanout(next, 7)
        chunks++
      }
      return chunks
    }
    const chunks = await Promise.all([drain(a), drain(b), drain(a), drain(b)])
    assert.ok(chunks.reduce((x, y) => x + y) >= 18, 'every chunk ran, some by each worker')
    assert.equal(await count(`SELECT count(*)::int AS n FROM $S.entries WHERE sk = $1`, [sk(1)]), 120)
    assert.equal(
      await count(
        `SELECT count(*)::int AS n FROM $S.feed_groups WHERE grp = 'g' AND activity_count = 1 AND actor_count = 1`,
      ),
      120,
    )
    assert.equal(await count(`SELECT count(*)::int AS n FROM $S.fanout_jobs WHERE id = 'race'`), 0)
    assert.deepEqual(await drift(), [])
  })

  it('lets exactly one of two pools win an optimistic update, and one create an activity', async () => {
    await a.write({ activities: [body(50, '{"v":1}')] })
    const update = (store: PostgresStore, v: number) =>
      store.write({ expect: [{ sk: sk(50), body: '{"v":1}' }], activities: [body(50, `{"v":${v}}`)] })
    for (let round = 0; round < 5; round++) {
      await a.write({ activities: [body(50, '{"v":1}')] })
      const results = await Promise.allSettled([update(a, 2), update(b, 3), update(a, 4), update(b, 5)])
      const won = results.filter((r) => r.status === 'fulfilled')
      assert.equal(won.length, 1, `round ${round}`)
      for (const r of results) if (r.status === 'rejected') assert.ok(r.reason instanceof WriteConflict)
    }
    const create = (store: PostgresStore, v: number) =>
      store.write({ expect: [{ sk: sk(51), body: null }], activities: [body(51, `{"v":${v}}`)] })
    const results = await Promise.allSettled([create(a, 1), create(b, 2), create(a, 3)])
    assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1)
    const stored = must((await b.activities.getActivities([sk(51)])).get(sk(51)), 'the stored activity').body
    const winner = results.findIndex((r) => r.status === 'fulfilled')
    assert.equal(stored, `{"v":${[1, 2, 3][winner]}}`)
  })

  it('keeps group counters exact under concurrent adds, removes and marks from two pools', async () => {
    const feeds = ['notification:c1', 'notification:c2', 'notification:c3']
    const entry = (feed: string, n: number): EntryWrite => ({
      feed,
      kind: 'notification',
      sk: sk(300 + n),
      origin: null,
      group: `g${n % 4}`,
      actor: `u${n % 3}`,
      groupId: `id${n}`,
    })
    const work: Promise<unknown>[] = []
    for (let n = 0; n < 60; n++) {
      const store = n % 2 ? a : b
      // Feeds in a different order per write, so lock order is up to the store.
      const order = n % 3 ? feeds : [...feeds].reverse()
      work.push(store.write({ add: order.map((feed) => entry(feed, n)) }))
      if (n % 5 === 4)
        work.push(store.write({ remove: order.map((feed) => ({ feed, sk: sk(300 + n - 2) })) }))
      if (n % 7 === 6) {
        work.push(
          store.timelines.readGroups(order[0], { limit: 2, offset: 0 }, 1, {
            counts: true,
            seen: true,
            read: true,
          }),
        )
      }
    }
    await Promise.all(work)
    assert.deepEqual(await drift(), [])
    const [group] = (await a.timelines.readGroups('notification:c1', { limit: 1, offset: 0 }, 3)).groups
    assert.ok(group.activityCount > 0)
  })

  it('makes an unfollow wait for a fan-out chunk to its follower, then remove what the chunk wrote', async () => {
    const author = 'user:leaving'
    const feed = 'notification:leaver'
    await a.write({ follow: [{ source: feed, target: author }] })
    const [accepted] = await a.write({ activities: [body(60)], fanout: [job('leave', author, 60)] })
    // The chunk holds the author's edges and reads its follower, then waits at the entries table.
    const blocker = await scratch.admin.connect()
    await blocker.query('BEGIN')
    await blocker.query(`LOCK TABLE "${schema}".entries IN EXCLUSIVE MODE`)
    const chunk = a.jobs.runFanout(accepted, 10)
    await eventually(
      async () =>
        (await count(
          `SELECT count(*)::int AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%INSERT INTO "${schema}".entries%'`,
        )) > 0,
      'the chunk waits for the entries table',
    )
    const unfollow = b.write({
      unfollow: [{ source: feed, target: author }],
      removeByOrigin: [{ feed, origin: author }],
    })
    await eventually(
      async () =>
        (await count(
          `SELECT count(*)::int AS n FROM pg_stat_activity WHERE wait_event = 'advisory' AND query LIKE '%pg_advisory_xact_lock(%'`,
        )) > 0,
      'the unfollow waits for the chunk’s hold on the edge',
    )
    await blocker.query('ROLLBACK')
    blocker.release()
    assert.equal(await chunk, null)
    await unfollow
    assert.equal((await a.timelines.getEntries(feed, [sk(60)])).size, 0)
    assert.deepEqual(
      (await a.timelines.readGroups(feed, { limit: 5, offset: 0 }, 1, { counts: true })).groups,
      [],
    )
    assert.deepEqual(await drift(), [])
  })
})
