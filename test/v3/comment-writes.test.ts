/**
 * Feeds V3 comment writes beyond add/update/delete, through Stream's SDKs on every store:
 * UpdateCommentPartial (set and unset, custom.<name> paths), AddCommentsBatch (all or none,
 * bounded) and comment bookmarks (folders, QueryBookmarks shows the comment). Attacks: another
 * user's comment, writing as another user, prototype paths, oversize batches, another user's folder.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { raw, sign } from './attacker.js'
import { startV3, type V3Server, v3Stores } from './harness.js'

/** Stream's error of `code` (4 bad input, 16 not found, 17 not allowed). */
const code = (n: number) => (err: Error) => new RegExp(`error code ${n}\\b`).test(err.message)

for (const store of await v3Stores('v3cw')) {
  describe(`Feeds V3 comment writes (${store.name})`, { skip: store.skip }, () => {
    let s: V3Server
    let postId: string
    before(async () => {
      s = await startV3(store)
      await s.server.feeds.feed('user', 'cw-amy').getOrCreate({ user_id: 'cw-amy' })
      const { activity } = await s.server.feeds.addActivity({
        user_id: 'cw-amy',
        feeds: ['user:cw-amy'],
        type: 'post',
        text: 'hello',
      })
      postId = activity.id
    })
    after(() => s.close())

    it('UpdateCommentPartial sets and unsets fields and custom paths of its own comment', async () => {
      const bob = await s.connect('cw-bob')
      const { comment } = await bob.addComment({
        object_id: postId,
        object_type: 'activity',
        comment: 'first',
        custom: { mood: 'happy', topic: 'cats' },
      })
      const { comment: changed } = await bob.updateCommentPartial({
        id: comment.id,
        set: { text: 'second', 'custom.mood': 'calm', attachments: [{ type: 'image', image_url: 'x.png' }] },
        unset: ['custom.topic'],
      })
      assert.equal(changed.text, 'second')
      assert.deepEqual(changed.custom, { mood: 'calm' })
      assert.equal(changed.attachments?.length, 1)
      assert.ok(changed.edited_at)
      const { comment: read } = await bob.getComment({ id: comment.id })
      assert.deepEqual(read.custom, { mood: 'calm' })
      const { comment: bare } = await bob.updateCommentPartial({ id: comment.id, unset: ['attachments'] })
      assert.equal(bare.attachments, undefined)
      assert.equal(bare.text, 'second')
    })

    it("refuses another user's comment, unknown fields and prototype paths", async () => {
      const bob = await s.connect('cw-bob')
      const { comment } = await bob.addComment({
        object_id: postId,
        object_type: 'activity',
        comment: 'mine',
      })
      const eve = await s.connect('cw-eve')
      await assert.rejects(eve.updateCommentPartial({ id: comment.id, set: { text: 'pwned' } }), code(17))
      await assert.rejects(bob.updateCommentPartial({ id: comment.id, set: { user_id: 'cw-eve' } }), code(4))
      await assert.rejects(bob.updateCommentPartial({ id: comment.id, unset: ['text'] }), code(4))
      const token = await sign({ user_id: 'cw-bob' })
      for (const body of [
        { set: { 'custom.__proto__.polluted': true } },
        { set: { 'custom.constructor.prototype.polluted': true } },
        { unset: ['custom.__proto__'] },
        JSON.parse('{"set": {"__proto__": {"polluted": true}}}'),
      ]) {
        const answer = await raw(s, 'POST', `/feeds/comments/${comment.id}/partial`, token, body)
        assert.equal(answer.status, 400, JSON.stringify(body))
      }
      assert.equal(({} as Record<string, unknown>).polluted, undefined)
      const { comment: read } = await bob.getComment({ id: comment.id })
      assert.equal(read.text, 'mine')
      // The app changes anyone's comment.
      const { comment: moderated } = await s.server.feeds.updateCommentPartial({
        id: comment.id,
        set: { text: 'moderated' },
      })
      assert.equal(moderated.text, 'moderated')
    })

    it('AddCommentsBatch adds every comment, replies included, or none', async () => {
      const { comment: root } = await s.server.feeds.addComment({
        object_id: postId,
        object_type: 'activity',
        comment: 'root',
        user_id: 'cw-amy',
      })
      const { comments } = await s.server.feeds.addCommentsBatch({
        comments: [
          { object_id: postId, object_type: 'activity', comment: 'one', user_id: 'cw-amy' },
          { parent_id: root.id, comment: 'reply', user_id: 'cw-bob' },
        ],
      })
      assert.deepEqual(
        comments.map((c) => [c.text, c.user.id, c.parent_id]),
        [
          ['one', 'cw-amy', undefined],
          ['reply', 'cw-bob', root.id],
        ],
      )
      const count = async () =>
        (await s.server.feeds.queryComments({ filter: { object_id: postId }, limit: 100 })).comments.length
      const before = await count()
      // One bad comment (an unknown activity) and nothing is added.
      await assert.rejects(
        s.server.feeds.addCommentsBatch({
          comments: [
            { object_id: postId, object_type: 'activity', comment: 'lost', user_id: 'cw-amy' },
            { object_id: 'no-such-activity', object_type: 'activity', comment: 'x', user_id: 'cw-amy' },
          ],
        }),
        code(16),
      )
      assert.equal(await count(), before)
    })

    it('AddCommentsBatch: a user writes only as itself, within the batch bound', async () => {
      const eve = await s.connect('cw-eve')
      await assert.rejects(
        eve.addCommentsBatch({
          comments: [
            { object_id: postId, object_type: 'activity', comment: 'me' },
            { object_id: postId, object_type: 'activity', comment: 'forged', user_id: 'cw-amy' },
          ],
        } as Parameters<typeof eve.addCommentsBatch>[0]),
        code(17),
      )
      const mine = await eve.queryComments({ filter: { user_id: 'cw-eve' } })
      assert.equal(mine.comments.length, 0)
      const many = Array.from({ length: 101 }, () => ({
        object_id: postId,
        object_type: 'activity',
        comment: 'x',
      }))
      await assert.rejects(eve.addCommentsBatch({ comments: many }), code(4))
      await assert.rejects(eve.addCommentsBatch({ comments: [] }), code(4))
      const token = await sign({ user_id: 'cw-eve' })
      const answer = await raw(s, 'POST', '/feeds/comments/batch', token, { comments: [null] })
      assert.equal(answer.status, 400)
    })

    it('bookmarks comments in folders; a user sees and changes only its own', async () => {
      const bob = await s.connect('cw-bob')
      const { comment } = await bob.addComment({
        object_id: postId,
        object_type: 'activity',
        comment: 'keep',
      })
      const fay = await s.connect('cw-fay')
      const { bookmark } = await fay.addCommentBookmark({
        comment_id: comment.id,
        new_folder: { name: 'Quotes' },
        custom: { note: 'good' },
      })
      assert.equal(bookmark.object_type, 'comment')
      assert.equal(bookmark.object_id, comment.id)
      assert.equal(bookmark.comment?.id, comment.id)
      assert.equal(bookmark.activity.id, postId)
      assert.equal(bookmark.folder?.name, 'Quotes')
      const folderId = bookmark.folder?.id ?? ''
      await assert.rejects(fay.addCommentBookmark({ comment_id: comment.id, folder_id: folderId }), code(4))
      assert.equal((await bob.getComment({ id: comment.id })).comment.bookmark_count, 1)
      const listed = await fay.queryBookmarks({ filter: { folder_id: folderId } })
      assert.deepEqual(
        listed.bookmarks.map((b) => [b.object_type, b.object_id]),
        [['comment', comment.id]],
      )
      const { bookmark: moved } = await fay.updateCommentBookmark({
        comment_id: comment.id,
        folder_id: folderId,
        new_folder_id: '',
        custom: { note: 'better' },
      })
      assert.equal(moved.folder, undefined)
      assert.deepEqual(moved.custom, { note: 'better' })
      // Another user neither uses fay's folder nor touches fay's bookmark.
      const gil = await s.connect('cw-gil')
      await assert.rejects(gil.addCommentBookmark({ comment_id: comment.id, folder_id: folderId }), code(16))
      await assert.rejects(gil.deleteCommentBookmark({ comment_id: comment.id }), code(16))
      const forged = await raw(
        s,
        'POST',
        `/feeds/comments/${comment.id}/bookmarks`,
        await sign({ user_id: 'cw-gil' }),
        {
          user_id: 'cw-fay',
        },
      )
      assert.equal(forged.status, 403)
      assert.equal((await gil.queryBookmarks({})).bookmarks.length, 0)
      const { bookmark: gone } = await fay.deleteCommentBookmark({ comment_id: comment.id })
      assert.equal(gone.object_id, comment.id)
      assert.equal((await fay.queryBookmarks({})).bookmarks.length, 0)
      await assert.rejects(fay.deleteCommentBookmark({ comment_id: comment.id }), code(16))
      await assert.rejects(fay.addCommentBookmark({ comment_id: 'no-such-comment' }), code(16))
    })

    it('never bookmarks a comment on an activity the user may not read', async () => {
      await s.server.feeds
        .feed('user', 'cw-cat')
        .getOrCreate({ user_id: 'cw-cat', data: { visibility: 'private' } })
      const { activity } = await s.server.feeds.addActivity({
        user_id: 'cw-cat',
        feeds: ['user:cw-cat'],
        type: 'post',
      })
      const { comment } = await s.server.feeds.addComment({
        object_id: activity.id,
        object_type: 'activity',
        comment: 'secret',
        user_id: 'cw-cat',
      })
      const eve = await s.connect('cw-eve')
      await assert.rejects(eve.addCommentBookmark({ comment_id: comment.id }), code(17))
      await assert.rejects(eve.updateCommentPartial({ id: comment.id, set: { text: 'x' } }), code(17))
    })
  })
}
