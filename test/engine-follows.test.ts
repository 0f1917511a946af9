import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { connect, type EddyClient, openStore } from '../src/client/client.js'
import { RuntimeStorage } from '../src/engine/runtime-storage.js'
import { openSqliteStore } from '../src/store/sqlite/index.js'
import { at, open, rejection, STORES } from './helpers.js'

async function seed(client: EddyClient, user: string, count: number): Promise<void> {
  const activities = Array.from({ length: count }, (_, i) => ({
    actor: user,
    verb: 'post',
    object: `${user}:${i}`,
    time: at(i),
  }))
  for (let i = 0; i < activities.length; i += 100)
    await client.feed('user', user).addActivities(activities.slice(i, i + 100))
}

const objects = (r: { results: unknown[] }) => r.results.map((a) => (a as { object: string }).object)

for (const store of STORES) {
  describe(`${store.name}: follows and fan-out`, () => {
    let client: EddyClient
    before(() => {
      client = open(store)
    })
    after(() => client.close())

    it('fans a new activity out to direct followers only, not their followers', async () => {
      await client.feed('timeline', 'f1').follow('user', 'star')
      await client.feed('timeline', 'f2').follow('user', 'star')
      await client.feed('user', 'f1').follow('user', 'star')
      await client.feed('timeline', 'f3').follow('user', 'f1')
      await client.feed('user', 'star').addActivity({ actor: 'star', verb: 'post', object: 'p:1' })
      await client.flush()
      assert.deepEqual(objects(await client.feed('timeline', 'f1').get()), ['p:1'])
      assert.deepEqual(objects(await client.feed('timeline', 'f2').get()), ['p:1'])
      assert.deepEqual(objects(await client.feed('user', 'f1').get()), ['p:1'])
      assert.deepEqual(objects(await client.feed('timeline', 'f3').get()), [])
    })

    it('copies the newest 100 activities on follow by default, `limit` of them when given, none for 0', async () => {
      await seed(client, 'copy', 120)
      await client.feed('timeline', 'c-default').follow('user', 'copy')
      await client.feed('timeline', 'c-3').follow('user', 'copy', { limit: 3 })
      await client.feed('timeline', 'c-0').follow('user', 'copy', { limit: 0 })
      await client.feed('timeline', 'c-500').follow('user', 'copy', { limit: 500 })
      assert.equal((await client.feed('timeline', 'c-default').get({ limit: 100 })).results.length, 100)
      assert.deepEqual(objects(await client.feed('timeline', 'c-3').get()), [
        'copy:119',
        'copy:118',
        'copy:117',
      ])
      assert.equal((await client.feed('timeline', 'c-0').get()).results.length, 0)
      assert.equal(
        (await client.feed('timeline', 'c-500').get({ limit: 100, offset: 100 })).results.length,
        20,
      )
      const copied = (await client.feed('timeline', 'c-3').get()).results[0] as { origin: string }
      assert.equal(copied.origin, 'user:copy')
    })

    it('rejects bad follows: copy limit out of range, non-flat targets, self-follow, bad ids', async () => {
      const feed = client.feed('timeline', 'bad-f')
      assert.match(
        (await rejection(feed.follow('user', 'x', { limit: 1001 }))).detail,
        /activity_copy_limit must be an integer from 0 to 1000/,
      )
      assert.equal((await rejection(feed.follow('user', 'x', { limit: -1 }))).code, 4)
      assert.match(
        (await rejection(feed.follow('timeline_aggregated', 'x'))).detail,
        /only flat feeds can be followed/,
      )
      assert.match((await rejection(feed.follow('timeline', 'bad-f'))).detail, /cannot follow itself/)
      assert.equal((await rejection(feed.follow('nope', 'x'))).code, 6)
      assert.equal((await rejection(feed.follow('user', 'a b'))).code, 4)
      assert.equal((await feed.following()).results.length, 0)
    })

    it('unfollow removes the target activities unless keepHistory', async () => {
      await seed(client, 'uf', 3)
      await client.feed('user', 'uf-own').addActivity({ actor: 'me', verb: 'post', object: 'mine' })
      await client.feed('timeline', 'uf-a').follow('user', 'uf')
      await client.feed('timeline', 'uf-b').follow('user', 'uf')
      await client.feed('timeline', 'uf-a').follow('user', 'uf-own')
      await client.feed('timeline', 'uf-a').unfollow('user', 'uf')
      await client.feed('timeline', 'uf-b').unfollow('user', 'uf', { keepHistory: true })
      assert.deepEqual(objects(await client.feed('timeline', 'uf-a').get()), ['mine'])
      assert.equal((await client.feed('timeline', 'uf-b').get()).results.length, 3)
      await client.feed('user', 'uf').addActivity({ actor: 'uf', verb: 'post', object: 'after' })
      await client.flush()
      assert.equal((await client.feed('timeline', 'uf-b').get()).results.length, 3)
    })

    it('lists followers and following newest first, with limit, offset and filter', async () => {
      for (const who of ['l1', 'l2', 'l3']) await client.feed('timeline', who).follow('user', 'listed')
      await client.feed('timeline', 'l1').follow('user', 'other')
      const followers = await client.feed('user', 'listed').followers()
      assert.deepEqual(
        followers.results.map((r) => r.feed_id),
        ['timeline:l3', 'timeline:l2', 'timeline:l1'],
      )
      assert.equal(followers.results[0].target_id, 'user:listed')
      assert.match(followers.results[0].created_at, /^\d{4}-\d\d-\d\dT/)
      const page = await client.feed('user', 'listed').followers({ limit: 1, offset: 1 })
      assert.deepEqual(
        page.results.map((r) => r.feed_id),
        ['timeline:l2'],
      )
      const following = await client
        .feed('timeline', 'l1')
        .following({ filter: ['user:other', 'user:nobody'] })
      assert.deepEqual(
        following.results.map((r) => r.target_id),
        ['user:other'],
      )
      assert.equal((await rejection(client.feed('timeline', 'l1').following({ filter: ['bad'] }))).code, 4)
      assert.equal((await rejection(client.feed('timeline', 'l1').following({ limit: 501 }))).code, 4)
    })

    it('counts follows, optionally by slug', async () => {
      await client.feed('timeline', 's1').follow('user', 'stats')
      await client.feed('notification', 's2').follow('user', 'stats')
      await client.feed('timeline', 'stats').follow('user', 's1')
      const all = await client.feed('user', 'stats').followStats()
      assert.deepEqual(all.results, {
        followers: { feed: 'user:stats', count: 2 },
        following: { feed: 'user:stats', count: 0 },
      })
      const some = await client.feed('user', 'stats').followStats({ followerSlugs: ['timeline'] })
      assert.equal(some.results.followers.count, 1)
      assert.equal((await client.feed('timeline', 'stats').followStats()).results.following.count, 1)
      // A slug no group uses counts 0, as on the server (the official client's own tests rely on it);
      // a name that cannot be a slug at all is bad input.
      const unknown = await client.feed('user', 'stats').followStats({ followerSlugs: ['timeline', 'news'] })
      assert.equal(unknown.results.followers.count, 1)
      assert.equal(
        (await rejection(client.feed('user', 'stats').followStats({ followerSlugs: ['no:pe'] }))).code,
        4,
      )
    })

    it('follows and unfollows many at once, with a copy limit', async () => {
      await seed(client, 'fm', 30)
      await client.followMany(
        [
          { source: 'timeline:fm-1', target: 'user:fm' },
          { source: 'timeline:fm-2', target: 'user:fm' },
        ],
        25,
      )
      assert.equal((await client.feed('timeline', 'fm-1').get({ limit: 100 })).results.length, 25)
      await client.unfollowMany([
        { source: 'timeline:fm-1', target: 'user:fm' },
        { source: 'timeline:fm-2', target: 'user:fm', keep_history: true },
      ])
      assert.equal((await client.feed('timeline', 'fm-1').get()).results.length, 0)
      assert.equal((await client.feed('timeline', 'fm-2').get({ limit: 100 })).results.length, 25)
      assert.equal(
        (await rejection(client.followMany([{ source: 'timeline:x', target: 3 as never }]))).code,
        4,
      )
      assert.equal(
        (
          await rejection(
            client.unfollowMany([{ source: 'timeline:x', target: 'user:y', keep_history: 'yes' as never }]),
          )
        ).code,
        4,
      )
      assert.equal((await rejection(client.followMany([], 1001))).code, 4)
    })

    it('delivers to thousands of followers across fan-out chunks, each exactly once', async () => {
      const chunkedStore = new RuntimeStorage(openStore(store.spec()))
      const chunked = connect({ store: chunkedStore, fanoutChunkSize: 100 })
      try {
        const follows = Array.from({ length: 1050 }, (_, i) => ({
          source: `timeline:big-${i}`,
          target: 'user:big',
        }))
        follows.push(
          ...Array.from({ length: 50 }, (_, i) => ({
            source: `timeline_aggregated:big-${i}`,
            target: 'user:big',
          })),
        )
        for (let i = 0; i < follows.length; i += 500) await chunked.followMany(follows.slice(i, i + 500), 0)
        const added = await chunked
          .feed('user', 'big')
          .addActivity({ actor: 'big', verb: 'post', object: 'x' })
        await chunked.flush()
        for (const i of [0, 99, 100, 555, 1049]) {
          const { results } = await chunked.feed('timeline', `big-${i}`).get()
          assert.deepEqual(
            results.map((r) => (r as { id: string }).id),
            [added.id],
          )
        }
        const agg = (await chunked.feed('timeline_aggregated', 'big-49').get()) as {
          results: { activity_count: number }[]
        }
        assert.equal(agg.results[0].activity_count, 1)
        await chunked.feed('user', 'big').removeActivity(added.id)
        await chunked.flush()
        assert.equal((await chunked.feed('timeline', 'big-1049').get()).results.length, 0)
        assert.equal((await chunked.feed('timeline_aggregated', 'big-0').get()).results.length, 0)
        // Nothing left for any process to claim.
        assert.deepEqual(await chunkedStore.jobs.claimFanout({ limit: 10, leaseMs: 1 }), [])
      } finally {
        await chunked.close()
      }
    })
  })
}

