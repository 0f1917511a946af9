/**
 * Feeds V3 batches through Stream's SDKs on every store: CreateFeedsBatch (the app, or a user
 * creating its own feeds), DeleteFeedsBatch and UnfollowBatch (the app's), each checked whole
 * before anything is written, bounded, and refused to a user token where the spec says so.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { SignJWT } from 'jose'
import { KEY, SECRET, startV3, type V3Server, v3Stores } from './harness.js'

/** Stream's error of `code` (4 bad input, 16 not found, 17 not allowed). */
const code = (n: number) => (err: Error) => new RegExp(`error code ${n}\\b`).test(err.message)

const userToken = (id: string) =>
  new SignJWT({ user_id: id }).setProtectedHeader({ alg: 'HS256' }).sign(new TextEncoder().encode(SECRET))

for (const store of await v3Stores('v3batches')) {
  describe(`Feeds V3 feed batches (${store.name})`, { skip: store.skip }, () => {
    let s: V3Server
    let call: (method: string, path: string, token: string, body?: unknown) => Promise<{ status: number }>
    before(async () => {
      s = await startV3(store)
      await s.server.upsertUsers([{ id: 'ann' }, { id: 'bob' }, { id: 'cat' }, { id: 'dan' }])
      call = async (method, path, token, body) => {
        const url = `${s.base}/api/v2${path}${path.includes('?') ? '&' : '?'}api_key=${KEY}`
        const response = await fetch(url, {
          method,
          headers: { authorization: token, 'stream-auth-type': 'jwt', 'content-type': 'application/json' },
          body: body === undefined ? undefined : JSON.stringify(body),
        })
        await response.body?.cancel()
        return { status: response.status }
      }
    })
    after(() => s.close())

    /** Whether a feed has V3 data that is not deleted. */
    const exists = async (fid: string) => {
      const { feeds } = await s.server.feeds.queryFeeds({ filter: { feed: fid } })
      return feeds.length === 1 && feeds[0].deleted_at === undefined
    }

    it('the app creates feeds in a batch: data, owners, members; feeds that exist come back as they are', async () => {
      await s.server.feeds.feed('user', 'ann').getOrCreate({ user_id: 'ann', data: { name: 'Ann' } })
      const { feeds } = await s.server.feeds.createFeedsBatch({
        feeds: [
          { feed_group_id: 'user', feed_id: 'ann', name: 'ignored: it exists' },
          { feed_group_id: 'user', feed_id: 'bob', name: 'Bob', visibility: 'followers', custom: { a: 1 } },
          { feed_group_id: 'timeline', feed_id: 'team', created_by_id: 'ann', members: [{ user_id: 'bob' }] },
        ],
      })
      assert.deepEqual(
        feeds.map((f) => [f.feed, f.name, f.created_by.id]),
        [
          ['user:ann', 'Ann', 'ann'],
          ['user:bob', 'Bob', 'bob'],
          ['timeline:team', '', 'ann'],
        ],
      )
      assert.equal(feeds[1].visibility, 'followers')
      assert.deepEqual(feeds[1].custom, { a: 1 })
      assert.equal(feeds[2].member_count, 1)
      // The same engine feeds V1 writes to.
      await s.eddy.feed('user', 'bob').addActivity({ actor: 'SU:bob', verb: 'post', object: 'x' })
      const read = await s.server.feeds.feed('user', 'bob').getOrCreate({ user_id: 'bob' })
      assert.equal(read.activities.length, 1)
    })

    it('a user token creates its own feeds, never as another user nor another’s feed', async () => {
      const cat = await s.connect('cat')
      const { feeds } = await cat.createFeedsBatch({
        feeds: [
          { feed_group_id: 'user', feed_id: 'cat', name: 'Cat' },
          { feed_group_id: 'timeline', feed_id: 'cat-club' },
        ],
      })
      assert.deepEqual(
        feeds.map((f) => f.created_by.id),
        ['cat', 'cat'],
      )
      await s.server.feeds
        .feed('user', 'dan')
        .getOrCreate({ user_id: 'dan', data: { visibility: 'private' } })
      await s.eddy.feed('timeline', 'dan').addActivity({ actor: 'SU:dan', verb: 'post', object: 'x' })
      const cases = [
        // As another user.
        [{ feed_group_id: 'timeline', feed_id: 'cat-2', created_by_id: 'dan' }],
        // Another user's private feed: not even read back.
        [{ feed_group_id: 'user', feed_id: 'dan' }],
        // A feed the engine holds for dan (V1 wrote to it).
        [{ feed_group_id: 'timeline', feed_id: 'dan' }],
        // One bad entry stops the whole batch, the good one included.
        [
          { feed_group_id: 'timeline', feed_id: 'cat-3' },
          { feed_group_id: 'timeline', feed_id: 'cat-4', created_by_id: 'dan' },
        ],
      ]
      for (const batch of cases) await assert.rejects(cat.createFeedsBatch({ feeds: batch }), code(17))
      for (const fid of ['timeline:cat-2', 'timeline:dan', 'timeline:cat-3', 'timeline:cat-4'])
        assert.equal(await exists(fid), false, fid)
      const anonymous = await fetch(`${s.base}/api/v2/feeds/feeds/batch?api_key=${KEY}`, {
        method: 'POST',
        headers: { 'stream-auth-type': 'anonymous', 'content-type': 'application/json' },
        body: JSON.stringify({ feeds: [{ feed_group_id: 'user', feed_id: 'anon' }] }),
      })
      assert.equal(anonymous.status, 403)
    })

    it('bounds a creation batch: at most 100 feeds, each once, in groups that exist', async () => {
      const many = Array.from({ length: 101 }, (_, i) => ({ feed_group_id: 'user', feed_id: `many-${i}` }))
      await assert.rejects(s.server.feeds.createFeedsBatch({ feeds: many }), code(4))
      await assert.rejects(s.server.feeds.createFeedsBatch({ feeds: [] }), code(4))
      const twice = [
        { feed_group_id: 'user', feed_id: 'twice' },
        { feed_group_id: 'user', feed_id: 'twice' },
      ]
      await assert.rejects(s.server.feeds.createFeedsBatch({ feeds: twice }), code(4))
      const unknown = [
        { feed_group_id: 'user', feed_id: 'first' },
        { feed_group_id: 'nope', feed_id: 'x' },
      ]
      await assert.rejects(s.server.feeds.createFeedsBatch({ feeds: unknown }), code(4))
      await assert.rejects(
        s.server.feeds.createFeedsBatch({ feeds: [{ feed_group_id: 'user', feed_id: 'bad id!' }] }),
        code(4),
      )
      for (const fid of ['user:many-0', 'user:twice', 'user:first'])
        assert.equal(await exists(fid), false, fid)
    })

    it('deletes feeds in a batch only when every one exists, and only for the app', async () => {
      await s.server.feeds.createFeedsBatch({
        feeds: ['d1', 'd2', 'd3'].map((id) => ({ feed_group_id: 'user', feed_id: id })),
      })
      await assert.rejects(
        s.server.feeds.deleteFeedsBatch({ feeds: ['user:d1', 'user:never-made'] }),
        code(16),
      )
      assert.equal(await exists('user:d1'), true)
      const d1 = await userToken('d1')
      assert.equal((await call('POST', '/feeds/feeds/delete', d1, { feeds: ['user:d1'] })).status, 403)
      await assert.rejects(s.server.feeds.deleteFeedsBatch({ feeds: ['user:d1', 'user:d1'] }), code(4))
      await assert.rejects(
        s.server.feeds.deleteFeedsBatch({ feeds: ['user:d1'], hard_delete: true }),
        /not supported/,
      )
      const tooMany = Array.from({ length: 101 }, (_, i) => `user:d${i}`)
      await assert.rejects(s.server.feeds.deleteFeedsBatch({ feeds: tooMany }), code(4))
      assert.equal(await exists('user:d1'), true)

      const { task_id } = await s.server.feeds.deleteFeedsBatch({ feeds: ['user:d1', 'user:d2'] })
      assert.equal(await exists('user:d1'), false)
      assert.equal(await exists('user:d2'), false)
      assert.equal(await exists('user:d3'), true)
      const task = await s.server.getTask({ id: task_id })
      assert.equal(task.status, 'completed')
    })

    it('unfollows in a batch (requests too): every pair must be followed; the app only; bounded', async () => {
      await s.server.feeds.follow({ source: 'timeline:ann', target: 'user:bob' })
      await s.server.feeds.follow({ source: 'timeline:ann', target: 'user:cat' })
      const pairs = [
        { source: 'timeline:ann', target: 'user:bob' },
        { source: 'timeline:ann', target: 'user:cat' },
      ]
      await assert.rejects(
        s.server.feeds.unfollowBatch({ follows: [...pairs, { source: 'timeline:ann', target: 'user:dan' }] }),
        code(16),
      )
      const ann = await userToken('ann')
      assert.equal((await call('POST', '/feeds/unfollow/batch', ann, { follows: pairs })).status, 403)
      await assert.rejects(s.server.feeds.unfollowBatch({ follows: [pairs[0], pairs[0]] }), code(4))
      const tooMany = Array.from({ length: 101 }, (_, i) => ({
        source: 'timeline:ann',
        target: `user:u${i}`,
      }))
      await assert.rejects(s.server.feeds.unfollowBatch({ follows: tooMany }), code(4))
      const following = async () =>
        (await s.eddy.feed('timeline', 'ann').following()).results.map((r) => r.target_id).sort()
      // user:bob is a followers feed: its follow is a request, which the batch withdraws too.
      assert.deepEqual(await following(), ['user:cat'])

      const { follows } = await s.server.feeds.unfollowBatch({ follows: pairs })
      assert.deepEqual(
        follows.map((f) => [f.target_feed.feed, f.status]),
        [
          ['user:bob', 'pending'],
          ['user:cat', 'accepted'],
        ],
      )
      assert.deepEqual(await following(), [])
      const { follows: left } = await s.server.feeds.queryFollows({
        filter: {
          source_feed: 'timeline:ann',
          target_feed: { $in: ['user:bob'] },
          status: { $in: ['pending'] },
        },
      })
      assert.deepEqual(left, [])
    })
  })
}
