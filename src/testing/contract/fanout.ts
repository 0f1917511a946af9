/** Contract cases: fan-out jobs, chunks and their rules. */
import assert from 'node:assert/strict'
import type { ChunkBuilder, FanoutJob, FanoutStart, Store } from '../../store/store.js'
import {
  activities,
  drain,
  flat,
  flatBuilder,
  flatNs,
  followerFeeds,
  groupBuilder,
  job,
  page,
  sk,
  type Test,
} from './fixtures.js'

export function fanoutTests(test: Test): void {
  const author = 'user:author'
  const follow = (store: Store, feeds: string[]) =>
    store.write({ follow: feeds.map((source) => ({ source, target: author })) })
  const start = (jobs: FanoutJob[], build = flatBuilder, chunkSize = 10): FanoutStart => ({
    jobs,
    build,
    chunkSize,
  })
  const holders = async (store: Store, feeds: string[], n = 1) => {
    const out: string[] = []
    for (const feed of feeds) {
      const entry = await store.getEntry(feed, sk(n))
      if (entry) {
        assert.equal(entry.origin, author)
        out.push(feed)
      }
    }
    return out
  }

  test('fans out the first chunk inside the write and persists the rest', async (store) => {
    const feeds = followerFeeds(25)
    await follow(store, feeds)
    const pending = await store.write(
      { activities: activities(1), add: [flat(author, 1)] },
      start([job('j1', author, 1)]),
    )
    assert.deepEqual(pending, [{ ...job('j1', author, 1), cursor: 'user:09' }])
    assert.deepEqual(await store.pendingFanout(), pending)
    assert.deepEqual(await holders(store, feeds), feeds.slice(0, 10))
    const second = await store.runFanout(pending[0], flatBuilder, 10)
    assert.deepEqual(second, { ...job('j1', author, 1), cursor: 'user:19' })
    assert.deepEqual(await store.pendingFanout(), [second])
    assert.deepEqual(await holders(store, feeds), feeds.slice(0, 20))
    assert.equal(await store.runFanout(second!, flatBuilder, 10), null)
    assert.deepEqual(await holders(store, feeds), feeds)
    assert.deepEqual(await store.pendingFanout(), [])
  })

  test('a chunk run twice delivers once', async (store) => {
    const feeds = followerFeeds(25, 'notification')
    await store.write({ follow: feeds.map((source) => ({ source, target: author })) })
    const [pending] = await store.write(
      { activities: activities(1) },
      start([job('j1', author, 1)], groupBuilder),
    )
    // Two workers holding the same job copy both run "its" next chunk.
    const a = await store.runFanout(pending, groupBuilder, 10)
    const b = await store.runFanout(pending, groupBuilder, 10)
    await drain(store, a, groupBuilder, 10)
    await drain(store, b, groupBuilder, 10)
    for (const feed of feeds) {
      const groups = await store.readGroups(feed, page(), 5)
      assert.deepEqual(
        groups.map((g) => [g.activity_count, g.actor_count, g.activities.length]),
        [[1, 1, 1]],
        feed,
      )
    }
    assert.deepEqual(await store.pendingFanout(), [])
  })

  test('a job with at most a chunk of followers ends inside the write', async (store) => {
    await follow(store, followerFeeds(3))
    assert.deepEqual(await store.write({ activities: activities(1) }, start([job('j1', author, 1)])), [])
    assert.deepEqual(
      await store.write({ activities: activities(2) }, start([job('j2', 'user:lonely', 2)])),
      [],
    )
    assert.deepEqual(await store.pendingFanout(), [])
    assert.deepEqual(await holders(store, followerFeeds(3)), followerFeeds(3))
    // Exactly one full chunk: pending until a run finds no follower left.
    await follow(store, followerFeeds(10))
    const [full] = await store.write({}, start([job('j3', author, 3)]))
    assert.equal(full.cursor, 'user:09')
    assert.equal(await store.runFanout(full, flatBuilder, 10), null)
    assert.deepEqual(await holders(store, followerFeeds(10), 3), followerFeeds(10))
  })

  test('sees the follows and unfollows of its own write', async (store) => {
    await follow(store, ['user:old', 'user:stay'])
    await store.write(
      {
        activities: activities(1),
        follow: [{ source: 'user:new', target: author }],
        unfollow: [{ source: 'user:old', target: author }],
      },
      start([job('j1', author, 1)]),
    )
    assert.deepEqual(await holders(store, ['user:new', 'user:old', 'user:stay']), ['user:new', 'user:stay'])
  })

  test('withdraws an activity with a remove job', async (store) => {
    const feeds = followerFeeds(25)
    await follow(store, feeds)
    const [added] = await store.write({ activities: activities(1) }, start([job('j1', author, 1)]))
    await drain(store, added, flatBuilder, 10)
    // A direct add of the same activity to a follower is not withdrawn (other origin).
    await store.write({ remove: [{ feed: 'user:05', sk: sk(1) }] })
    await store.write({ add: [flat('user:05', 1)] })
    const [removing] = await store.write({}, start([job('j2', author, 1, 'remove')]))
    await drain(store, removing, flatBuilder, 10)
    assert.deepEqual(await flatNs(store, 'user:04'), [])
    assert.deepEqual(await store.getEntry('user:05', sk(1)), { origin: null })
  })

  test('lists pending jobs oldest first', async (store) => {
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
      await store.write({ activities: activities(1) }, start([job(jobId, feed, 1)], flatBuilder, 1))
    }
    const ids = async () => (await store.pendingFanout()).map((j) => `${j.id}@${j.cursor}`)
    assert.deepEqual(await ids(), ['j1@user:a', 'j2@user:a', 'j3@user:a'])
    const j2 = (await store.pendingFanout())[1]
    await store.runFanout(j2, flatBuilder, 1)
    assert.deepEqual(await ids(), ['j1@user:a', 'j2@user:b', 'j3@user:a'])
  })

  test('runFanout starts a job that no write started', async (store) => {
    const feeds = followerFeeds(15)
    await follow(store, feeds)
    await store.write({ activities: activities(1) })
    const next = await store.runFanout(job('j1', author, 1), flatBuilder, 10)
    assert.deepEqual(next, { ...job('j1', author, 1), cursor: 'user:09' })
    assert.deepEqual(await store.pendingFanout(), [next])
    await drain(store, next, flatBuilder, 10)
    assert.deepEqual(await holders(store, feeds), feeds)
  })

  test('a failing chunk builder rolls the whole write back', async (store) => {
    await follow(store, ['user:f'])
    const failing: ChunkBuilder = () => {
      throw new Error('boom')
    }
    await assert.rejects(
      store.write(
        {
          activities: activities(1),
          add: [flat(author, 1)],
          follow: [{ source: 'user:g', target: author }],
        },
        start([job('j1', author, 1)], failing),
      ),
      /boom/,
    )
    assert.equal((await store.getActivities([sk(1)])).size, 0)
    assert.equal(await store.getEntry(author, sk(1)), undefined)
    assert.equal(await store.countFollows(author, 'followers'), 1)
    assert.deepEqual(await store.pendingFanout(), [])
  })

  // Proposed rules (see the SQLite store): the stored job row is the truth.
  test('starting a job cancels pending jobs for the same feed and activity', async (store) => {
    const feeds = followerFeeds(25)
    await follow(store, feeds)
    const [adding] = await store.write({ activities: activities(1) }, start([job('j1', author, 1)]))
    const [removing] = await store.write({}, start([job('j2', author, 1, 'remove')]))
    assert.deepEqual(
      (await store.pendingFanout()).map((j) => j.id),
      ['j2'],
    )
    // The cancelled add job does nothing more: it cannot resurrect what the remove withdraws.
    assert.equal(await store.runFanout(adding, flatBuilder, 10), null)
    await drain(store, removing, flatBuilder, 10)
    assert.deepEqual(await holders(store, feeds), [])
  })

  test('runFanout follows the stored cursor and ignores finished jobs', async (store) => {
    const feeds = followerFeeds(25)
    await follow(store, feeds)
    const [pending] = await store.write({ activities: activities(1) }, start([job('j1', author, 1)]))
    const advanced = await store.runFanout(pending, flatBuilder, 10)
    assert.equal(advanced?.cursor, 'user:19')
    // A stale copy (cursor user:09) runs the next chunk, not the one already done.
    assert.equal(await store.runFanout(pending, flatBuilder, 10), null)
    assert.deepEqual(await holders(store, feeds), feeds)
    await store.write({ remove: [{ feed: 'user:15', sk: sk(1) }] })
    assert.equal(await store.runFanout(pending, flatBuilder, 10), null)
    assert.equal(await store.getEntry('user:15', sk(1)), undefined)
  })
}
