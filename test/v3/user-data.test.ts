/**
 * Feeds V3 ExportFeedUserData and DeleteFeedUserData through Stream's SDKs from npm, on every
 * store: one user's feeds, activities, follows, reactions, comments, bookmarks and folders,
 * gathered into (or deleted before) the task GetTask reads; only the app asks, and only for a user
 * that exists.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { raw, sign } from './attacker.js'
import { startV3, type V3Server, v3Stores } from './harness.js'

/** The export's parts these tests read. */
interface Exported {
  user: { id: string; name?: string }
  feeds: { feed: string; activities: { text?: string }[]; following: string[] }[]
  reactions: { kind: string; activity_id: string; data: { text?: string } }[]
  bookmark_folders: { name: string }[]
}

for (const store of await v3Stores('v3userdata')) {
  describe(`Feeds V3 user data export (${store.name})`, { skip: store.skip }, () => {
    let s: V3Server
    before(async () => {
      s = await startV3(store)
      await s.server.upsertUsers([
        { id: 'ud-ann', name: 'Ann' },
        { id: 'ud-bob', name: 'Bob' },
      ])
    })
    after(() => s.close())

    it("exports a user's feeds, follows, reactions, comments and bookmarks into the task's result", async () => {
      const ann = await s.connect('ud-ann')
      const bob = await s.connect('ud-bob')
      await ann.feed('user', 'ud-ann').getOrCreate({})
      await bob.feed('user', 'ud-bob').getOrCreate({})
      await ann.addActivity({ feeds: ['user:ud-ann'], type: 'post', text: 'ann writes' })
      const { activity } = await bob.addActivity({ feeds: ['user:ud-bob'], type: 'post', text: 'bob writes' })
      await s.server.feeds.follow({ source: 'timeline:ud-ann', target: 'user:ud-bob' })
      await ann.addComment({ object_id: activity.id, object_type: 'activity', comment: 'nice' })
      await ann.addActivityReaction({ activity_id: activity.id, type: 'like' })
      await ann.addBookmark({ activity_id: activity.id, new_folder: { name: 'keep' } })

      const { task_id } = await s.server.feeds.exportFeedUserData({ user_id: 'ud-ann' })
      const task = await s.server.getTask({ id: task_id })
      assert.equal(task.status, 'completed')
      const data = (task.result as { user_id: string; data: Exported }).data
      assert.equal(data.user.name, 'Ann')
      const feed = (fid: string) => data.feeds.find((f) => f.feed === fid)
      assert.deepEqual(
        feed('user:ud-ann')?.activities.map((a) => a.text),
        ['ann writes'],
      )
      assert.deepEqual(feed('timeline:ud-ann')?.following, ['user:ud-bob'])
      assert.equal(feed('user:ud-bob'), undefined, "another user's feed is not the user's data")
      assert.deepEqual(data.reactions.map((r) => r.kind).sort(), ['bookmark', 'comment', 'like'])
      assert.equal(data.reactions.find((r) => r.kind === 'comment')?.data.text, 'nice')
      assert.deepEqual(
        data.bookmark_folders.map((f) => f.name),
        ['keep'],
      )
    })

    it("deletes a user's feeds data: its activities (from followers too), follows, reactions and folders", async () => {
      await s.server.upsertUsers([{ id: 'ud-cy', name: 'Cy' }])
      const cy = await s.connect('ud-cy')
      const bob = await s.connect('ud-bob')
      await cy.feed('user', 'ud-cy').getOrCreate({})
      await bob.feed('user', 'ud-bob').getOrCreate({})
      await s.server.feeds.follow({ source: 'timeline:ud-bob', target: 'user:ud-cy' })
      await s.server.feeds.follow({ source: 'timeline:ud-cy', target: 'user:ud-bob' })
      await cy.addActivity({ feeds: ['user:ud-cy'], type: 'post', text: 'cy writes' })
      const { activity } = await bob.addActivity({ feeds: ['user:ud-bob'], type: 'post', text: 'bob again' })
      await cy.addComment({ object_id: activity.id, object_type: 'activity', comment: 'from cy' })
      await bob.addComment({ object_id: activity.id, object_type: 'activity', comment: 'from bob' })
      await cy.addActivityReaction({ activity_id: activity.id, type: 'like' })
      await cy.addBookmark({ activity_id: activity.id, new_folder: { name: 'cy-keep' } })
      const bobTimeline = async () =>
        (await bob.feed('timeline', 'ud-bob').getOrCreate({})).activities.map((a) => a.text)
      assert.ok((await bobTimeline()).includes('cy writes'))

      const { task_id } = await s.server.feeds.deleteFeedUserData({ user_id: 'ud-cy' })
      const task = await s.server.getTask({ id: task_id })
      assert.equal(task.status, 'completed')
      // Activities: Cy's post, and the two of Bob's that Cy's timeline held (they stay in Bob's feed).
      assert.deepEqual(task.result, {
        user_id: 'ud-cy',
        deleted: { reactions: 3, bookmark_folders: 1, activities: 3, follows: 2, feeds: 1 },
        complete: true,
      })
      // Cy's post left Bob's timeline with the follow; Bob's own things stay.
      assert.deepEqual(await bobTimeline(), [])
      const { comments } = await bob.getComments({ object_id: activity.id, object_type: 'activity' })
      assert.deepEqual(
        comments.map((c) => c.text),
        ['from bob'],
      )
      assert.equal((await bob.getActivity({ id: activity.id })).activity.text, 'bob again')
      const { follows } = await s.server.feeds.queryFollows({ filter: { target_feed: 'user:ud-cy' } })
      assert.deepEqual(follows, [])
      const exported = await s.server.feeds.exportFeedUserData({ user_id: 'ud-cy' })
      const left = (await s.server.getTask({ id: exported.task_id })).result as { data: Exported }
      assert.deepEqual(left.data.reactions, [])
      assert.deepEqual(left.data.bookmark_folders, [])
      assert.ok(left.data.feeds.every((f) => f.activities.length === 0 && f.following.length === 0))
    })

    it('exports and deletes only for the app, and only a user that exists', async () => {
      const asAnn = await raw(
        s,
        'POST',
        '/feeds/users/ud-ann/export',
        s.server.generateUserToken({ user_id: 'ud-ann' }),
        {},
      )
      assert.deepEqual([asAnn.status, asAnn.body.code], [403, 17])
      await assert.rejects(
        s.server.feeds.exportFeedUserData({ user_id: 'ud-nobody' }),
        /ud-nobody does not exist/,
      )
      const userToken = s.server.generateUserToken({ user_id: 'ud-ann' })
      for (const target of ['ud-bob', 'ud-ann']) {
        const r = await raw(s, 'POST', `/feeds/users/${target}/delete`, userToken, {})
        assert.deepEqual([r.status, r.body.code], [403, 17], `a user token deleting ${target}'s data`)
      }
      await assert.rejects(
        s.server.feeds.deleteFeedUserData({ user_id: 'ud-nobody' }),
        /ud-nobody does not exist/,
      )
      const bad = await raw(s, 'POST', '/feeds/users/ud-ann/delete', await sign({ server: true }), {
        hard_delete: 'yes',
      })
      assert.deepEqual([bad.status, bad.body.code], [400, 4])
      // Ann's data is untouched by all of it.
      const { task_id } = await s.server.feeds.exportFeedUserData({ user_id: 'ud-ann' })
      const data = ((await s.server.getTask({ id: task_id })).result as { data: Exported }).data
      assert.equal(data.reactions.length, 3)
    })
  })
}
