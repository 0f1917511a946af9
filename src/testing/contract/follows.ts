/** Contract cases: follows and follow copies. */
import assert from 'node:assert/strict'
import { activities, clockPasses, entryOf, flat, flatNs, followCount, sk, type Test } from './fixtures.js'

export function followTests(test: Test): void {
  test('adds follow copies only while their edge exists', async (store) => {
    await store.write({ activities: activities(1, 2, 3), add: [1, 2, 3].map((n) => flat('user:t', n)) })
    const edge = { source: 'timeline:s', target: 'user:t' }
    const copy = (...ns: number[]) => ({ edge, entries: ns.map((n) => flat('timeline:s', n, 'user:t')) })
    // No edge yet: the copy is dropped (a concurrent unfollow won).
    await store.write({ copies: [copy(3)] })
    assert.deepEqual(await flatNs(store, 'timeline:s'), [])
    // The edge of the same write counts, as does an earlier one.
    await store.write({ follow: [edge], copies: [copy(3, 2)] })
    await store.write({ copies: [copy(1, 2)] })
    assert.deepEqual(await flatNs(store, 'timeline:s'), [3, 2, 1])
    assert.equal((await entryOf(store, 'timeline:s', 1))?.origin, 'user:t')
    await store.write({ unfollow: [edge], removeByOrigin: [{ feed: 'timeline:s', origin: 'user:t' }] })
    await store.write({ copies: [copy(3)] })
    assert.deepEqual(await flatNs(store, 'timeline:s'), [])
  })

  test('lists the newest sort keys of a feed', async (store) => {
    await store.write({ activities: activities(1, 2, 3), add: [1, 2, 3].map((n) => flat('user:t', n)) })
    assert.deepEqual(await store.timelines.newestEntries('user:t', 2), [sk(3), sk(2)])
    assert.deepEqual(await store.timelines.newestEntries('user:t', 10), [sk(3), sk(2), sk(1)])
    assert.deepEqual(await store.timelines.newestEntries('user:t', 0), [])
    assert.deepEqual(await store.timelines.newestEntries('user:none', 5), [])
  })

  const edges = (sources: string[], target: string) => sources.map((source) => ({ source, target }))
  const sources = async (rows: Promise<{ source: string }[]>) => (await rows).map((r) => r.source)
  const targets = async (rows: Promise<{ target: string }[]>) => (await rows).map((r) => r.target)
  const all = { limit: 100, offset: 0 }

  test('creates a follow once and keeps its created_at', async (store) => {
    await store.write({ follow: edges(['user:a'], 'user:t') })
    const [first] = await store.follows.followers('user:t', all)
    assert.equal(first.source, 'user:a')
    assert.equal(first.target, 'user:t')
    assert.equal(new Date(first.createdAt).toISOString(), first.createdAt)
    assert.ok(first.updatedAt >= first.createdAt)
    await clockPasses(first.updatedAt)
    await store.write({ follow: edges(['user:a'], 'user:t') })
    const again = await store.follows.followers('user:t', all)
    assert.equal(again.length, 1)
    assert.equal(again[0].createdAt, first.createdAt)
    assert.deepEqual(await targets(store.follows.following('user:a', all)), ['user:t'])
  })

  test('lists followers and following newest first, with offset, limit and filter', async (store) => {
    for (const s of ['user:1', 'user:2', 'user:3']) await store.write({ follow: edges([s], 'user:t') })
    // One write: the later edge of the batch counts as newer.
    await store.write({ follow: edges(['user:4', 'user:5'], 'user:t') })
    assert.deepEqual(await sources(store.follows.followers('user:t', all)), [
      'user:5',
      'user:4',
      'user:3',
      'user:2',
      'user:1',
    ])
    assert.deepEqual(await sources(store.follows.followers('user:t', { limit: 2, offset: 1 })), [
      'user:4',
      'user:3',
    ])
    const filter = ['user:1', 'user:3', 'other:9']
    assert.deepEqual(await sources(store.follows.followers('user:t', { ...all, filter })), [
      'user:3',
      'user:1',
    ])
    assert.equal((await store.follows.followers('user:t', { ...all, filter: [] })).length, 5)
    await store.write({ unfollow: edges(['user:2'], 'user:t') })
    await store.write({ follow: edges(['user:2'], 'user:t') })
    assert.deepEqual(await sources(store.follows.followers('user:t', { limit: 2, offset: 0 })), [
      'user:2',
      'user:5',
    ])
    for (const t of ['user:t', 'user:u', 'user:v'])
      await store.write({ follow: [{ source: 'user:1', target: t }] })
    assert.deepEqual(await targets(store.follows.following('user:1', all)), ['user:v', 'user:u', 'user:t'])
    assert.deepEqual(await targets(store.follows.following('user:1', { ...all, filter: ['user:t'] })), [
      'user:t',
    ])
    assert.deepEqual(await sources(store.follows.followers('user:nobody', all)), [])
  })

  test('counts follows, optionally from some slugs only', async (store) => {
    await store.write({
      follow: edges(['user:1', 'user:2', 'timeline:3', 'timeline_aggregated:4'], 'user:t'),
    })
    await store.write({
      follow: [
        { source: 'user:1', target: 'x:1' },
        { source: 'user:1', target: 'x:2' },
      ],
    })
    assert.equal(await followCount(store, 'user:t', 'followers'), 4)
    assert.equal(await followCount(store, 'user:t', 'followers', []), 4)
    assert.equal(await followCount(store, 'user:t', 'followers', ['user']), 2)
    assert.equal(await followCount(store, 'user:t', 'followers', ['timeline']), 1)
    assert.equal(await followCount(store, 'user:t', 'followers', ['user', 'timeline']), 3)
    assert.equal(await followCount(store, 'user:t', 'followers', ['nope']), 0)
    assert.equal(await followCount(store, 'user:1', 'following'), 3)
    assert.equal(await followCount(store, 'user:1', 'following', ['x']), 2)
    await store.write({ unfollow: [{ source: 'user:1', target: 'x:1' }] })
    assert.equal(await followCount(store, 'user:1', 'following', ['x']), 1)
    // Both directions in one call; a direction not asked for is not counted.
    assert.deepEqual(
      await store.follows.countFollows('user:1', { followers: [], following: ['x', 'user'] }),
      {
        followers: 0,
        following: 2,
      },
    )
    assert.deepEqual(await store.follows.countFollows('user:t', { followers: ['user'] }), { followers: 2 })
  })
}
