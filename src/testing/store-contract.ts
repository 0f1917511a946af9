/**
 * The contract every `Store` must pass: the rules of `store/store.ts` as node:test cases. A
 * backend's test file calls {@link runStoreContract} with a factory; each case gets a fresh
 * store and closes it afterwards.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { skToId, sortKey, tailFor } from '../engine/ids.js'
import type {
  ChunkBuilder,
  EntryWrite,
  FanoutJob,
  FanoutStart,
  FeedKind,
  GroupRow,
  PageQuery,
  Store,
  StoredActivity,
} from '../store/store.js'

/** How to run the contract against one backend. */
export interface StoreContractOptions {
  /** Shown in the suite title, e.g. `sqlite :memory:`. */
  name: string
  /** A fresh, empty store; called once per test. */
  create: () => Promise<Store> | Store
  /** Tests (by title) this backend skips, with why. */
  skip?: { reason: string; tests: string[] }[]
}

const T0 = 1_700_000_000_000_000
const TAIL = tailFor('x')

/** The n-th test sort key; keys are one second apart and increase with n. */
export function sk(n: number): string {
  return sortKey(T0 + n * 1_000_000, TAIL)
}

/** The activity id of the n-th test sort key. */
function id(n: number): string {
  return skToId(sk(n))
}

function activity(n: number, foreignId?: string): StoredActivity {
  const key = sk(n)
  return { sk: key, body: JSON.stringify({ id: skToId(key), n }), foreignId }
}

function activities(...ns: number[]): StoredActivity[] {
  return ns.map((n) => activity(n))
}

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i)
}

function flat(feed: string, n: number, origin: string | null = null, maxLength?: number): EntryWrite {
  const entry: EntryWrite = { feed, kind: 'flat', sk: sk(n), origin }
  if (maxLength !== undefined) entry.maxLength = maxLength
  return entry
}

function page(extra: Partial<PageQuery> = {}): PageQuery {
  return { limit: 100, offset: 0, ...extra }
}

const N_BY_SK = new Map(range(-10, 100).map((n) => [sk(n), n]))

/** The test numbers of a flat page, for short assertions. */
async function flatNs(store: Store, feed: string, query: PageQuery = page()): Promise<number[]> {
  const rows = await store.readFlat(feed, query)
  return rows.map((r) => N_BY_SK.get(r.sk) ?? Number.NaN)
}

/** Follower feeds `user:00`, `user:01`...: zero-padded so name order is number order. */
function followerFeeds(count: number, slug = 'user'): string[] {
  return range(0, count - 1).map((i) => `${slug}:${String(i).padStart(2, '0')}`)
}

/** Delivers to flat follower feeds (add) or withdraws from them (remove), origin = job feed. */
const flatBuilder: ChunkBuilder = (job, followers) =>
  job.op === 'add'
    ? { add: followers.map((feed) => ({ feed, kind: 'flat' as const, sk: job.sk, origin: job.feed })) }
    : { remove: followers.map((feed) => ({ feed, sk: job.sk, origin: job.feed })) }

/** Delivers to notification feeds, one group `g`, so a double delivery would show in the counts. */
const groupBuilder: ChunkBuilder = (job, followers) => ({
  add: followers.map((feed) => ({
    feed,
    kind: 'notification' as const,
    sk: job.sk,
    origin: job.feed,
    group: 'g',
    actor: 'a',
  })),
})

function job(jobId: string, feed: string, n: number, op: 'add' | 'remove' = 'add'): FanoutJob {
  return { id: jobId, op, feed, sk: sk(n), cursor: null }
}

async function drain(store: Store, start: FanoutJob | null, build: ChunkBuilder, chunkSize: number) {
  let next = start
  for (let i = 0; next && i < 1000; i++) next = await store.runFanout(next, build, chunkSize)
  assert.equal(next, null, 'fan-out did not finish')
}

/** Registers the contract's tests with node:test. */
export function runStoreContract(options: StoreContractOptions): void {
  const skipped = new Map<string, string>()
  for (const { reason, tests } of options.skip ?? []) for (const title of tests) skipped.set(title, reason)
  const test = (title: string, body: (store: Store) => Promise<void>) =>
    it(title, { skip: skipped.get(title) ?? false }, async () => {
      const store = await options.create()
      try {
        await body(store)
      } finally {
        await store.close()
      }
    })

  describe(`store contract: ${options.name}`, () => {
    describe('flat timelines', () => flatTests(test))
    for (const kind of ['aggregated', 'notification'] as const) {
      describe(`${kind} groups`, () => groupTests(test, kind))
    }
    describe('seen and read', () => seenTests(test))
    describe('follows', () => followTests(test))
    describe('fan-out', () => fanoutTests(test))
    describe('documents', () => docTests(test))
  })
}