describe('fan-out failures', () => {
  it('reports a failed chunk at flush, keeps the job, and delivers exactly once on retry', async () => {
    const store = openSqliteStore(':memory:')
    // A short lease: the failed job is claimable again soon after the failure.
    const client = connect({ store, fanoutChunkSize: 10, fanoutLeaseMs: 50 })
    try {
      await client.followMany(
        Array.from({ length: 35 }, (_, i) => ({ source: `timeline:r${i}`, target: 'user:retry' })),
        0,
      )
      const run = store.jobs.runFanout.bind(store.jobs)
      let calls = 0
      store.jobs.runFanout = async (job, size) => {
        if (++calls === 2) throw new Error('disk hiccup')
        return run(job, size)
      }
      const added = await client.feed('user', 'retry').addActivity({ actor: 'a', verb: 'v', object: 'o' })
      await assert.rejects(client.flush(), /disk hiccup/)
      await new Promise((resolve) => setTimeout(resolve, 60))
      await client.engine.resume()
      await client.flush()
      for (let i = 0; i < 35; i++) {
        const { results } = await client.feed('timeline', `r${i}`).get()
        assert.deepEqual(
          results.map((a) => (a as { id: string }).id),
          [added.id],
          `timeline:r${i}`,
        )
      }
      assert.deepEqual(await store.jobs.claimFanout({ limit: 10, leaseMs: 1 }), [])
    } finally {
      await client.close()
    }
  })
})
