/** The embedded client's Feeds V3 concepts (`client.v3`), on memory and SQLite: the engine's use cases, the data V1 and `/api/v2` see. */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { connect } from '../src/client/client.js'

for (const store of ['memory', 'sqlite::memory:']) {
  describe(`${store}: client.v3`, () => {
    it('reads a notification feed’s status and marks its groups seen and read, as V1 reads see them', async () => {
      const client = connect({ store })
      try {
        const box = client.feed('notification', 'ann')
        await box.addActivity({ actor: 'SU:bob', verb: 'like', object: 'post:1' })
        await box.addActivity({ actor: 'SU:cy', verb: 'follow', object: 'user:ann' })
        const fresh = await client.v3.notificationStatus('notification:ann')
        assert.deepEqual(fresh, { unseen: 2, unread: 2, seen: [], read: [] })

        const groups = (await box.get()).results.map((g) => g.id)
        await client.v3.markNotifications('notification:ann', { seen: true, read: [groups[0]] })
        const marked = await client.v3.notificationStatus(box)
        assert.deepEqual([marked.unseen, marked.unread], [0, 1])
        assert.deepEqual(marked.seen.sort(), [...groups].sort())
        assert.deepEqual(marked.read, [groups[0]])
        const v1 = await box.get()
        assert.deepEqual(
          v1.results.map((g) => [g.id, g.is_seen, g.is_read]),
          groups.map((id) => [id, true, id === groups[0]]),
        )
      } finally {
        await client.close()
      }
    })

    it('refuses marks on a feed that is not a notification feed, and fids that are not group:id', async () => {
      const client = connect({ store })
      try {
        await assert.rejects(client.v3.markNotifications('user:ann', { seen: true }), {
          exception: 'InputException',
        })
        await assert.rejects(client.v3.notificationStatus('nope:ann'), { exception: 'FeedConfigException' })
        assert.throws(() => client.v3.feedRef('no-colon'), { exception: 'InputException' })
      } finally {
        await client.close()
      }
    })

    it('asks to follow, lists, accepts and rejects follow requests; an accepted one is the engine’s follow', async () => {
      const client = connect({ store })
      try {
        await client.feed('user', 'ann').addActivity({ actor: 'SU:ann', verb: 'post', object: 'post:1' })
        const asked = await client.v3.requestFollow('timeline:bob', 'user:ann', { custom: { why: 'friend' } })
        assert.deepEqual([asked.status, asked.custom], ['pending', { why: 'friend' }])
        await client.v3.requestFollow('timeline:cy', 'user:ann')
        assert.deepEqual((await client.feed('timeline', 'bob').following()).results, [])
        assert.deepEqual(
          (await client.v3.followRequests('user:ann')).map((r) => r.source),
          ['timeline:bob', 'timeline:cy'],
        )
        assert.equal((await client.v3.acceptFollow('timeline:bob', 'user:ann')).status, 'accepted')
        assert.equal((await client.v3.rejectFollow('timeline:cy', 'user:ann')).status, 'rejected')
        await client.flush()
        assert.deepEqual(
          (await client.feed('timeline', 'bob').following()).results.map((f) => f.target_id),
          ['user:ann'],
        )
        assert.equal((await client.feed('timeline', 'bob').get()).results.length, 1)
        assert.deepEqual(await client.v3.followRequests('user:ann'), [])
        assert.equal((await client.v3.followState('timeline:cy', 'user:ann'))?.status, 'rejected')
        await assert.rejects(client.v3.acceptFollow('timeline:dan', 'user:ann'), {
          exception: 'DoesNotExistException',
        })
        await assert.rejects(
          client.v3.requestFollow('timeline:eve', 'user:ann', { push_preference: 'loud' }),
          {
            exception: 'InputException',
          },
        )
      } finally {
        await client.close()
      }
    })

    it('pins an activity to a feed once, lists and unpins it', async () => {
      const client = connect({ store })
      try {
        const post = await client
          .feed('user', 'ann')
          .addActivity({ actor: 'SU:ann', verb: 'post', object: 'post:1' })
        const pin = await client.v3.pin('user:ann', post.id, 'ann')
        assert.deepEqual([pin.activity_id, pin.user_id], [post.id, 'ann'])
        assert.equal((await client.v3.pin('user:ann', post.id, 'ann')).created_at, pin.created_at)
        assert.deepEqual(
          (await client.v3.pins('user:ann')).map((p) => p.activity_id),
          [post.id],
        )
        await client.v3.unpin('user:ann', post.id)
        assert.deepEqual(await client.v3.pins('user:ann'), [])
        await assert.rejects(client.v3.unpin('user:ann', post.id), { exception: 'DoesNotExistException' })
      } finally {
        await client.close()
      }
    })

    it('adds members and invites to a feed; an invite waits for its answer', async () => {
      const client = connect({ store })
      try {
        const changes = await client.v3.updateMembers('user:ann', 'upsert', [
          { user_id: 'bob', role: 'editor' },
          { user_id: 'cy', invite: true },
        ])
        assert.deepEqual(
          changes.added.map((m) => [m.user_id, m.role, m.status]),
          [
            ['bob', 'editor', 'member'],
            ['cy', 'feed_member', 'pending'],
          ],
        )
        assert.equal((await client.v3.answerInvite('user:ann', 'cy', true)).status, 'member')
        await client.v3.updateMembers('user:ann', 'remove', [{ user_id: 'bob' }])
        assert.deepEqual(
          (await client.v3.members('user:ann')).map((m) => [m.user_id, m.status]),
          [['cy', 'member']],
        )
        await assert.rejects(client.v3.updateMembers('user:ann', 'upsert', [{ user_id: 'bad id!' }]), {
          exception: 'InputException',
        })
        await assert.rejects(client.v3.updateMembers('user:ann', 'wipe' as never, []), {
          exception: 'InputException',
        })
      } finally {
        await client.close()
      }
    })

    it('keeps bookmark folders per user: one per name, renamed, deleted, bounded', async () => {
      const client = connect({ store })
      try {
        const later = await client.v3.createBookmarkFolder('ann', 'Read later', { color: 'red' })
        assert.equal((await client.v3.createBookmarkFolder('ann', 'Read later')).id, later.id)
        await client.v3.createBookmarkFolder('ann', 'Recipes')
        await client.v3.createBookmarkFolder('bob', 'Read later')
        assert.deepEqual(
          (await client.v3.bookmarkFolders('ann')).map((f) => [f.name, f.user_id]),
          [
            ['Read later', 'ann'],
            ['Recipes', 'ann'],
          ],
        )
        const renamed = await client.v3.updateBookmarkFolder(later.id, { name: 'Soon' }, 'ann')
        assert.deepEqual([renamed.name, renamed.custom], ['Soon', { color: 'red' }])
        await assert.rejects(client.v3.deleteBookmarkFolder(later.id, 'bob'), {
          exception: 'DoesNotExistException',
        })
        await client.v3.deleteBookmarkFolder(later.id, 'ann')
        assert.deepEqual(
          (await client.v3.bookmarkFolders('ann')).map((f) => f.name),
          ['Recipes'],
        )
        for (const bad of ['', 'x'.repeat(256), 'nul\u0000']) {
          await assert.rejects(client.v3.createBookmarkFolder('ann', bad), { exception: 'InputException' })
        }
        await assert.rejects(client.v3.createBookmarkFolder('ann', 'ok', [] as never), {
          exception: 'InputException',
        })
        assert.equal((await client.v3.bookmarkFolders('ann')).length, 1)
      } finally {
        await client.close()
      }
    })

    it('deactivates and reactivates users and keeps their blocks, by the engine’s rules', async () => {
      const client = connect({ store })
      try {
        for (const id of ['ann', 'bob']) await client.user(id).create({})
        const at = await client.v3.deactivateUsers(['ann'], 'admin')
        assert.deepEqual([...at.keys()], ['ann'])
        assert.deepEqual([...(await client.v3.deactivatedUsers(['ann', 'bob'])).keys()], ['ann'])
        await assert.rejects(client.v3.deactivateUsers(['nobody']), /nobody do not exist/)
        await client.v3.reactivateUsers(['ann'])
        assert.equal((await client.v3.deactivatedUsers(['ann'])).size, 0)
        await client.v3.block('ann', 'bob')
        assert.deepEqual(
          (await client.v3.blocks('ann')).map((b) => b.id),
          ['bob'],
        )
        await assert.rejects(client.v3.block('ann', 'ann'), /cannot block itself/)
        await client.v3.unblock('ann', 'bob')
        assert.deepEqual(await client.v3.blocks('ann'), [])
      } finally {
        await client.close()
      }
    })

    it('defines a feed group once at run time; a client on the same store learns it', async () => {
      const client = connect({ store })
      try {
        const made = await client.v3.defineFeedGroup('alerts', { type: 'notification' })
        assert.deepEqual([made.created, made.group.kind], [true, 'notification'])
        assert.equal((await client.v3.defineFeedGroup('alerts', { type: 'notification' })).created, false)
        const defined: string = 'alerts' // not a configured group: the client's types do not know it
        await client.feed(defined, 'ann').addActivity({ actor: 'SU:bob', verb: 'ping', object: 'x' })
        assert.equal((await client.v3.notificationStatus('alerts:ann')).unseen, 1)
        // Soft delete: the group's feeds are refused until it is restored, with what they held.
        await client.v3.deleteFeedGroup('alerts')
        await assert.rejects(() => client.feed(defined, 'ann').get())
        await client.v3.restoreFeedGroup('alerts')
        assert.equal((await client.v3.notificationStatus('alerts:ann')).unseen, 1)
      } finally {
        await client.close()
      }
    })
  })
}