type Test = (title: string, body: (store: Store) => Promise<void>) => void

function flatTests(test: Test): void {
  test('adds an entry once and keeps its first origin', async (store) => {
    await store.write({ activities: activities(1, 2), add: [flat('user:a', 1), flat('user:a', 2, 'user:b')] })
    await store.write({ add: [flat('user:a', 2, 'user:c'), flat('user:a', 2, 'user:c')] })
    assert.deepEqual(await store.getEntry('user:a', sk(1)), { origin: null })
    assert.deepEqual(await store.getEntry('user:a', sk(2)), { origin: 'user:b' })
    assert.equal(await store.getEntry('user:a', sk(3)), undefined)
    assert.equal(await store.getEntry('user:z', sk(1)), undefined)
    assert.deepEqual(await flatNs(store, 'user:a'), [2, 1])
  })

  test('removes an entry once, and only through the given origin', async (store) => {
    await store.write({ activities: activities(1, 2), add: [flat('user:a', 1, 'user:b'), flat('user:a', 2)] })
    await store.write({ remove: [{ feed: 'user:a', sk: sk(1), origin: 'user:c' }] })
    assert.deepEqual(await store.getEntry('user:a', sk(1)), { origin: 'user:b' })
    await store.write({ remove: [{ feed: 'user:a', sk: sk(1), origin: 'user:b' }] })
    assert.equal(await store.getEntry('user:a', sk(1)), undefined)
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
    const rows = await store.readFlat('user:a', page({ limit: 3 }))
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
    assert.deepEqual(await store.newestEntries('user:a', 3), [sk(5), sk(4), sk(3)])
    assert.deepEqual(await store.newestEntries('user:a', 10), [5, 4, 3, 2, 1].map(sk))
    assert.deepEqual(await store.newestEntries('user:none', 3), [])
  })

  test('stores bodies once, replacing them by sort key', async (store) => {
    await store.write({ activities: [activity(1)], add: [flat('user:a', 1), flat('user:b', 1)] })
    const replaced = { sk: sk(1), body: '{"replaced":true}' }
    await store.write({ activities: [replaced] })
    const got = await store.getActivities([sk(1), sk(2)])
    assert.equal(got.size, 1)
    assert.equal(got.get(sk(1))?.body, replaced.body)
    assert.equal((await store.readFlat('user:b', page()))[0].body, replaced.body)
  })

  test('finds the activities of a feed by foreign_id, newest first', async (store) => {
    await store.write({
      activities: [activity(1, 'f1'), activity(2, 'f1'), activity(3, 'f2'), activity(4)],
      add: [flat('user:a', 1), flat('user:a', 2), flat('user:a', 3), flat('user:a', 4), flat('user:b', 3)],
    })
    assert.deepEqual(await store.findByForeignId('user:a', 'f1'), [sk(2), sk(1)])
    assert.deepEqual(await store.findByForeignId('user:a', 'f2'), [sk(3)])
    assert.deepEqual(await store.findByForeignId('user:b', 'f1'), [])
    assert.deepEqual(await store.findByForeignId('user:a', ''), [])
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

function groupTests(test: Test, kind: Exclude<FeedKind, 'flat'>): void {
  const feed = `${kind}:1`
  const entry = (
    n: number,
    group: string,
    actor: string,
    origin: string | null = null,
    maxLength?: number,
  ) => {
    const e: EntryWrite = { feed, kind, sk: sk(n), origin, group, actor }
    if (maxLength !== undefined) e.maxLength = maxLength
    return e
  }
  const reader =
    (store: Store) =>
    (perGroup = 100, q: Partial<PageQuery> = {}) =>
      store.readGroups(feed, page(q), perGroup)
  const summary = (g: GroupRow) => [g.group, g.activity_count, g.actor_count, g.firstSk, g.lastSk]

  test('creates one group per key, named after its first activity', async (store) => {
    const groups = reader(store)
    await store.write({
      activities: activities(0, 1, 2, 3),
      add: [entry(1, 'like', 'u1'), entry(2, 'follow', 'u2'), entry(3, 'like', 'u2')],
    })
    const [like, follow] = await groups()
    assert.deepEqual(like, {
      id: id(1),
      group: 'like',
      firstSk: sk(1),
      lastSk: sk(3),
      activity_count: 2,
      actor_count: 2,
      is_seen: false,
      is_read: false,
      activities: [3, 1].map((n) => ({ sk: sk(n), origin: null, body: activity(n).body })),
    })
    assert.deepEqual(summary(follow), ['follow', 1, 1, sk(2), sk(2)])
    assert.equal(follow.id, id(2))
    // An older activity moves first_sk but not the id.
    await store.write({ add: [entry(0, 'like', 'u3')] })
    const [again] = await groups()
    assert.deepEqual([again.id, ...summary(again)], [id(1), 'like', 3, 3, sk(0), sk(3)])
  })

  test('counts an entry added twice once', async (store) => {
    const groups = reader(store)
    await store.write({ activities: activities(1, 2), add: [entry(1, 'like', 'u1'), entry(1, 'like', 'u1')] })
    await store.write({ add: [entry(1, 'like', 'u1'), entry(1, 'other', 'u9')] })
    assert.deepEqual((await groups()).map(summary), [['like', 1, 1, sk(1), sk(1)]])
    await store.write({ remove: [{ feed, sk: sk(1) }] })
    await store.write({ remove: [{ feed, sk: sk(1) }] })
    assert.deepEqual(await groups(), [])
  })

  test('keeps actor_count exact when activities are removed', async (store) => {
    const groups = reader(store)
    await store.write({
      activities: activities(1, 2, 3, 4),
      add: [entry(1, 'like', 'u1'), entry(2, 'like', 'u1'), entry(3, 'like', 'u2')],
    })
    const counts = async () => (await groups()).map((g) => [g.activity_count, g.actor_count])
    assert.deepEqual(await counts(), [[3, 2]])
    await store.write({ remove: [{ feed, sk: sk(1) }] })
    assert.deepEqual(await counts(), [[2, 2]])
    await store.write({ remove: [{ feed, sk: sk(2) }] })
    assert.deepEqual(await counts(), [[1, 1]])
    await store.write({ add: [entry(4, 'like', 'u1')] })
    assert.deepEqual(await counts(), [[2, 2]])
    await store.write({ remove: [{ feed, sk: sk(3) }] })
    assert.deepEqual(await counts(), [[1, 1]])
  })

  test('moves first and last sort keys on removal and deletes empty groups', async (store) => {
    const groups = reader(store)
    await store.write({
      activities: activities(1, 2, 3, 5),
      add: [entry(1, 'like', 'u1'), entry(2, 'like', 'u1'), entry(5, 'like', 'u1'), entry(3, 'follow', 'u1')],
    })
    assert.deepEqual(
      (await groups()).map((g) => g.group),
      ['like', 'follow'],
    )
    await store.write({ remove: [{ feed, sk: sk(5) }] })
    assert.deepEqual((await groups()).map(summary), [
      ['follow', 1, 1, sk(3), sk(3)],
      ['like', 2, 1, sk(1), sk(2)],
    ])
    await store.write({ remove: [{ feed, sk: sk(1) }] })
    assert.deepEqual(summary((await groups())[1]), ['like', 1, 1, sk(2), sk(2)])
    await store.write({ remove: [{ feed, sk: sk(2) }] })
    assert.deepEqual(
      (await groups()).map((g) => g.group),
      ['follow'],
    )
    // A group that comes back is new: fresh counters and the id of its new first activity.
    await store.write({ add: [entry(5, 'like', 'u2')] })
    const [like] = await groups()
    assert.deepEqual([like.id, ...summary(like)], [id(5), 'like', 1, 1, sk(5), sk(5)])
  })

  test('trims a grouped feed to its newest maxLength groups, with their entries', async (store) => {
    const groups = reader(store)
    await store.write({
      activities: activities(...range(1, 6)),
      add: [
        entry(1, 'g1', 'u'),
        entry(5, 'g1', 'u'),
        entry(2, 'g2', 'u'),
        entry(3, 'g3', 'u'),
        entry(4, 'g4', 'u'),
      ],
    })
    await store.write({ add: [entry(6, 'g3', 'u', null, 2)] })
    assert.deepEqual((await groups()).map(summary), [
      ['g3', 2, 1, sk(3), sk(6)],
      ['g1', 2, 1, sk(1), sk(5)],
    ])
    assert.equal(await store.getEntry(feed, sk(2)), undefined)
    assert.equal(await store.getEntry(feed, sk(4)), undefined)
    // The trimmed group left no counters behind.
    await store.write({ add: [entry(2, 'g2', 'u')] })
    assert.deepEqual(summary((await groups())[2]), ['g2', 1, 1, sk(2), sk(2)])
  })

  test('removeByOrigin takes entries out of their groups', async (store) => {
    const groups = reader(store)
    await store.write({
      activities: activities(1, 2, 3, 4),
      add: [
        entry(1, 'g1', 'u1', 'user:b'),
        entry(2, 'g1', 'u1'),
        entry(3, 'g1', 'u2', 'user:b'),
        entry(4, 'g2', 'u1', 'user:b'),
      ],
    })
    await store.write({ removeByOrigin: [{ feed, origin: 'user:c' }] })
    assert.equal((await groups()).length, 2)
    await store.write({ removeByOrigin: [{ feed, origin: 'user:b' }] })
    assert.deepEqual((await groups()).map(summary), [['g1', 1, 1, sk(2), sk(2)]])
    assert.deepEqual(
      (await groups())[0].activities.map((a) => a.sk),
      [sk(2)],
    )
  })

  test('pages groups with group-id cursors, falling back to activity ids', async (store) => {
    const groups = reader(store)
    await store.write({
      activities: activities(...range(1, 7)),
      add: [...range(1, 5).map((n) => entry(n, `g${n}`, 'u')), entry(7, 'g2', 'u')],
    })
    const order = async (q: Partial<PageQuery>) => (await groups(1, q)).map((g) => g.group)
    assert.deepEqual(await order({}), ['g2', 'g5', 'g4', 'g3', 'g1'])
    assert.deepEqual(await order({ lt: id(5) }), ['g4', 'g3', 'g1'])
    assert.deepEqual(await order({ lte: id(5) }), ['g5', 'g4', 'g3', 'g1'])
    assert.deepEqual(await order({ gt: id(4) }), ['g2', 'g5'])
    assert.deepEqual(await order({ gte: id(4) }), ['g2', 'g5', 'g4'])
    // g2's id is its first activity's; the cursor stands for its current newest one.
    assert.deepEqual(await order({ lt: id(2) }), ['g5', 'g4', 'g3', 'g1'])
    // Not a group id: the cursor is that activity's sort key.
    assert.deepEqual(await order({ lt: id(6) }), ['g5', 'g4', 'g3', 'g1'])
    assert.deepEqual(await order({ gt: id(6) }), ['g2'])
    assert.deepEqual(await order({ lte: id(7) }), ['g2', 'g5', 'g4', 'g3', 'g1'])
    // Neither: the cursor is ignored.
    assert.deepEqual(await order({ lt: 'not-an-id' }), ['g2', 'g5', 'g4', 'g3', 'g1'])
    assert.deepEqual(await order({ limit: 2, offset: 1 }), ['g5', 'g4'])
    assert.deepEqual(await order({ lt: id(5), limit: 1, offset: 1 }), ['g3'])
  })

  test('returns the newest perGroup activities of each group', async (store) => {
    const groups = reader(store)
    await store.write({
      activities: activities(...range(1, 6)),
      add: [...range(1, 5).map((n) => entry(n, 'g1', `u${n}`, 'user:o')), entry(6, 'g2', 'u')],
    })
    const [g2, g1] = await groups(2)
    assert.deepEqual(
      g1.activities,
      [5, 4].map((n) => ({ sk: sk(n), origin: 'user:o', body: activity(n).body })),
    )
    assert.equal(g1.activity_count, 5)
    assert.deepEqual(
      g2.activities.map((a) => a.sk),
      [sk(6)],
    )
    assert.deepEqual(
      (await groups(0)).map((g) => g.activities),
      [[], []],
    )
  })
}

function seenTests(test: Test): void {
  const feed = 'notification:1'
  const entry = (n: number, group: string): EntryWrite => ({
    feed,
    kind: 'notification',
    sk: sk(n),
    origin: null,
    group,
    actor: 'u',
  })
  const flags = async (store: Store) =>
    Object.fromEntries(
      (await store.readGroups(feed, page(), 1)).map((g) => [g.group, [g.is_seen, g.is_read]]),
    ) as Record<string, [boolean, boolean]>

  test('marks groups seen and read independently, all or by id', async (store) => {
    await store.write({ activities: activities(1, 2, 3), add: [entry(1, 'a'), entry(2, 'b'), entry(3, 'c')] })
    await store.write({ add: [{ ...entry(1, 'a'), feed: 'notification:2' }] })
    assert.deepEqual(await store.groupCounts(feed), { unseen: 3, unread: 3 })
    await store.markGroups(feed, [id(1)])
    assert.deepEqual(await store.groupCounts(feed), { unseen: 2, unread: 3 })
    await store.markGroups(feed, undefined, [id(2), 'no-such-group'])
    assert.deepEqual(await flags(store), { a: [true, false], b: [false, true], c: [false, false] })
    await store.markGroups(feed, [], [])
    assert.deepEqual(await store.groupCounts(feed), { unseen: 2, unread: 2 })
    await store.markGroups(feed, true)
    assert.deepEqual(await store.groupCounts(feed), { unseen: 0, unread: 2 })
    await store.markGroups(feed, undefined, true)
    assert.deepEqual(await store.groupCounts(feed), { unseen: 0, unread: 0 })
    assert.deepEqual(await store.groupCounts('notification:2'), { unseen: 1, unread: 1 })
    assert.deepEqual(await store.groupCounts('notification:none'), { unseen: 0, unread: 0 })
  })

  test('a new activity makes its group unseen and unread again', async (store) => {
    await store.write({ activities: activities(1, 2, 3), add: [entry(1, 'a'), entry(2, 'b')] })
    await store.markGroups(feed, true, true)
    await store.write({ add: [entry(3, 'a')] })
    assert.deepEqual(await flags(store), { a: [false, false], b: [true, true] })
    assert.deepEqual(await store.groupCounts(feed), { unseen: 1, unread: 1 })
    await store.markGroups(feed, true, true)
    // Neither re-adding an existing entry nor removing one changes the flags.
    await store.write({ add: [entry(3, 'a')], remove: [{ feed, sk: sk(1) }] })
    assert.deepEqual(await store.groupCounts(feed), { unseen: 0, unread: 0 })
  })
}

function followTests(test: Test): void {
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

function fanoutTests(test: Test): void {
  const author = 'user:author'
  const follow = (store: Store, feeds: string[]) =>
    store.write({ follow: feeds.map((source) => ({ source, target: author })) })
  const start = (jobs: FanoutJob[], build = flatBuilder, chunkSize = 10): FanoutStart => ({
    jobs,
    build,
    chunkSize,
  })
  const holders = async (store: Store, feeds: string[], n = 1) => {
    const out: string[] = []
    for (const feed of feeds) {
      const entry = await store.getEntry(feed, sk(n))
      if (entry) {
        assert.equal(entry.origin, author)
        out.push(feed)
      }
    }
    return out
  }

  test('fans out the first chunk inside the write and persists the rest', async (store) => {
    const feeds = followerFeeds(25)
    await follow(store, feeds)
    const pending = await store.write(
      { activities: activities(1), add: [flat(author, 1)] },
      start([job('j1', author, 1)]),
    )
    assert.deepEqual(pending, [{ ...job('j1', author, 1), cursor: 'user:09' }])
    assert.deepEqual(await store.pendingFanout(), pending)
    assert.deepEqual(await holders(store, feeds), feeds.slice(0, 10))
    const second = await store.runFanout(pending[0], flatBuilder, 10)
    assert.deepEqual(second, { ...job('j1', author, 1), cursor: 'user:19' })
    assert.deepEqual(await store.pendingFanout(), [second])
    assert.deepEqual(await holders(store, feeds), feeds.slice(0, 20))
    assert.equal(await store.runFanout(second!, flatBuilder, 10), null)
    assert.deepEqual(await holders(store, feeds), feeds)
    assert.deepEqual(await store.pendingFanout(), [])
  })

  test('a chunk run twice delivers once', async (store) => {
    const feeds = followerFeeds(25, 'notification')
    await store.write({ follow: feeds.map((source) => ({ source, target: author })) })
    const [pending] = await store.write(
      { activities: activities(1) },
      start([job('j1', author, 1)], groupBuilder),
    )
    // Two workers holding the same job copy both run "its" next chunk.
    const a = await store.runFanout(pending, groupBuilder, 10)
    const b = await store.runFanout(pending, groupBuilder, 10)
    await drain(store, a, groupBuilder, 10)
    await drain(store, b, groupBuilder, 10)
    for (const feed of feeds) {
      const groups = await store.readGroups(feed, page(), 5)
      assert.deepEqual(
        groups.map((g) => [g.activity_count, g.actor_count, g.activities.length]),
        [[1, 1, 1]],
        feed,
      )
    }
    assert.deepEqual(await store.pendingFanout(), [])
  })

  test('a job with at most a chunk of followers ends inside the write', async (store) => {
    await follow(store, followerFeeds(3))
    assert.deepEqual(await store.write({ activities: activities(1) }, start([job('j1', author, 1)])), [])
    assert.deepEqual(
      await store.write({ activities: activities(2) }, start([job('j2', 'user:lonely', 2)])),
      [],
    )
    assert.deepEqual(await store.pendingFanout(), [])
    assert.deepEqual(await holders(store, followerFeeds(3)), followerFeeds(3))
    // Exactly one full chunk: pending until a run finds no follower left.
    await follow(store, followerFeeds(10))
    const [full] = await store.write({}, start([job('j3', author, 3)]))
    assert.equal(full.cursor, 'user:09')
    assert.equal(await store.runFanout(full, flatBuilder, 10), null)
    assert.deepEqual(await holders(store, followerFeeds(10), 3), followerFeeds(10))
  })

  test('sees the follows and unfollows of its own write', async (store) => {
    await follow(store, ['user:old', 'user:stay'])
    await store.write(
      {
        activities: activities(1),
        follow: [{ source: 'user:new', target: author }],
        unfollow: [{ source: 'user:old', target: author }],
      },
      start([job('j1', author, 1)]),
    )
    assert.deepEqual(await holders(store, ['user:new', 'user:old', 'user:stay']), ['user:new', 'user:stay'])
  })

  test('withdraws an activity with a remove job', async (store) => {
    const feeds = followerFeeds(25)
    await follow(store, feeds)
    const [added] = await store.write({ activities: activities(1) }, start([job('j1', author, 1)]))
    await drain(store, added, flatBuilder, 10)
    // A direct add of the same activity to a follower is not withdrawn (other origin).
    await store.write({ remove: [{ feed: 'user:05', sk: sk(1) }] })
    await store.write({ add: [flat('user:05', 1)] })
    const [removing] = await store.write({}, start([job('j2', author, 1, 'remove')]))
    await drain(store, removing, flatBuilder, 10)
    assert.deepEqual(await flatNs(store, 'user:04'), [])
    assert.deepEqual(await store.getEntry('user:05', sk(1)), { origin: null })
  })

  test('lists pending jobs oldest first', async (store) => {
    await store.write({
      follow: ['user:a', 'user:b'].flatMap((source) =>
        ['user:x', 'user:y', 'user:z'].map((target) => ({ source, target })),
      ),
    })
    for (const [jobId, feed] of [
      ['j1', 'user:x'],
      ['j2', 'user:y'],
      ['j3', 'user:z'],
    ]) {
      await store.write({ activities: activities(1) }, start([job(jobId, feed, 1)], flatBuilder, 1))
    }
    const ids = async () => (await store.pendingFanout()).map((j) => `${j.id}@${j.cursor}`)
    assert.deepEqual(await ids(), ['j1@user:a', 'j2@user:a', 'j3@user:a'])
    const j2 = (await store.pendingFanout())[1]
    await store.runFanout(j2, flatBuilder, 1)
    assert.deepEqual(await ids(), ['j1@user:a', 'j2@user:b', 'j3@user:a'])
  })

  test('runFanout starts a job that no write started', async (store) => {
    const feeds = followerFeeds(15)
    await follow(store, feeds)
    await store.write({ activities: activities(1) })
    const next = await store.runFanout(job('j1', author, 1), flatBuilder, 10)
    assert.deepEqual(next, { ...job('j1', author, 1), cursor: 'user:09' })
    assert.deepEqual(await store.pendingFanout(), [next])
    await drain(store, next, flatBuilder, 10)
    assert.deepEqual(await holders(store, feeds), feeds)
  })

  test('a failing chunk builder rolls the whole write back', async (store) => {
    await follow(store, ['user:f'])
    const failing: ChunkBuilder = () => {
      throw new Error('boom')
    }
    await assert.rejects(
      store.write(
        {
          activities: activities(1),
          add: [flat(author, 1)],
          follow: [{ source: 'user:g', target: author }],
        },
        start([job('j1', author, 1)], failing),
      ),
      /boom/,
    )
    assert.equal((await store.getActivities([sk(1)])).size, 0)
    assert.equal(await store.getEntry(author, sk(1)), undefined)
    assert.equal(await store.countFollows(author, 'followers'), 1)
    assert.deepEqual(await store.pendingFanout(), [])
  })

  // Proposed rules (see the SQLite store): the stored job row is the truth.
  test('starting a job cancels pending jobs for the same feed and activity', async (store) => {
    const feeds = followerFeeds(25)
    await follow(store, feeds)
    const [adding] = await store.write({ activities: activities(1) }, start([job('j1', author, 1)]))
    const [removing] = await store.write({}, start([job('j2', author, 1, 'remove')]))
    assert.deepEqual(
      (await store.pendingFanout()).map((j) => j.id),
      ['j2'],
    )
    // The cancelled add job does nothing more: it cannot resurrect what the remove withdraws.
    assert.equal(await store.runFanout(adding, flatBuilder, 10), null)
    await drain(store, removing, flatBuilder, 10)
    assert.deepEqual(await holders(store, feeds), [])
  })

  test('runFanout follows the stored cursor and ignores finished jobs', async (store) => {
    const feeds = followerFeeds(25)
    await follow(store, feeds)
    const [pending] = await store.write({ activities: activities(1) }, start([job('j1', author, 1)]))
    const advanced = await store.runFanout(pending, flatBuilder, 10)
    assert.equal(advanced?.cursor, 'user:19')
    // A stale copy (cursor user:09) runs the next chunk, not the one already done.
    assert.equal(await store.runFanout(pending, flatBuilder, 10), null)
    assert.deepEqual(await holders(store, feeds), feeds)
    await store.write({ remove: [{ feed: 'user:15', sk: sk(1) }] })
    assert.equal(await store.runFanout(pending, flatBuilder, 10), null)
    assert.equal(await store.getEntry('user:15', sk(1)), undefined)
  })
}

function docTests(test: Test): void {
  test('inserts, updates and upserts documents, keeping created_at', async (store) => {
    const inserted = await store.putDoc('user', 'u1', { name: 'a', tags: ['x'], n: { deep: 1 } }, 'insert')
    assert.ok(inserted)
    assert.deepEqual(inserted.data, { name: 'a', tags: ['x'], n: { deep: 1 } })
    assert.equal(inserted.created_at, inserted.updated_at)
    assert.equal(new Date(inserted.created_at).toISOString(), inserted.created_at)
    assert.equal(await store.putDoc('user', 'u1', { name: 'b' }, 'insert'), undefined)
    assert.equal(await store.putDoc('user', 'u2', { name: 'b' }, 'update'), undefined)
    await new Promise((resolve) => setTimeout(resolve, 5))
    const updated = await store.putDoc('user', 'u1', { name: 'b' }, 'update')
    assert.deepEqual([updated?.data, updated?.created_at], [{ name: 'b' }, inserted.created_at])
    assert.ok(updated!.updated_at > inserted.created_at)
    const upserted = await store.putDoc('user', 'u1', { name: 'c' }, 'upsert')
    assert.deepEqual([upserted?.data, upserted?.created_at], [{ name: 'c' }, inserted.created_at])
    assert.deepEqual((await store.putDoc('user', 'u3', { name: 'd' }, 'upsert'))?.data, { name: 'd' })
    const docs = await store.getDocs('user', ['u3', 'missing', 'u1'])
    assert.deepEqual(
      docs.map((d) => [d.kind, d.id, d.data]),
      [
        ['user', 'u3', { name: 'd' }],
        ['user', 'u1', { name: 'c' }],
      ],
    )
    assert.deepEqual(await store.getDocs('collection', ['u1']), [])
  })

  test('deletes documents and counts those that existed', async (store) => {
    await store.putDoc('user', 'u1', {}, 'insert')
    await store.putDoc('food', 'u2', {}, 'insert')
    assert.equal(await store.deleteDocs('user', ['u1', 'u2', 'nope']), 1)
    assert.deepEqual(await store.getDocs('user', ['u1']), [])
    assert.equal((await store.getDocs('food', ['u2'])).length, 1)
  })
}
