/**
 * Feeds V3 reactions, comments (threads) and bookmarks through @stream-io/feeds-client and
 * node-sdk against `eddy serve`'s app, on every store; V1 sees the same reactions.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { startV3, type V3Server, v3Stores } from './harness.js'

for (const store of await v3Stores('v3react')) {
  describe(`Feeds V3 reactions, comments, bookmarks (${store.name})`, { skip: store.skip }, () => {
    let s: V3Server
    let activityId: string
    before(async () => {
      s = await startV3(store)
      await s.server.feeds.feed('user', 'gus').getOrCreate({ user_id: 'gus' })
      const { activity } = await s.server.feeds.addActivity({
        user_id: 'gus',
        feeds: ['user:gus'],
        type: 'post',
        text: 'hi',
      })
      activityId = activity.id
    })
    after(() => s.close())

    it('adds and removes reactions on an activity; counts, latest and own reactions show on reads', async () => {
      const hal = await s.connect('hal')
      const added = await hal.addActivityReaction({ activity_id: activityId, type: 'like', custom: { x: 1 } })
      assert.equal(added.reaction.type, 'like')
      assert.equal(added.reaction.user.id, 'hal')
      assert.equal(added.activity.reaction_count, 1)
      assert.equal(added.activity.reaction_groups.like?.count, 1)
      const { activity } = await hal.getActivity({ id: activityId })
      assert.deepEqual(
        activity.own_reactions.map((r) => r.type),
        ['like'],
      )
      await hal.deleteActivityReaction({ activity_id: activityId, type: 'like' })
      assert.equal((await hal.getActivity({ id: activityId })).activity.reaction_count, 0)
    })

    it('threads comments: replies, counts, reactions on comments, edits and deletes', async () => {
      const ida = await s.connect('ida')
      const { comment } = await ida.addComment({
        object_id: activityId,
        object_type: 'activity',
        comment: 'first!',
      })
      assert.equal(comment.text, 'first!')
      const { comment: reply } = await ida.addComment({
        object_id: activityId,
        object_type: 'activity',
        parent_id: comment.id,
        comment: 'a reply',
      })
      assert.equal(reply.parent_id, comment.id)
      await ida.addCommentReaction({ id: comment.id, type: 'heart' })
      const { comments } = await ida.getComments({ object_id: activityId, object_type: 'activity', depth: 1 })
      assert.equal(comments.length, 1)
      assert.equal(comments[0].reply_count, 1)
      assert.equal(comments[0].replies?.[0]?.text, 'a reply')
      assert.equal(comments[0].reaction_groups?.heart?.count, 1)
      const { activity } = await ida.getActivity({ id: activityId })
      assert.equal(activity.comment_count, 1)
      await ida.updateComment({ id: comment.id, comment: 'edited' })
      assert.equal((await ida.getComment({ id: comment.id })).comment.text, 'edited')
      // Another user may not edit or delete it.
      const joe = await s.connect('joe')
      await assert.rejects(joe.updateComment({ id: comment.id, comment: 'pwned' }), /403|17/)
      await assert.rejects(joe.deleteComment({ id: comment.id }), /403|17/)
      await ida.deleteComment({ id: comment.id })
      assert.equal(
        (await ida.getComments({ object_id: activityId, object_type: 'activity' })).comments.length,
        0,
      )
    })

    it('bookmarks an activity once, shows it as own_bookmarks, and removes it', async () => {
      const kit = await s.connect('kit')
      const { bookmark } = await kit.addBookmark({ activity_id: activityId, custom: { note: 'later' } })
      assert.equal(bookmark.activity.id, activityId)
      await assert.rejects(kit.addBookmark({ activity_id: activityId }), /400|4/)
      const { activity } = await kit.getActivity({ id: activityId })
      assert.equal(activity.own_bookmarks.length, 1)
      assert.equal(activity.bookmark_count, 1)
      await kit.deleteBookmark({ activity_id: activityId })
      assert.equal((await kit.getActivity({ id: activityId })).activity.own_bookmarks.length, 0)
    })

    it('V1 sees V3 comments as reactions of kind comment', async () => {
      const lee = await s.connect('lee')
      await lee.addComment({ object_id: activityId, object_type: 'activity', comment: 'seen by v1' })
      const page = await s.eddy.reactions.filter({ activity_id: activityId, kind: 'comment' })
      assert.ok(page.results.some((r) => r.data.text === 'seen by v1' && r.user_id === 'lee'))
    })

    it('attack: many concurrent adds of one type by one user leave exactly one reaction', async () => {
      const { activity } = await s.server.feeds.addActivity({
        user_id: 'gus',
        feeds: ['user:gus'],
        type: 'post',
      })
      const max = await s.connect('max')
      const adds = Array.from({ length: 20 }, () =>
        max.addActivityReaction({ activity_id: activity.id, type: 'like' }),
      )
      const answers = await Promise.all(adds)
      assert.ok(answers.every((a) => a.reaction.type === 'like'))
      const read = (await max.getActivity({ id: activity.id })).activity
      assert.equal(read.reaction_count, 1)
      assert.equal(read.reaction_groups.like?.count, 1)
      const page = await s.eddy.reactions.filter({ activity_id: activity.id, kind: 'like' })
      assert.equal(page.results.length, 1)
    })

    it('attack: concurrent enforce_unique adds of different types leave exactly one reaction', async () => {
      const { activity } = await s.server.feeds.addActivity({
        user_id: 'gus',
        feeds: ['user:gus'],
        type: 'post',
      })
      const ned = await s.connect('ned')
      const types = ['like', 'love', 'wow', 'sad']
      await Promise.all(
        types.flatMap((type) =>
          [1, 2].map(() => ned.addActivityReaction({ activity_id: activity.id, type, enforce_unique: true })),
        ),
      )
      const read = (await ned.getActivity({ id: activity.id })).activity
      assert.equal(read.reaction_count, 1)
      assert.equal(read.own_reactions.length, 1)
      assert.equal(
        Object.values(read.reaction_groups).reduce((n, g) => n + g.count, 0),
        1,
      )
    })

    it('enforce_unique replaces every other type of the user, past the newest 25, and keeps comments', async () => {
      const { activity } = await s.server.feeds.addActivity({
        user_id: 'gus',
        feeds: ['user:gus'],
        type: 'post',
      })
      const ora = await s.connect('ora')
      for (let i = 0; i < 30; i++) await ora.addActivityReaction({ activity_id: activity.id, type: `t${i}` })
      await ora.addComment({ object_id: activity.id, object_type: 'activity', comment: 'stays' })
      const before = await s.eddy.reactions.filter({ activity_id: activity.id, limit: 25 })
      assert.equal(before.results.length, 25)
      assert.ok(before.next, 'more than a page of reactions')
      const { reaction } = await ora.addActivityReaction({
        activity_id: activity.id,
        type: 'star',
        custom: { v: 1 },
        enforce_unique: true,
      })
      assert.deepEqual(reaction.custom, { v: 1 })
      const read = (await ora.getActivity({ id: activity.id })).activity
      assert.equal(read.reaction_count, 1)
      assert.deepEqual(Object.keys(read.reaction_groups), ['star'])
      assert.equal(read.comment_count, 1)
      const after = await s.eddy.reactions.filter({ activity_id: activity.id, limit: 25 })
      assert.deepEqual(after.results.map((r) => r.kind).sort(), ['comment', 'star'])
      // Again with enforce_unique: the same reaction, its custom data replaced.
      const again = await ora.addActivityReaction({
        activity_id: activity.id,
        type: 'star',
        custom: { v: 2 },
        enforce_unique: true,
      })
      assert.deepEqual(again.reaction.custom, { v: 2 })
      assert.equal((await ora.getActivity({ id: activity.id })).activity.reaction_count, 1)
    })

    it('comment reactions are one per user and type too, and queried per comment', async () => {
      const pia = await s.connect('pia')
      const { comment } = await pia.addComment({
        object_id: activityId,
        object_type: 'activity',
        comment: 'c',
      })
      await Promise.all([1, 2, 3, 4, 5].map(() => pia.addCommentReaction({ id: comment.id, type: 'upvote' })))
      const { reactions } = await pia.queryCommentReactions({
        id: comment.id,
        filter: { reaction_type: 'upvote' },
      })
      assert.equal(reactions.length, 1)
      assert.equal((await pia.getComment({ id: comment.id })).comment.upvote_count, 1)
      await pia.deleteCommentReaction({ id: comment.id, type: 'upvote' })
      assert.equal((await pia.getComment({ id: comment.id })).comment.upvote_count, 0)
    })
  })
}
