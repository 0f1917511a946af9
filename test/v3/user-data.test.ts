/**
 * Feeds V3 ExportFeedUserData through Stream's SDKs from npm, on every store: one user's feeds,
 * activities, follows, reactions, comments, bookmarks and folders, gathered into the task GetTask
 * reads; only the app asks, and only for a user that exists.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { raw } from './attacker.js'
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

    it('exports only for the app, and only a user that exists', async () => {
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
    })
  })
}
