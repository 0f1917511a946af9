/** Contract cases: the page window every list read accepts (`store/shared/window.ts`). */
import assert from 'node:assert/strict'
import type { Store } from '../../store/store.js'
import { activities, flat, type Test } from './fixtures.js'

/** Every list read of the seam, given one window. */
function reads(store: Store, limit: number, offset: number): [string, () => Promise<unknown>][] {
  const group = { limit, offset }
  return [
    ['readFlat', () => store.timelines.readFlat('user:a', { limit, offset })],
    ['readGroups', () => store.timelines.readGroups('notification:a', group, 1)],
    [
      'readGroups perGroup',
      () => store.timelines.readGroups('notification:a', { limit: 1, offset: 0 }, limit),
    ],
    ['newestEntries', () => store.timelines.newestEntries('user:a', limit)],
    ['followers', () => store.follows.followers('user:a', { limit, offset })],
    ['following', () => store.follows.following('user:a', { limit, offset })],
  ]
}

export function windowTests(test: Test): void {
  test('every list read refuses a limit or offset that is not a non-negative integer, the same way', async (store) => {
    await store.write({
      activities: activities(1),
      add: [flat('user:a', 1)],
      follow: [{ source: 'user:a', target: 'user:b' }],
    })
    for (const [limit, offset] of [
      [-1, 0],
      [1.5, 0],
      [1, -1],
      [1, 0.5],
      [Number.NaN, 0],
    ]) {
      for (const [name, read] of reads(store, limit, offset)) {
        // newestEntries and perGroup take a limit only.
        if (offset !== 0 && (name === 'newestEntries' || name === 'readGroups perGroup')) continue
        await assert.rejects(
          read,
          /limit and offset must be non-negative integers/,
          `${name} ${limit} ${offset}`,
        )
      }
    }
    for (const [name, read] of reads(store, 0, 0)) assert.ok(await read(), `${name} accepts an empty window`)
  })
}
