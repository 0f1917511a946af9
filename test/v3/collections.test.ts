/**
 * Feeds V3 collections through Stream's SDKs on every store, on the engine's V1 collections: a V3
 * collection is the V1 entry (its custom the entry's data, its user_id the entry's owner), so the
 * V1 client and a V3 client see the same objects. A user creates collections as itself and reads,
 * updates and deletes only its own; only the app upserts. Attacks: another user's collections,
 * writing as another user, oversize lists, prototype names.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { raw, sign } from './attacker.js'
import { startV3, type V3Server, v3Stores } from './harness.js'

/** Stream's error of `code` (4 bad input, 17 not allowed, 22 exists already). */
const code = (n: number) => (err: Error) => new RegExp(`error code ${n}\\b`).test(err.message)

for (const store of await v3Stores('v3coll')) {
  describe(`Feeds V3 collections (${store.name})`, { skip: store.skip }, () => {
    let s: V3Server
    before(async () => {
      s = await startV3(store)
    })
    after(() => s.close())

    it('a V1 client and a V3 client see the same collection objects', async () => {
      const { collections } = await s.server.feeds.createCollections({
        collections: [{ name: 'food', id: 'pizza', custom: { kind: 'italian' }, user_id: 'co-amy' }],
      })
      assert.deepEqual(
        collections.map((c) => [c.name, c.id, c.custom, c.user_id]),
        [['food', 'pizza', { kind: 'italian' }, 'co-amy']],
      )
      assert.deepEqual((await s.eddy.collections.get('food', 'pizza')).data, { kind: 'italian' })
      await s.eddy.collections.add('food', 'soup', { kind: 'french' })
      const read = await s.server.feeds.readCollections({
        collection_refs: ['food:soup', 'food:pizza', 'food:none'],
      })
      assert.deepEqual(
        read.collections.map((c) => [c.id, c.custom]),
        [
          ['soup', { kind: 'french' }],
          ['pizza', { kind: 'italian' }],
        ],
      )
      // V1's upsert keeps the id in the data; V3's custom leaves it out.
      await s.eddy.collections.upsert('food', [{ id: 'stew', kind: 'irish' }])
      const [stew] = (await s.server.feeds.readCollections({ collection_refs: ['food:stew'] })).collections
      assert.deepEqual(stew.custom, { kind: 'irish' })
      const { collections: upserted } = await s.server.feeds.upsertCollections({
        collections: [{ name: 'food', id: 'stew', custom: { kind: 'scottish' } }],
      })
      assert.deepEqual(upserted[0].custom, { kind: 'scottish' })
      assert.equal((await s.eddy.collections.get('food', 'stew')).data?.kind, 'scottish')
      await s.server.feeds.deleteCollections({ collection_refs: ['food:soup'] })
      await assert.rejects(s.eddy.collections.get('food', 'soup'), /does not exist/)
    })

    it('a user creates, reads, updates and deletes its own collections only', async () => {
      const bob = await s.connect('co-bob')
      const { collections } = await bob.createCollections({
        collections: [{ name: 'notes', id: 'n1', custom: { text: 'hi' } }],
      })
      assert.equal(collections[0].user_id, 'co-bob')
      const { collections: changed } = await bob.updateCollections({
        collections: [{ name: 'notes', id: 'n1', custom: { text: 'hello' } }],
      })
      assert.deepEqual(changed[0].custom, { text: 'hello' })
      assert.equal(changed[0].user_id, 'co-bob')
      assert.deepEqual((await s.eddy.collections.get('notes', 'n1')).data, { text: 'hello' })
      const eve = await s.connect('co-eve')
      // Another user's collection is not read (left out), changed or deleted.
      assert.deepEqual((await eve.readCollections({ collection_refs: ['notes:n1'] })).collections, [])
      await assert.rejects(
        eve.updateCollections({ collections: [{ name: 'notes', id: 'n1', custom: { text: 'pwned' } }] }),
        code(17),
      )
      await assert.rejects(eve.deleteCollections({ collection_refs: ['notes:n1'] }), code(17))
      // A batch with one foreign entry deletes none.
      await eve.createCollections({ collections: [{ name: 'notes', id: 'e1', custom: { text: 'eve' } }] })
      await assert.rejects(eve.deleteCollections({ collection_refs: ['notes:e1', 'notes:n1'] }), code(17))
      assert.equal((await eve.readCollections({ collection_refs: ['notes:e1'] })).collections.length, 1)
      assert.equal((await bob.readCollections({ collection_refs: ['notes:n1'] })).collections.length, 1)
      await bob.deleteCollections({ collection_refs: ['notes:n1'] })
      assert.deepEqual((await bob.readCollections({ collection_refs: ['notes:n1'] })).collections, [])
    })

    it('refuses writing as another user, user upserts, bad and oversize lists', async () => {
      const token = await sign({ user_id: 'co-eve' })
      const forged = await raw(s, 'POST', '/feeds/collections', token, {
        collections: [{ name: 'notes', id: 'f1', custom: { a: 1 }, user_id: 'co-bob' }],
      })
      assert.equal(forged.status, 403)
      const upsert = await raw(s, 'PUT', '/feeds/collections', token, {
        collections: [{ name: 'notes', id: 'f2', custom: { a: 1 } }],
      })
      assert.equal(upsert.status, 403)
      const anonymous = await raw(s, 'POST', '/feeds/collections', undefined, {
        collections: [{ name: 'notes', id: 'f3', custom: { a: 1 } }],
      })
      assert.equal(anonymous.status, 403)
      const eve = await s.connect('co-eve')
      const many = Array.from({ length: 101 }, (_, i) => ({ name: 'notes', id: `m${i}`, custom: { i } }))
      await assert.rejects(eve.createCollections({ collections: many }), code(4))
      await assert.rejects(eve.createCollections({ collections: [] }), code(4))
      await assert.rejects(eve.createCollections({ collections: [{ name: 'notes', custom: {} }] }), code(4))
      await assert.rejects(
        eve.createCollections({ collections: [{ name: 'no tes', custom: { a: 1 } }] }),
        code(4),
      )
      await eve.createCollections({ collections: [{ name: 'notes', id: 'dup', custom: { a: 1 } }] })
      await assert.rejects(
        eve.createCollections({ collections: [{ name: 'notes', id: 'dup', custom: { a: 2 } }] }),
        code(22),
      )
      await assert.rejects(eve.readCollections({ collection_refs: ['nocolon'] }), code(4))
    })

    it('takes prototype names as plain names', async () => {
      await s.server.feeds.upsertCollections({
        collections: [{ name: '__proto__', id: 'constructor', custom: { polluted: true } }],
      })
      assert.equal(({} as Record<string, unknown>).polluted, undefined)
      const read = await s.server.feeds.readCollections({ collection_refs: ['__proto__:constructor'] })
      assert.deepEqual(read.collections[0]?.custom, { polluted: true })
    })
  })
}
