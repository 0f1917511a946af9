import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { MemoryStore } from '../src/store/memory/memory-store.js'
import { openSqliteStore } from '../src/store/sqlite/index.js'
import type { EntryWrite, MarkTarget, Store, WriteBatch } from '../src/store/store.js'
import { sk } from '../src/testing/store-contract.js'

/** A small deterministic PRNG so a failure replays. */
function prng(seed: number) {
  let s = seed
  return (n: number) => {
    s = (s * 1_103_515_245 + 12_345) % 2 ** 31
    return Math.floor((s / 2 ** 31) * n)
  }
}

const FEEDS = ['notification:a', 'notification:b', 'timeline_aggregated:c']

async function snapshot(store: Store) {
  const out: unknown[] = []
  for (const feed of FEEDS) {
    const { groups, unseen, unread } = await store.readGroups(feed, { limit: 100, offset: 0 }, 3, {
      counts: true,
    })
    out.push(
      feed,
      { unseen, unread },
      groups.map((g) => [
        g.id,
        g.group,
        g.firstSk,
        g.lastSk,
        g.activity_count,
        g.actor_count,
        g.is_seen,
        g.is_read,
        g.activities.map((a) => [a.sk, a.origin]),
      ]),
    )
  }
  return out
}

describe('memory and SQLite stores agree under random grouped writes and marks', () => {
  for (const seed of [1, 2, 3]) {
    it(`seed ${seed}: 400 random operations`, async () => {
      const rand = prng(seed)
      const stores: Store[] = [new MemoryStore(), openSqliteStore(':memory:')]
      const bodies = Array.from({ length: 40 }, (_, n) => ({ sk: sk(n), body: JSON.stringify({ n }) }))
      for (const store of stores) await store.write({ activities: bodies })
      try {
        for (let step = 0; step < 400; step++) {
          const feed = FEEDS[rand(FEEDS.length)]
          const kind = feed.startsWith('notification') ? 'notification' : 'aggregated'
          const op = rand(10)
          let batch: WriteBatch = {}
          let mark: [MarkTarget | undefined, MarkTarget | undefined] | undefined
          if (op < 5) {
            const add: EntryWrite[] = Array.from({ length: 1 + rand(3) }, () => rand(40)).map((n) => ({
              feed,
              kind,
              sk: sk(n),
              origin: rand(2) ? 'user:o' : null,
              group: `g${rand(4)}`,
              actor: `u${rand(3)}`,
              groupId: `id-${n}`,
              ...(rand(8) === 0 ? { maxLength: 1 + rand(3) } : {}),
            }))
            batch = { add }
          } else if (op < 7) {
            batch = { remove: [{ feed, sk: sk(rand(40)) }] }
          } else if (op < 8) {
            batch = { removeByOrigin: [{ feed, origin: 'user:o' }] }
          } else {
            const {
              groups: [one],
            } = await stores[0].readGroups(feed, { limit: 1, offset: rand(4) }, 1)
            const target = (): MarkTarget | undefined =>
              rand(3) === 0 ? true : one && rand(2) ? [one.id] : undefined
            mark = [target(), target()]
          }
          for (const store of stores) {
            if (mark)
              await store.readGroups(feed, { limit: 0, offset: 0 }, 1, { seen: mark[0], read: mark[1] })
            else await store.write(batch)
          }
          if (step % 20 === 19)
            assert.deepEqual(await snapshot(stores[1]), await snapshot(stores[0]), `step ${step}`)
        }
        assert.deepEqual(await snapshot(stores[1]), await snapshot(stores[0]))
      } finally {
        for (const store of stores) await store.close()
      }
    })
  }
})
