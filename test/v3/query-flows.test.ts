/**
 * Feeds V3 queries through @stream-io/feeds-client and node-sdk against `eddy serve`'s app, on
 * every store: QueryActivities (filters, sorts, pages, only what the reader may read),
 * QueryComments and comment sorts, bookmark folders and QueryBookmarks, and the attacks on them
 * (others' bookmarks and folders, unbounded limits, filters that walk into prototypes).
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { KEY, startV3, type V3Server, v3Stores } from './harness.js'

for (const store of await v3Stores('v3query')) {
  describe(`Feeds V3 queries (${store.name})`, { skip: store.skip }, () => {
    let s: V3Server
    before(async () => {
      s = await startV3(store)
      await s.server.feeds.feed('user', 'amy').getOrCreate({ user_id: 'amy' })
      await s.server.feeds
        .feed('user', 'bob')
        .getOrCreate({ user_id: 'bob', data: { visibility: 'private' } })
      await s.server.feeds.addActivity({
        user_id: 'amy',
        feeds: ['user:amy'],
        type: 'post',
        text: 'Spring sale at the mall',
        search_data: { campaign: { id: 'spring', location: { mall: 'yorkdale' } } },
      })
      await s.server.feeds.addActivity({ user_id: 'amy', feeds: ['user:amy'], type: 'photo', text: 'a cat' })
      await s.server.feeds.addActivity({
        user_id: 'amy',
        feeds: ['user:amy'],
        type: 'post',
        text: 'only me',
        visibility: 'private',
      })
      await s.server.feeds.addActivity({
        user_id: 'bob',
        feeds: ['user:bob'],
        type: 'post',
        text: 'secret feed',
      })
    })
    after(() => s.close())

    it('queries activities by type, text, search data and sort, with pages', async () => {
      const cat = await s.connect('cat')
      const posts = await cat.queryActivities({ filter: { feed: 'user:amy', activity_type: 'post' } })
      assert.deepEqual(
        posts.activities.map((a) => a.text),
        ['Spring sale at the mall'],
      )
      const text = await cat.queryActivities({ filter: { feed: 'user:amy', text: { $q: 'SALE spring' } } })
      assert.equal(text.activities.length, 1)
      const contains = await cat.queryActivities({
        filter: { feed: 'user:amy', search_data: { $contains: { campaign: { id: 'spring' } } } },
      })
      assert.equal(contains.activities.length, 1)
      const path = await cat.queryActivities({
        filter: { feed: 'user:amy', search_data: { $path_exists: 'campaign.location.mall' } },
      })
      assert.equal(path.activities.length, 1)
      const first = await cat.queryActivities({
        filter: { feed: 'user:amy' },
        sort: [{ field: 'created_at', direction: 1 }],
        limit: 1,
      })
      assert.equal(first.activities[0].text, 'Spring sale at the mall')
      assert.ok(first.next)
      const second = await cat.queryActivities({
        filter: { feed: 'user:amy' },
        sort: [{ field: 'created_at', direction: 1 }],
        limit: 1,
        next: first.next,
      })
      assert.equal(second.activities[0].text, 'a cat')
      assert.equal(second.next, undefined, "amy's private activity is not cat's to see")
    })

    it('attack: a query shows nothing of a private feed or of private activities to others', async () => {
      const cat = await s.connect('cat')
      assert.equal((await cat.queryActivities({ filter: { feed: 'user:bob' } })).activities.length, 0)
      assert.equal((await cat.queryActivities({ filter: { user_id: 'bob' } })).activities.length, 0)
      const amy = await s.connect('amy')
      const own = await amy.queryActivities({ filter: { text: { $q: 'only me' } } })
      assert.equal(own.activities.length, 1, 'the author sees its private activity in its own feeds')
    })

    it('attack: unbounded limits, unknown fields and prototype walks are refused', async () => {
      const cat = await s.connect('cat')
      await assert.rejects(
        cat.queryActivities({ filter: { feed: 'user:amy' }, limit: 100_000 }),
        /code 4/,
        'refused 1',
      )
      // Raw, as a hostile client sends it (the SDK leaves such keys out).
      const raw = await fetch(`${s.base}/api/v2/feeds/activities/query?api_key=${KEY}`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'stream-auth-type': 'jwt',
          authorization: s.server.generateUserToken({ user_id: 'cat' }),
        },
        body: '{"filter":{"feed":"user:amy","constructor":{"prototype":{"polluted":1}}}}',
      })
      assert.equal(raw.status, 400, 'refused 2')
      await assert.rejects(
        cat.queryActivities({
          filter: { feed: 'user:amy', search_data: { $path_exists: '__proto__.polluted' } },
        }),
        /code 4/,
      )
      const many = Array.from({ length: 20 }, (_, i) => ({ text: `t${i}`, type: 'post', user_id: 'amy' }))
      await assert.rejects(
        cat.queryActivities({ filter: { feed: 'user:amy', $and: many } }),
        /code 4/,
        'refused 3',
      )
      await assert.rejects(
        cat.queryActivities({ filter: { feed: Array.from({ length: 11 }, (_, i) => `user:u${i}`) } }),
        /code 4/,
      )
      await assert.rejects(s.server.feeds.queryActivities({ filter: {} }), /code 4/, 'the app names feeds')
      await assert.rejects(
        cat.queryComments({ filter: { object_id: 'x' }, limit: 5000 }),
        /code 4/,
        'refused 4',
      )
      await assert.rejects(cat.queryBookmarks({ limit: 1000 }), /code 4/, 'refused 5')
      assert.equal(({} as Record<string, unknown>).polluted, undefined)
    })

    it('ranks comments top / best / controversial and pages first and last by cursor', async () => {
      const { activity } = await s.server.feeds.addActivity({
        user_id: 'amy',
        feeds: ['user:amy'],
        type: 'post',
      })
      const dan = await s.connect('dan')
      const ids: string[] = []
      for (const text of ['one', 'two', 'three'])
        ids.push(
          (await dan.addComment({ object_id: activity.id, object_type: 'activity', comment: text })).comment
            .id,
        )
      for (const [i, user] of ['u1', 'u2', 'u3'].entries()) {
        const c = await s.connect(user)
        await c.addCommentReaction({ id: ids[1], type: 'upvote' })
        if (i === 0) await c.addCommentReaction({ id: ids[2], type: 'downvote' })
        if (i === 1) await c.addCommentReaction({ id: ids[2], type: 'upvote' })
      }
      const get = (sort: 'first' | 'last' | 'top' | 'best' | 'controversial', next?: string) =>
        dan.getComments({ object_id: activity.id, object_type: 'activity', sort, limit: 2, next })
      const top = await get('top')
      assert.deepEqual(
        top.comments.map((c) => c.text),
        ['two', 'three'],
      )
      assert.equal(top.comments[0].upvote_count, 3)
      assert.equal((await get('controversial')).comments[0].text, 'three')
      assert.equal((await get('best')).comments[0].text, 'two')
      const first = await get('first')
      assert.deepEqual(
        first.comments.map((c) => c.text),
        ['one', 'two'],
      )
      assert.deepEqual(
        (await get('first', first.next)).comments.map((c) => c.text),
        ['three'],
      )
      const last = await get('last')
      assert.deepEqual(
        last.comments.map((c) => c.text),
        ['three', 'two'],
      )
      const found = await dan.queryComments({
        filter: { object_id: activity.id, comment_text: { $q: 'THR' } },
      })
      assert.deepEqual(
        found.comments.map((c) => c.text),
        ['three'],
      )
    })

    it('attack: QueryComments by user shows no comment on an activity the reader may not read', async () => {
      const { activities } = await s.server.feeds.queryActivities({ filter: { feed: 'user:bob' } })
      const bob = await s.connect('bob')
      await bob.addComment({ object_id: activities[0].id, object_type: 'activity', comment: 'hidden' })
      const eve = await s.connect('eve')
      const seen = await eve.queryComments({ filter: { user_id: 'bob' } })
      assert.equal(seen.comments.length, 0)
      assert.equal((await bob.queryComments({ filter: { user_id: 'bob' } })).comments.length, 1)
    })

    it('files bookmarks in folders; a user sees and changes only its own', async () => {
      const { activity } = await s.server.feeds.addActivity({
        user_id: 'amy',
        feeds: ['user:amy'],
        type: 'post',
      })
      const fay = await s.connect('fay')
      const { bookmark } = await fay.addBookmark({
        activity_id: activity.id,
        new_folder: { name: 'Recipes' },
      })
      assert.equal(bookmark.folder?.name, 'Recipes')
      await fay.addBookmark({ activity_id: activity.id })
      const mine = await fay.queryBookmarks({ filter: { folder_id: bookmark.folder?.id } })
      assert.equal(mine.bookmarks.length, 1)
      assert.equal((await fay.queryBookmarks({})).bookmarks.length, 2)
      const folders = await fay.queryBookmarkFolders({ filter: { folder_name: { $contains: 'recip' } } })
      assert.deepEqual(
        folders.bookmark_folders.map((f) => f.name),
        ['Recipes'],
      )
      const gil = await s.connect('gil')
      await assert.rejects(gil.queryBookmarks({ filter: { user_id: 'fay' } }), /code 4/)
      assert.equal((await gil.queryBookmarks({})).bookmarks.length, 0)
      assert.equal((await gil.queryBookmarkFolders({})).bookmark_folders.length, 0)
      const folderId = bookmark.folder?.id ?? ''
      await assert.rejects(gil.updateBookmarkFolder({ folder_id: folderId, name: 'pwned' }), /code 16/)
      await assert.rejects(gil.deleteBookmarkFolder({ folder_id: folderId }), /code 16/)
      await assert.rejects(gil.addBookmark({ activity_id: activity.id, folder_id: folderId }), /code 16/)
      const renamed = await fay.updateBookmarkFolder({ folder_id: folderId, name: 'Sweet' })
      assert.equal(renamed.bookmark_folder.name, 'Sweet')
      // The app reads a user's bookmarks by naming the user.
      assert.equal((await s.server.feeds.queryBookmarks({ filter: { user_id: 'fay' } })).bookmarks.length, 2)
      await fay.deleteBookmarkFolder({ folder_id: folderId })
      assert.equal((await fay.queryBookmarkFolders({})).bookmark_folders.length, 0)
    })

    it('upserts: an activity whose own id exists is updated, and only by its author', async () => {
      const amy = await s.connect('amy')
      const item = { id: 'upsert-1', feeds: ['user:amy'], type: 'post', text: 'first' }
      await amy.upsertActivities({ activities: [item] })
      const again = await amy.upsertActivities({ activities: [{ ...item, text: 'second' }] })
      assert.equal(again.activities[0].text, 'second')
      assert.equal((await amy.getActivity({ id: 'upsert-1' })).activity.text, 'second')
      const eve = await s.connect('eve')
      await assert.rejects(
        eve.upsertActivities({ activities: [{ ...item, feeds: ['user:eve'], text: 'pwned' }] }),
        /code 17|403/,
      )
      assert.equal((await amy.getActivity({ id: 'upsert-1' })).activity.text, 'second')
    })
  })
}
