/**
 * Feeds V3 feed groups and visibility levels through @stream-io/node-sdk on every store: list,
 * create, update, soft delete and restore (the same groups V1 sees), the fixed visibility levels
 * with their grants, and what a user token may not do (every one of these is the app's).
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { SignJWT } from 'jose'
import { KEY, SECRET, startV3, type V3Server, v3Stores } from './harness.js'

/** Stream's error of `code` (4 bad input, 16 not found, 17 not allowed, 22 conflict). */
const code = (n: number) => (err: Error) => new RegExp(`error code ${n}\\b`).test(err.message)

const userToken = (id: string) =>
  new SignJWT({ user_id: id }).setProtectedHeader({ alg: 'HS256' }).sign(new TextEncoder().encode(SECRET))

for (const store of await v3Stores('v3groups')) {
  describe(`Feeds V3 feed groups (${store.name})`, { skip: store.skip }, () => {
    let s: V3Server
    let call: (method: string, path: string, token: string, body?: unknown) => Promise<{ status: number }>
    before(async () => {
      s = await startV3(store)
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

    it('lists the configured groups and created ones; CreateFeedGroup refuses a name that exists', async () => {
      const { feed_group } = await s.server.feeds.createFeedGroup({
        id: 'digest',
        aggregation: { format: '{{ type }}' },
        default_visibility: 'followers',
        custom: { purpose: 'weekly' },
      })
      assert.equal(feed_group.id, 'digest')
      assert.equal(feed_group.aggregation?.format, '{{ type }}')
      assert.equal(feed_group.default_visibility, 'followers')
      const { groups } = await s.server.feeds.listFeedGroups()
      for (const id of ['user', 'timeline', 'notification', 'digest']) assert.equal(groups[id]?.id, id, id)
      assert.deepEqual(groups.digest.custom, { purpose: 'weekly' })
      await assert.rejects(s.server.feeds.createFeedGroup({ id: 'digest' }), code(22))
      await assert.rejects(s.server.feeds.createFeedGroup({ id: 'user' }), code(22))
      const again = await s.server.feeds.getOrCreateFeedGroup({ id: 'digest' })
      assert.equal(again.was_created, false)
      // The engine's group: V1 writes to its feeds and groups them by its format.
      await s.eddy.feed('digest' as never, 'ann').addActivity({ actor: 'SU:ann', verb: 'post', object: 'x' })
      assert.equal((await s.eddy.feed('digest' as never, 'ann').get()).results.length, 1)
    })

    it('updates a group’s settings; new feeds start with its visibility; its aggregation is fixed', async () => {
      await s.server.feeds.createFeedGroup({ id: 'journal', default_visibility: 'public' })
      const { feed_group } = await s.server.feeds.updateFeedGroup({
        id: 'journal',
        default_visibility: 'private',
        custom: { theme: 'dark' },
      })
      assert.equal(feed_group.default_visibility, 'private')
      assert.deepEqual(feed_group.custom, { theme: 'dark' })
      // Settings not named stay.
      await s.server.feeds.updateFeedGroup({ id: 'journal', custom: { theme: 'light' } })
      const { feed_group: got } = await s.server.feeds.getFeedGroup({ id: 'journal' })
      assert.equal(got.default_visibility, 'private')
      assert.deepEqual(got.custom, { theme: 'light' })
      const ann = await s.connect('ann')
      const made = await ann.feed('journal', 'ann').getOrCreate()
      assert.equal(made.feed.visibility, 'private')
      await assert.rejects(
        s.server.feeds.updateFeedGroup({ id: 'journal', aggregation: { format: '{{ type }}' } }),
        code(4),
      )
      await assert.rejects(
        s.server.feeds.updateFeedGroup({ id: 'journal', default_visibility: 'open' as never }),
        code(4),
      )
      await assert.rejects(s.server.feeds.updateFeedGroup({ id: 'no-such-group', custom: {} }), code(16))
    })

    it('soft-deletes a group: gone for V1 and V3, listed only with include_soft_deleted, restored with its feeds', async () => {
      await s.server.feeds.createFeedGroup({ id: 'clubs' })
      const bo = await s.connect('bo')
      await bo.feed('clubs', 'chess').getOrCreate({ data: { name: 'Chess' } })
      const { activity } = await bo.addActivity({ feeds: ['clubs:chess'], type: 'post', text: 'e4' })
      await s.server.feeds.deleteFeedGroup({ id: 'clubs' })

      assert.equal((await s.server.feeds.listFeedGroups()).groups.clubs, undefined)
      const listed = await s.server.feeds.listFeedGroups({ include_soft_deleted: true })
      assert.ok(listed.groups.clubs?.deleted_at instanceof Date)
      await assert.rejects(s.server.feeds.getFeedGroup({ id: 'clubs' }), code(16))
      const kept = await s.server.feeds.getFeedGroup({ id: 'clubs', include_soft_deleted: true })
      assert.ok(kept.feed_group.deleted_at instanceof Date)
      await assert.rejects(bo.feed('clubs', 'chess').getOrCreate(), /was deleted/)
      await assert.rejects(() => s.eddy.feed('clubs' as never, 'chess').get())
      // Deleted names are restored, not made again; deleting twice finds nothing.
      await assert.rejects(s.server.feeds.createFeedGroup({ id: 'clubs' }), code(4))
      await assert.rejects(s.server.feeds.deleteFeedGroup({ id: 'clubs' }), code(16))

      const { feed_group } = await s.server.feeds.restoreFeedGroup({ feed_group_id: 'clubs' })
      assert.equal(feed_group.deleted_at, undefined)
      const back = await bo.feed('clubs', 'chess').getOrCreate()
      assert.equal(back.feed.name, 'Chess')
      assert.deepEqual(
        back.activities.map((a) => a.id),
        [activity.id],
      )
    })

    it('keeps configured groups and refuses hard deletion', async () => {
      await assert.rejects(s.server.feeds.deleteFeedGroup({ id: 'user' }), code(4))
      await s.server.feeds.createFeedGroup({ id: 'scratch' })
      await assert.rejects(
        s.server.feeds.deleteFeedGroup({ id: 'scratch', hard_delete: true }),
        /not supported/,
      )
      assert.equal((await s.server.feeds.getFeedGroup({ id: 'scratch' })).feed_group.id, 'scratch')
      await assert.rejects(s.server.feeds.deleteFeedGroup({ id: 'never-made' }), code(16))
    })

    it('lists the five visibility levels with the grants Eddy’s rule gives each role', async () => {
      const { feed_visibilities } = await s.server.feeds.listFeedVisibilities()
      assert.deepEqual(Object.keys(feed_visibilities).sort(), [
        'followers',
        'members',
        'private',
        'public',
        'visible',
      ])
      const grants = (level: string) => feed_visibilities[level].grants
      assert.ok(grants('public').user.includes('add-activity'))
      assert.ok(!grants('visible').user.includes('add-activity'))
      assert.ok(grants('visible').user.includes('read-activities'))
      assert.ok(grants('visible').anonymous.includes('read-activities'))
      assert.ok(!grants('followers').user.includes('read-activities'))
      assert.ok(grants('followers').feed_follower.includes('read-activities'))
      assert.ok(!grants('members').feed_follower.includes('read-activities'))
      assert.ok(grants('members').feed_member.includes('add-activity'))
      assert.ok(!grants('private').user.includes('follow'))
      assert.ok(grants('private').feed_owner.includes('update-feed'))
      const pinner = feed_visibilities.public.permissions.find((p) => p.id === 'pin-activity')
      assert.equal(pinner?.owner, true)
      const { feed_visibility } = await s.server.feeds.getFeedVisibility({ name: 'followers' })
      assert.deepEqual(feed_visibility, feed_visibilities.followers)
      await assert.rejects(s.server.feeds.getFeedVisibility({ name: 'secret' }), code(16))
      // The levels are Eddy's rule, not settings.
      await assert.rejects(
        s.server.feeds.updateFeedVisibility({ name: 'public', grants: { user: [] } }),
        /not supported/,
      )
    })

    it('refuses every feed group and visibility call made with a user token, changing nothing', async () => {
      await s.server.feeds.createFeedGroup({ id: 'guarded', custom: { v: 1 } })
      const mallory = await userToken('mallory')
      const attempts = [
        ['GET', '/feeds/feed_groups'],
        ['POST', '/feeds/feed_groups', { id: 'mine' }],
        ['POST', '/feeds/feed_groups/mine2', {}],
        ['GET', '/feeds/feed_groups/guarded'],
        ['PUT', '/feeds/feed_groups/guarded', { custom: { v: 2 } }],
        ['DELETE', '/feeds/feed_groups/guarded'],
        ['POST', '/feeds/feed_groups/guarded/restore'],
        ['GET', '/feeds/feed_visibilities'],
        ['GET', '/feeds/feed_visibilities/public'],
      ] as const
      for (const [method, path, body] of attempts)
        assert.equal((await call(method, path, mallory, body)).status, 403, `${method} ${path}`)
      const { groups } = await s.server.feeds.listFeedGroups()
      assert.deepEqual(groups.guarded.custom, { v: 1 })
      assert.equal(groups.mine, undefined)
      assert.equal(groups.mine2, undefined)
    })

    it('bounds what a group holds: its id, custom data and the engine settings it cannot keep', async () => {
      await assert.rejects(s.server.feeds.createFeedGroup({ id: 'bad id' }), code(4))
      await assert.rejects(s.server.feeds.createFeedGroup({ id: 'x'.repeat(300) }), code(4))
      await assert.rejects(
        s.server.feeds.createFeedGroup({
          id: 'huge',
          custom: { many: Array.from({ length: 20_000 }, () => 1) },
        }),
        code(4),
      )
      await assert.rejects(
        s.server.feeds.createFeedGroup({ id: 'ranked', ranking: { type: 'expression', score: 'x' } }),
        /not supported/,
      )
      const { groups } = await s.server.feeds.listFeedGroups()
      for (const id of ['huge', 'ranked']) assert.equal(groups[id], undefined, id)
    })
  })
}
