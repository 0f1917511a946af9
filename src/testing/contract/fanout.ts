/** Contract cases: fan-out jobs, chunks, leases and their rules (store.ts rules 4–6). */
import assert from 'node:assert/strict'
import type { FanoutJob, Store } from '../../store/store.js'
import {
  activities,
  countsOf,
  drain,
  entryOf,
  flat,
  flatNs,
  followerFeeds,
  groupsOf,
  job,
  sk,
  type Test,
  until,
} from './fixtures.js'

export function fanoutTests(test: Test): void {
  const author = 'user:author'
  const follow = (store: Store, feeds: string[]) =>
    store.write({ follow: feeds.map((source) => ({ source, target: author })) })
  /** Accepts jobs as the engine does (activity and jobs in one write) and runs them to the end. */
  const accept = async (store: Store, jobs: FanoutJob[], chunkSize = 10, extra = {}) => {
    const pending = await store.write({ activities: activities(1), ...extra, fanout: jobs, chunkSize })
    for (const j of pending) await drain(store, j, chunkSize)
  }
  const holders = async (store: Store, feeds: string[], n = 1) => {
    const out: string[] = []
    for (const feed of feeds) {
      const entry = await entryOf(store, feed, n)
      if (entry) {
        assert.equal(entry.origin, author)
        out.push(feed)
      }
    }
    return out
  }
  const claimAll = (store: Store) => store.jobs.claimFanout({ limit: 100, leaseMs: 60_000 })

  test('delivers to every follower, chunk by chunk, and then forgets the job', async (store) => {
    const feeds = followerFeeds(25)
    await follow(store, feeds)
    const pending = await store.write({
      activities: activities(1),
      add: [flat(author, 1)],
      fanout: [job('j1', author, 1)],
      chunkSize: 10,
    })
    assert.ok(pending.length <= 1)
    let next: FanoutJob | null = pending[0] ?? null
    let chunks = 0
    while (next) {
      next = await store.jobs.runFanout(next, 10)
      chunks++
    }
    assert.ok(chunks >= 2 && chunks <= 3, `${chunks} chunks`)
    assert.deepEqual(await holders(store, feeds), feeds)
    assert.deepEqual(await claimAll(store), [])
  })

  test('a chunk run twice, or by two workers, delivers once', async (store) => {
    const feeds = followerFeeds(25, 'notification')
    await follow(store, feeds)
    const pending = await store.write({
      activities: activities(1),
      fanout: [job('j1', author, 1)],
      chunkSize: 10,
    })
    // Two workers holding the same copy of the job both run "its" next chunk, then go on.
    const copy = pending[0] ?? job('j1', author, 1)
    const [a, b] = [await store.jobs.runFanout(copy, 10), await store.jobs.runFanout(copy, 10)]
    await drain(store, a, 10)
    await drain(store, b, 10)
    for (const feed of feeds) {
      const groups = await groupsOf(store, feed, {}, 5)
      assert.deepEqual(
        groups.map((g) => [g.activityCount, g.actorCount, g.activities.length]),
        [[1, 1, 1]],
        feed,
      )
      assert.deepEqual(await countsOf(store, feed), { unseen: 1, unread: 1 })
    }
    assert.deepEqual(await claimAll(store), [])
  })

  test('uses each follower slug’s entry shape and skips slugs without one', async (store) => {
    await follow(store, ['user:a', 'notification:b', 'unknown:c'])
    await accept(store, [job('j1', author, 1)])
    assert.deepEqual(await flatNs(store, 'user:a'), [1])
    const [group] = await groupsOf(store, 'notification:b')
    assert.deepEqual([group.group, group.activityCount], ['g', 1])
    assert.equal(await entryOf(store, 'unknown:c', 1), undefined)
  })

  test('sees the follows and unfollows of its own write', async (store) => {
    await follow(store, ['user:old', 'user:stay'])
    await accept(store, [job('j1', author, 1)], 10, {
      follow: [{ source: 'user:new', target: author }],
      unfollow: [{ source: 'user:old', target: author }],
    })
    assert.deepEqual(await holders(store, ['user:new', 'user:old', 'user:stay']), ['user:new', 'user:stay'])
  })

  test('withdraws an activity with a remove job, leaving other origins', async (store) => {
    const feeds = followerFeeds(25)
    await follow(store, feeds)
    await accept(store, [job('j1', author, 1)])
    // A direct add of the same activity to a follower is not withdrawn (other origin).
    await store.write({ remove: [{ feed: 'user:05', sk: sk(1) }] })
    await store.write({ add: [flat('user:05', 1)] })
    await accept(store, [job('j2', author, 1, 'remove')])
    assert.deepEqual(await flatNs(store, 'user:04'), [])
    assert.deepEqual(await entryOf(store, 'user:05', 1), { origin: null })
  })

  test('claims free jobs oldest first, never twice while leased, again once the lease ends', async (store) => {
    await store.write({
      follow: ['user:a', 'user:b'].flatMap((source) =>
        ['user:x', 'user:y', 'user:z'].map((target) => ({ source, target })),
      ),
    })
    for (const [jobId, feed] of [
      ['j1', 'user:x'],
      ['j2', 'user:y'],
      ['j3', 'user:z'],
    ]) {
      // A writer that died at once: its lease ends immediately.
      await store.write({
        activities: activities(1),
        fanout: [job(jobId, feed, 1)],
        chunkSize: 1,
        leaseMs: 0,
      })
    }
    const first = await store.jobs.claimFanout({ limit: 2, leaseMs: 60_000 })
    assert.deepEqual(
      first.map((j) => j.id),
      ['j1', 'j2'],
    )
    const second = await store.jobs.claimFanout({ limit: 10, leaseMs: 100 })
    assert.deepEqual(
      second.map((j) => j.id),
      ['j3'],
    )
    assert.deepEqual(await store.jobs.claimFanout({ limit: 10, leaseMs: 60_000 }), [])
    // Once j3's 100 ms lease is over it comes back (claims before that find nothing); j1 and j2
    // are still held.
    const third = await until(
      () => store.jobs.claimFanout({ limit: 10, leaseMs: 60_000 }),
      (jobs) => jobs.length > 0,
    )
    assert.deepEqual(
      third.map((j) => [j.id, j.shapes !== undefined]),
      [['j3', true]],
    )
    for (const j of [...first, ...second]) await drain(store, j, 1)
    // Three jobs delivered the same activity to each follower: once.
    assert.deepEqual(await flatNs(store, 'user:a'), [1])
    assert.deepEqual(await flatNs(store, 'user:b'), [1])
    assert.deepEqual(await claimAll(store), [])
  })

  test('accepting a job again replaces it: the latest intent wins', async (store) => {
    const feeds = followerFeeds(25)
    await follow(store, feeds)
    const [adding] = await store.write({
      activities: activities(1),
      fanout: [job('j1', author, 1)],
      chunkSize: 10,
    })
    const [removing] = await store.write({
      fanout: [job('j2', author, 1, 'remove')],
      chunkSize: 10,
      leaseMs: 0,
    })
    assert.ok(adding && removing)
    assert.deepEqual(
      (await claimAll(store)).map((j) => j.id),
      ['j2'],
    )
    // The replaced add job does nothing more: it cannot bring back what the remove withdraws.
    assert.equal(await store.jobs.runFanout(adding, 10), null)
    await drain(store, removing, 10)
    assert.deepEqual(await holders(store, feeds), [])
  })

  test('runFanout follows the stored cursor and ignores finished jobs', async (store) => {
    const feeds = followerFeeds(35)
    await follow(store, feeds)
    const [pending] = await store.write({
      activities: activities(1),
      fanout: [job('j1', author, 1)],
      chunkSize: 10,
    })
    const advanced = await store.jobs.runFanout(pending, 10)
    assert.ok(advanced)
    // A stale copy runs the next chunk from the stored cursor, not one already done.
    const fromStale = await store.jobs.runFanout(pending, 10)
    assert.ok(typeof fromStale?.cursor === 'string' && typeof advanced.cursor === 'string')
    assert.ok(fromStale.cursor !== advanced.cursor && fromStale.cursor > advanced.cursor)
    await drain(store, fromStale, 10)
    assert.deepEqual(await holders(store, feeds), feeds)
    await store.write({ remove: [{ feed: 'user:15', sk: sk(1) }] })
    assert.equal(await store.jobs.runFanout(pending, 10), null)
    assert.equal(await entryOf(store, 'user:15', 1), undefined)
  })

  test('a job that is never run is still there for a claim, until done', async (store) => {
    const feeds = followerFeeds(15)
    await follow(store, feeds)
    await store.write({
      activities: activities(1),
      fanout: [job('j1', author, 1)],
      chunkSize: 10,
      leaseMs: 0,
    })
    const [claimed] = await claimAll(store)
    assert.equal(claimed?.id, 'j1')
    await drain(store, claimed, 10)
    assert.deepEqual(await holders(store, feeds), feeds)
    assert.deepEqual(await claimAll(store), [])
  })

  test('a failing write accepts no job', async (store) => {
    await follow(store, ['user:f'])
    await assert.rejects(
      store.write({
        expect: [{ sk: sk(1), body: 'not what is stored' }],
        activities: activities(1),
        add: [flat(author, 1)],
        fanout: [job('j1', author, 1)],
        chunkSize: 10,
        leaseMs: 0,
      }),
    )
    assert.equal((await store.activities.getActivities([sk(1)])).size, 0)
    assert.equal(await entryOf(store, 'user:f', 1), undefined)
    assert.deepEqual(await claimAll(store), [])
  })
}
