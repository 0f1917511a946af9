/** Contract cases: aggregated and notification groups, seen and read. */
import assert from 'node:assert/strict'
import type { EntryWrite, FeedKind, GroupRow, Store } from '../../store/store.js'
import {
  activities,
  activity,
  countsOf,
  entryOf,
  groupsOf,
  id,
  mark,
  range,
  sk,
  type Test,
} from './fixtures.js'

export function groupTests(test: Test, kind: Exclude<FeedKind, 'flat'>): void {
  const feed = `${kind}:1`
  const entry = (
    n: number,
    group: string,
    actor: string,
    origin: string | null = null,
    maxLength?: number,
  ) => {
    const e: EntryWrite = { feed, kind, sk: sk(n), origin, group, actor, groupId: id(n) }
    if (maxLength !== undefined) e.maxLength = maxLength
    return e
  }
  const reader =
    (store: Store) =>
    (perGroup = 100, q: Parameters<typeof groupsOf>[2] = {}) =>
      groupsOf(store, feed, q, perGroup)
  const summary = (g: GroupRow) => [g.group, g.activityCount, g.actorCount, g.firstSk, g.lastSk]

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
      activityCount: 2,
      actorCount: 2,
      seen: false,
      read: false,
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
    const counts = async () => (await groups()).map((g) => [g.activityCount, g.actorCount])
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
    assert.equal(await entryOf(store, feed, 2), undefined)
    assert.equal(await entryOf(store, feed, 4), undefined)
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
    const order = async (q: Parameters<typeof groupsOf>[2]) => (await groups(1, q)).map((g) => g.group)
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
    assert.equal(g1.activityCount, 5)
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

export function seenTests(test: Test): void {
  const feed = 'notification:1'
  const entry = (n: number, group: string): EntryWrite => ({
    feed,
    kind: 'notification',
    sk: sk(n),
    origin: null,
    group,
    actor: 'u',
    groupId: id(n),
  })
  const flags = async (store: Store) =>
    Object.fromEntries(
      (await groupsOf(store, feed, {}, 1)).map((g) => [g.group, [g.seen, g.read]]),
    ) as Record<string, [boolean, boolean]>

  test('marks groups seen and read independently, all or by id', async (store) => {
    await store.write({ activities: activities(1, 2, 3), add: [entry(1, 'a'), entry(2, 'b'), entry(3, 'c')] })
    await store.write({ add: [{ ...entry(1, 'a'), feed: 'notification:2' }] })
    assert.deepEqual(await countsOf(store, feed), { unseen: 3, unread: 3 })
    await mark(store, feed, [id(1)])
    assert.deepEqual(await countsOf(store, feed), { unseen: 2, unread: 3 })
    await mark(store, feed, undefined, [id(2), 'no-such-group'])
    assert.deepEqual(await flags(store), { a: [true, false], b: [false, true], c: [false, false] })
    await mark(store, feed, [], [])
    assert.deepEqual(await countsOf(store, feed), { unseen: 2, unread: 2 })
    await mark(store, feed, true)
    assert.deepEqual(await countsOf(store, feed), { unseen: 0, unread: 2 })
    await mark(store, feed, undefined, true)
    assert.deepEqual(await countsOf(store, feed), { unseen: 0, unread: 0 })
    assert.deepEqual(await countsOf(store, 'notification:2'), { unseen: 1, unread: 1 })
    assert.deepEqual(await countsOf(store, 'notification:none'), { unseen: 0, unread: 0 })
  })

  test('reads a page, its counts and applies marks in one call, counts taken before the marks', async (store) => {
    await store.write({ activities: activities(1, 2), add: [entry(1, 'a'), entry(2, 'b')] })
    const page = await store.timelines.readGroups(feed, { limit: 10, offset: 0 }, 1, {
      counts: true,
      seen: true,
      read: [id(2)],
    })
    assert.deepEqual([page.unseen, page.unread], [2, 2])
    assert.deepEqual(
      page.groups.map((g) => [g.group, g.seen, g.read]),
      [
        ['b', false, false],
        ['a', false, false],
      ],
    )
    assert.deepEqual(await countsOf(store, feed), { unseen: 0, unread: 1 })
    const plain = await store.timelines.readGroups(feed, { limit: 10, offset: 0 }, 1)
    assert.equal(plain.unseen, undefined)
  })

  test('a new activity makes its group unseen and unread again', async (store) => {
    await store.write({ activities: activities(1, 2, 3), add: [entry(1, 'a'), entry(2, 'b')] })
    await mark(store, feed, true, true)
    await store.write({ add: [entry(3, 'a')] })
    assert.deepEqual(await flags(store), { a: [false, false], b: [true, true] })
    assert.deepEqual(await countsOf(store, feed), { unseen: 1, unread: 1 })
    await mark(store, feed, true, true)
    // Neither re-adding an existing entry nor removing one changes the flags.
    await store.write({ add: [entry(3, 'a')], remove: [{ feed, sk: sk(1) }] })
    assert.deepEqual(await countsOf(store, feed), { unseen: 0, unread: 0 })
  })
}
