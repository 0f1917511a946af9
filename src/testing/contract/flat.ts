/** Contract cases: flat timelines. */
import assert from 'node:assert/strict'
import type { PageQuery } from '../../store/store.js'
import { activities, activity, entryOf, flat, flatNs, page, range, sk, type Test } from './fixtures.js'

export function flatTests(test: Test): void {
  test('adds an entry once and keeps its first origin', async (store) => {
    await store.write({ activities: activities(1, 2), add: [flat('user:a', 1), flat('user:a', 2, 'user:b')] })
    await store.write({ add: [flat('user:a', 2, 'user:c'), flat('user:a', 2, 'user:c')] })
    assert.deepEqual(await entryOf(store, 'user:a', 1), { origin: null })
    assert.deepEqual(await entryOf(store, 'user:a', 2), { origin: 'user:b' })
    assert.equal(await entryOf(store, 'user:a', 3), undefined)
    assert.equal(await entryOf(store, 'user:z', 1), undefined)
    assert.deepEqual(await flatNs(store, 'user:a'), [2, 1])
  })

  test('removes an entry once, and only through the given origin', async (store) => {
    await store.write({ activities: activities(1, 2), add: [flat('user:a', 1, 'user:b'), flat('user:a', 2)] })
    await store.write({ remove: [{ feed: 'user:a', sk: sk(1), origin: 'user:c' }] })
    assert.deepEqual(await entryOf(store, 'user:a', 1), { origin: 'user:b' })
    await store.write({ remove: [{ feed: 'user:a', sk: sk(1), origin: 'user:b' }] })
    assert.equal(await entryOf(store, 'user:a', 1), undefined)
    await store.write({
      remove: [
        { feed: 'user:a', sk: sk(1) },
        { feed: 'user:nobody', sk: sk(1) },
      ],
    })
    await store.write({ remove: [{ feed: 'user:a', sk: sk(2) }] })
    assert.deepEqual(await flatNs(store, 'user:a'), [])
  })

  test('reads a flat page newest first with bodies, limit and offset', async (store) => {
    await store.write({
      activities: activities(...range(1, 10)),
      add: range(1, 10).map((n) => flat('user:a', n)),
    })
    const rows = await store.timelines.readFlat('user:a', page({ limit: 3 }))
    assert.deepEqual(
      rows,
      [10, 9, 8].map((n) => ({ sk: sk(n), origin: null, body: activity(n).body })),
    )
    assert.deepEqual(await flatNs(store, 'user:a', page({ limit: 3, offset: 2 })), [8, 7, 6])
    assert.deepEqual(await flatNs(store, 'user:a', page({ limit: 3, offset: 9 })), [1])
    assert.deepEqual(await flatNs(store, 'user:other'), [])
  })

  test('applies lt, lte, gt and gte sort-key cursors', async (store) => {
    await store.write({
      activities: activities(...range(1, 10)),
      add: range(1, 10).map((n) => flat('user:a', n)),
    })
    const ns = (q: Partial<PageQuery>) => flatNs(store, 'user:a', page(q))
    assert.deepEqual(await ns({ lt: sk(5) }), [4, 3, 2, 1])
    assert.deepEqual(await ns({ lte: sk(5) }), [5, 4, 3, 2, 1])
    assert.deepEqual(await ns({ gt: sk(7) }), [10, 9, 8])
    assert.deepEqual(await ns({ gte: sk(7) }), [10, 9, 8, 7])
    assert.deepEqual(await ns({ gt: sk(3), lt: sk(6) }), [5, 4])
    assert.deepEqual(await ns({ gte: sk(3), lte: sk(6) }), [6, 5, 4, 3])
    assert.deepEqual(await ns({ lt: sk(5), offset: 1, limit: 2 }), [3, 2])
    // gt pages are still newest first: the newest entries above the cursor.
    assert.deepEqual(await ns({ gt: sk(2), limit: 2 }), [10, 9])
    assert.deepEqual(await ns({ gt: sk(10) }), [])
  })

  test('lists the newest sort keys of a feed', async (store) => {
    await store.write({
      activities: activities(...range(1, 5)),
      add: range(1, 5).map((n) => flat('user:a', n)),
    })
    assert.deepEqual(await store.timelines.newestEntries('user:a', 3), [sk(5), sk(4), sk(3)])
    assert.deepEqual(await store.timelines.newestEntries('user:a', 10), [5, 4, 3, 2, 1].map(sk))
    assert.deepEqual(await store.timelines.newestEntries('user:none', 3), [])
  })

  test('stores bodies once, replacing them by sort key', async (store) => {
    await store.write({ activities: [activity(1)], add: [flat('user:a', 1), flat('user:b', 1)] })
    const replaced = { sk: sk(1), body: '{"replaced":true}' }
    await store.write({ activities: [replaced] })
    const got = await store.activities.getActivities([sk(1), sk(2)])
    assert.equal(got.size, 1)
    assert.equal(got.get(sk(1))?.body, replaced.body)
    assert.equal((await store.timelines.readFlat('user:b', page()))[0].body, replaced.body)
  })

  test('finds the activities of a feed by foreign_id, newest first', async (store) => {
    await store.write({
      activities: [activity(1, 'f1'), activity(2, 'f1'), activity(3, 'f2'), activity(4)],
      add: [flat('user:a', 1), flat('user:a', 2), flat('user:a', 3), flat('user:a', 4), flat('user:b', 3)],
    })
    assert.deepEqual(await store.activities.findByForeignId('user:a', 'f1'), [sk(2), sk(1)])
    assert.deepEqual(await store.activities.findByForeignId('user:a', 'f2'), [sk(3)])
    assert.deepEqual(await store.activities.findByForeignId('user:b', 'f1'), [])
    assert.deepEqual(await store.activities.findByForeignId('user:a', ''), [])
  })

  test('trims a flat feed to its newest maxLength entries after the batch', async (store) => {
    await store.write({
      activities: activities(...range(0, 6)),
      add: [
        ...range(1, 5).map((n) => flat('user:a', n, null, 3)),
        ...range(1, 5).map((n) => flat('user:b', n)),
      ],
    })
    assert.deepEqual(await flatNs(store, 'user:a'), [5, 4, 3])
    assert.deepEqual(await flatNs(store, 'user:b'), [5, 4, 3, 2, 1])
    await store.write({ add: [flat('user:a', 0, null, 3)] })
    assert.deepEqual(await flatNs(store, 'user:a'), [5, 4, 3])
    await store.write({ add: [flat('user:a', 6, null, 3)] })
    assert.deepEqual(await flatNs(store, 'user:a'), [6, 5, 4])
  })

  test('removeByOrigin removes only what came through that origin', async (store) => {
    await store.write({
      activities: activities(1, 2, 3, 4),
      add: [
        flat('user:a', 1, 'user:b'),
        flat('user:a', 2, 'user:c'),
        flat('user:a', 3),
        flat('user:a', 4, 'user:b'),
        flat('user:x', 1, 'user:b'),
      ],
    })
    await store.write({ removeByOrigin: [{ feed: 'user:a', origin: 'user:b' }] })
    assert.deepEqual(await flatNs(store, 'user:a'), [3, 2])
    assert.deepEqual(await flatNs(store, 'user:x'), [1])
  })
}
