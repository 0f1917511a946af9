/** Contract cases: documents (users, collection entries). */
import assert from 'node:assert/strict'
import { clockPasses, type Test } from './fixtures.js'

export function docTests(test: Test): void {
  test('inserts, updates and upserts documents, keeping their creation time', async (store) => {
    const inserted = await store.documents.putDoc(
      'user',
      'u1',
      { name: 'a', tags: ['x'], n: { deep: 1 } },
      'insert',
    )
    assert.ok(inserted)
    assert.deepEqual(inserted.data, { name: 'a', tags: ['x'], n: { deep: 1 } })
    assert.equal(inserted.createdAt, inserted.updatedAt)
    assert.equal(new Date(inserted.createdAt).toISOString(), inserted.createdAt)
    assert.equal(await store.documents.putDoc('user', 'u1', { name: 'b' }, 'insert'), undefined)
    assert.equal(await store.documents.putDoc('user', 'u2', { name: 'b' }, 'update'), undefined)
    await clockPasses(inserted.updatedAt)
    const updated = await store.documents.putDoc('user', 'u1', { name: 'b' }, 'update')
    assert.deepEqual([updated?.data, updated?.createdAt], [{ name: 'b' }, inserted.createdAt])
    assert.ok(updated && updated.updatedAt > inserted.createdAt)
    const upserted = await store.documents.putDoc('user', 'u1', { name: 'c' }, 'upsert')
    assert.deepEqual([upserted?.data, upserted?.createdAt], [{ name: 'c' }, inserted.createdAt])
    assert.deepEqual((await store.documents.putDoc('user', 'u3', { name: 'd' }, 'upsert'))?.data, {
      name: 'd',
    })
    const docs = await store.documents.getDocs('user', ['u3', 'missing', 'u1'])
    assert.deepEqual(
      docs.map((d) => [d.kind, d.id, d.data]),
      [
        ['user', 'u3', { name: 'd' }],
        ['user', 'u1', { name: 'c' }],
      ],
    )
    assert.deepEqual(await store.documents.getDocs('collection', ['u1']), [])
  })

  test('deletes documents and counts those that existed', async (store) => {
    await store.documents.putDoc('user', 'u1', {}, 'insert')
    await store.documents.putDoc('food', 'u2', {}, 'insert')
    assert.equal(await store.documents.deleteDocs('user', ['u1', 'u2', 'nope']), 1)
    assert.deepEqual(await store.documents.getDocs('user', ['u1']), [])
    assert.equal((await store.documents.getDocs('food', ['u2'])).length, 1)
  })

  test('updates a document only if it is unchanged since it was read (ifUpdatedAt)', async (store) => {
    const docs = store.documents
    const first = await docs.putDoc('collection:food', 'f1', { owner: 'ann' }, 'insert')
    assert.ok(first)
    await clockPasses(first.updatedAt)
    const second = await docs.putDoc(
      'collection:food',
      'f1',
      { owner: 'ann', n: 2 },
      'update',
      first.updatedAt,
    )
    assert.deepEqual(second?.data, { owner: 'ann', n: 2 })
    // A writer still holding the first version loses, and changes nothing.
    assert.equal(
      await docs.putDoc('collection:food', 'f1', { owner: 'bob' }, 'update', first.updatedAt),
      undefined,
    )
    assert.deepEqual((await docs.getDocs('collection:food', ['f1']))[0].data, { owner: 'ann', n: 2 })
  })

  test("lists a kind's documents in id order, a page after a given id", async (store) => {
    const docs = store.documents
    for (const id of ['b', 'a', 'c_2', 'c-1', 'B']) await docs.putDoc('user', id, { id }, 'insert')
    await docs.putDoc('food', 'a0', {}, 'insert')
    const ids = (rows: { id: string }[]) => rows.map((r) => r.id)
    assert.deepEqual(ids(await docs.listDocs('user', undefined, 10)), ['B', 'a', 'b', 'c-1', 'c_2'])
    assert.deepEqual(ids(await docs.listDocs('user', 'a', 2)), ['b', 'c-1'])
    assert.deepEqual(ids(await docs.listDocs('user', 'c_2', 2)), [])
    const [first] = await docs.listDocs('user', undefined, 1)
    assert.deepEqual(first?.data, { id: 'B' })
    assert.equal(typeof first?.createdAt, 'string')
    assert.deepEqual(await docs.listDocs('nothing', undefined, 5), [])
  })
}
