/** Contract cases: follows and follow copies. */
import assert from 'node:assert/strict'
import type { EntryWrite, StoredActivity } from '../../store/store.js'
import { activities, flat, flatNs, N_BY_SK, sk, type Test } from './fixtures.js'

export function followTests(test: Test): void {
  test('copies the newest entries of the target inside the follow write, with bodies only when asked', async (store) => {
    await store.write({ activities: activities(1, 2, 3, 4), add: [1, 2, 3, 4].map((n) => flat('user:t', n)) })
    const seen: StoredActivity[][] = []
    const copy = (limit: number, withBodies: boolean) => ({
      source: 'timeline:s',
      target: 'user:t',
      limit,
      withBodies,
      build: (rows: StoredActivity[]) => {
        seen.push(rows)
        return rows.map((r) => ({ feed: 'timeline:s', kind: 'flat' as const, sk: r.sk, origin: 'user:t' }))
      },
    })
    await store.write({ follow: [{ source: 'timeline:s', target: 'user:t' }], copies: [copy(3, true)] })
    assert.deepEqual(await flatNs(store, 'timeline:s'), [4, 3, 2])
    assert.deepEqual(
      seen[0].map((r) => [N_BY_SK.get(r.sk), JSON.parse(r.body).n]),
      [
        [4, 4],
        [3, 3],
        [2, 2],
      ],
    )
    await store.write({ copies: [copy(10, false)] })
    assert.deepEqual(await flatNs(store, 'timeline:s'), [4, 3, 2, 1])
    assert.deepEqual(
      seen[1].map((r) => r.body),
      ['', '', '', ''],
    )
    assert.equal((await store.getEntry('timeline:s', sk(1)))?.origin, 'user:t')
  })

  test('a failing follow copy rolls the follow back', async (store) => {
    await store.write({ activities: activities(1), add: [flat('user:t', 1)] })
    const failing = {
      source: 'timeline:s',
      target: 'user:t',
      limit: 5,
      withBodies: true,
      build: (): EntryWrite[] => {
        throw new Error('boom')
      },
    }
    await assert.rejects(
      store.write({ follow: [{ source: 'timeline:s', target: 'user:t' }], copies: [failing] }),
      /boom/,
    )
    assert.equal(await store.countFollows('user:t', 'followers'), 0)
    assert.deepEqual(await flatNs(store, 'timeline:s'), [])
  })

  const edges = (sources: string[], target: string) => sources.map((source) => ({ source, target }))
  const sources = async (rows: Promise<{ source: string }[]>) => (await rows).map((r) => r.source)
  const targets = async (rows: Promise<{ target: string }[]>) => (await rows).map((r) => r.target)
  const all = { limit: 100, offset: 0 }

  test('creates a follow once and keeps its created_at', async (store) => {
    await store.write({ follow: edges(['user:a'], 'user:t') })
    const [first] = await store.followers('user:t', all)
    assert.equal(first.source, 'user:a')
    assert.equal(first.target, 'user:t')
    assert.equal(new Date(first.created_at).toISOString(), first.created_at)
    assert.ok(first.updated_at >= first.created_at)
    await new Promise((resolve) => setTimeout(resolve, 5))
    await store.write({ follow: edges(['user:a'], 'user:t') })
    const again = await store.followers('user:t', all)
    assert.equal(again.length, 1)
    assert.equal(again[0].created_at, first.created_at)
    assert.deepEqual(await targets(store.following('user:a', all)), ['user:t'])
  })

  test('lists followers and following newest first, with offset, limit and filter', async (store) => {
    for (const s of ['user:1', 'user:2', 'user:3']) await store.write({ follow: edges([s], 'user:t') })
    // One write: the later edge of the batch counts as newer.
    await store.write({ follow: edges(['user:4', 'user:5'], 'user:t') })
    assert.deepEqual(await sources(store.followers('user:t', all)), [
      'user:5',
      'user:4',
      'user:3',
      'user:2',
      'user:1',
    ])
    assert.deepEqual(await sources(store.followers('user:t', { limit: 2, offset: 1 })), ['user:4', 'user:3'])
    const filter = ['user:1', 'user:3', 'other:9']
    assert.deepEqual(await sources(store.followers('user:t', { ...all, filter })), ['user:3', 'user:1'])
    assert.equal((await store.followers('user:t', { ...all, filter: [] })).length, 5)
    await store.write({ unfollow: edges(['user:2'], 'user:t') })
    await store.write({ follow: edges(['user:2'], 'user:t') })
    assert.deepEqual(await sources(store.followers('user:t', { limit: 2, offset: 0 })), ['user:2', 'user:5'])
    for (const t of ['user:t', 'user:u', 'user:v'])
      await store.write({ follow: [{ source: 'user:1', target: t }] })
    assert.deepEqual(await targets(store.following('user:1', all)), ['user:v', 'user:u', 'user:t'])
    assert.deepEqual(await targets(store.following('user:1', { ...all, filter: ['user:t'] })), ['user:t'])
    assert.deepEqual(await sources(store.followers('user:nobody', all)), [])
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
    assert.equal(await store.countFollows('user:t', 'followers'), 4)
    assert.equal(await store.countFollows('user:t', 'followers', []), 4)
    assert.equal(await store.countFollows('user:t', 'followers', ['user']), 2)
    assert.equal(await store.countFollows('user:t', 'followers', ['timeline']), 1)
    assert.equal(await store.countFollows('user:t', 'followers', ['user', 'timeline']), 3)
    assert.equal(await store.countFollows('user:t', 'followers', ['nope']), 0)
    assert.equal(await store.countFollows('user:1', 'following'), 3)
    assert.equal(await store.countFollows('user:1', 'following', ['x']), 2)
    await store.write({ unfollow: [{ source: 'user:1', target: 'x:1' }] })
    assert.equal(await store.countFollows('user:1', 'following', ['x']), 1)
  })
}
