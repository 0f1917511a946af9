/**
 * Contract cases: the group-state rules G1–G6 of `store/shared/group-state.ts`, one case per rule,
 * plus a mixed sequence whose every group must match {@link groupCounters} over its entries. The
 * SQL and Lua stores keep counters incrementally; these cases are what proves they follow the
 * TypeScript statement.
 */
import assert from 'node:assert/strict'
import { groupCounters } from '../../store/shared/group-state.js'
import type { EntryWrite, FeedKind, GroupRow, Store } from '../../store/store.js'
import { activities, countsOf, entryOf, groupsOf, id, mark, range, sk, type Test } from './fixtures.js'

type Grouped = Exclude<FeedKind, 'flat'>

/** A grouped entry of activity `n`; `extra` overrides or drops (undefined) fields. */
function grouped(kind: Grouped, feed: string, n: number, group: string, actor: string, extra = {}) {
  const e: EntryWrite = { feed, kind, sk: sk(n), origin: null, group, actor, groupId: id(n), ...extra }
  for (const [k, v] of Object.entries(e)) if (v === undefined) delete e[k as keyof EntryWrite]
  return e
}

/** Counters and flags of a group row, without its activities. */
const state = ({ activities: _, ...rest }: GroupRow) => rest

export function groupStateTests(test: Test, kind: Grouped): void {
  const feed = `${kind}:gs`
  const entry = (n: number, group: string, actor = 'u', extra = {}) =>
    grouped(kind, feed, n, group, actor, extra)
  const groups = (store: Store) => groupsOf(store, feed, {}, 1000)
  const one = async (store: Store, key: string) => {
    const row = (await groups(store)).find((g) => g.group === key)
    assert.ok(row, `group ${key} exists`)
    return row
  }

  test('G1: a missing group, actor or groupId is the empty group, the empty actor, the sort key', async (store) => {
    await store.write({
      activities: activities(1, 2),
      add: [entry(1, 'x', 'u', { group: undefined, actor: undefined, groupId: undefined })],
    })
    await store.write({ add: [entry(2, '', '', { groupId: undefined })] })
    const [row] = await groups(store)
    assert.deepEqual([row.group, row.id, row.activityCount, row.actorCount], ['', sk(1), 2, 1])
  })

  test('G1: a group keeps the id of the entry that created it, whichever entries leave', async (store) => {
    await store.write({ activities: activities(1, 2, 3), add: [entry(2, 'g'), entry(3, 'g')] })
    await store.write({ add: [entry(1, 'g')], remove: [{ feed, sk: sk(2) }] })
    assert.deepEqual(state(await one(store, 'g')), {
      id: id(2),
      group: 'g',
      firstSk: sk(1),
      lastSk: sk(3),
      activityCount: 2,
      actorCount: 1,
      seen: false,
      read: false,
    })
  })

  test('G2: only an entry new to the feed joins: counts, actors, bounds, unseen and unread', async (store) => {
    await store.write({ activities: activities(...range(1, 5)), add: [entry(3, 'g', 'a')] })
    await mark(store, feed, true, true)
    // Already held: nothing moves, the flags included.
    await store.write({ add: [entry(3, 'g', 'b')] })
    assert.deepEqual(state(await one(store, 'g')), {
      id: id(3),
      group: 'g',
      firstSk: sk(3),
      lastSk: sk(3),
      activityCount: 1,
      actorCount: 1,
      seen: true,
      read: true,
    })
    // An older entry of the same actor: one more activity, the same actors, firstSk widens.
    await store.write({ add: [entry(1, 'g', 'a')] })
    const older = await one(store, 'g')
    assert.deepEqual(
      [older.activityCount, older.actorCount, older.firstSk, older.lastSk, older.seen, older.read],
      [2, 1, sk(1), sk(3), false, false],
    )
    // A newer entry of a new actor: one more actor, lastSk widens.
    await store.write({ add: [entry(5, 'g', 'b')] })
    const newer = await one(store, 'g')
    assert.deepEqual(
      [newer.activityCount, newer.actorCount, newer.firstSk, newer.lastSk],
      [3, 2, sk(1), sk(5)],
    )
  })

  test('G3: leaving uncounts the last entry of an actor, moves bounds, keeps flags; empty groups go', async (store) => {
    await store.write({
      activities: activities(...range(1, 6)),
      add: [entry(1, 'g', 'a'), entry(2, 'g', 'b', { origin: 'user:o' }), entry(3, 'g', 'a'), entry(4, 'h')],
    })
    await mark(store, feed, [id(1)], true)
    await store.write({ remove: [{ feed, sk: sk(3) }] })
    const afterLast = await one(store, 'g')
    assert.deepEqual(
      [afterLast.activityCount, afterLast.actorCount, afterLast.lastSk, afterLast.seen, afterLast.read],
      [2, 2, sk(2), true, true],
    )
    // A remove naming another origin leaves the entry where it is.
    await store.write({ remove: [{ feed, sk: sk(2), origin: 'user:other' }] })
    assert.equal((await one(store, 'g')).activityCount, 2)
    await store.write({ removeByOrigin: [{ feed, origin: 'user:o' }] })
    const afterOrigin = await one(store, 'g')
    assert.deepEqual([afterOrigin.activityCount, afterOrigin.actorCount], [1, 1])
    assert.deepEqual(await countsOf(store, feed), { unseen: 1, unread: 0 })
    await store.write({ remove: [{ feed, sk: sk(1) }] })
    assert.deepEqual(
      (await groups(store)).map((g) => g.group),
      ['h'],
    )
    assert.deepEqual(await countsOf(store, feed), { unseen: 1, unread: 0 })
    // Back again: a new group, named by its new first entry, unseen and unread.
    await store.write({ add: [entry(6, 'g', 'c')] })
    const back = await one(store, 'g')
    assert.deepEqual([back.id, back.activityCount, back.seen, back.read], [id(6), 1, false, false])
  })

  test('G4: a trim keeps the newest groups by lastSk, the smallest maxLength, after the removals', async (store) => {
    await store.write({
      activities: activities(...range(1, 6)),
      add: [entry(1, 'g1'), entry(5, 'g1', 'v'), entry(2, 'g2'), entry(3, 'g3')],
    })
    const before = state(await one(store, 'g1'))
    // The batch removes g3 before its trim, so g1 and g4 are the newest two; 3 loses to 2.
    await store.write({
      add: [entry(4, 'g4', 'u', { maxLength: 3 }), entry(6, 'g4', 'u', { maxLength: 2 })],
      remove: [{ feed, sk: sk(3) }],
    })
    assert.deepEqual(
      (await groups(store)).map((g) => g.group),
      ['g4', 'g1'],
    )
    assert.deepEqual(state(await one(store, 'g1')), before)
    assert.equal(await entryOf(store, feed, 2), undefined)
    for (const maxLength of [0, -1, 1.5]) {
      await assert.rejects(
        store.write({ add: [entry(7, 'g5', 'u', { maxLength })] }),
        /maxLength must be a positive integer/,
      )
    }
    assert.equal(await entryOf(store, feed, 7), undefined)
  })

  test('G5 and G6: a listed id marks, and a cursor stands for, every group of that id', async (store) => {
    await store.write({
      activities: activities(...range(1, 5)),
      add: [entry(1, 'a'), entry(2, 'b', 'u', { groupId: id(1) }), entry(3, 'c'), entry(5, 'c')],
    })
    await mark(store, feed, [id(1), 'no-such-id'])
    const flags = (await groups(store)).map((g) => [g.group, g.seen])
    assert.deepEqual(flags, [
      ['c', false],
      ['b', true],
      ['a', true],
    ])
    // id(1) names a and b; the cursor is the newer of their lastSks (b's, 2).
    const older = await groupsOf(store, feed, { lt: id(1) }, 1)
    assert.deepEqual(
      older.map((g) => g.group),
      ['a'],
    )
    assert.deepEqual(
      (await groupsOf(store, feed, { gt: id(1) }, 1)).map((g) => g.group),
      ['c'],
    )
  })

  test('counters always equal what the entries give, through a mixed sequence', async (store) => {
    // A seeded sequence of adds, removes and removals by origin over four groups and three
    // actors; the expected state is computed from the entries alone (groupCounters), the ids
    // by G1. Deterministic, so a failure replays.
    let seed = 20
    const next = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31
      return seed % n
    }
    const held = new Map<number, { group: string; actor: string; origin: string | null }>()
    const ids = new Map<string, string>()
    await store.write({ activities: activities(...range(1, 60)) })
    for (let step = 0; step < 40; step++) {
      const op = next(10)
      if (op < 6) {
        const n = 1 + next(60)
        const group = `g${next(4)}`
        const actor = `u${next(3)}`
        const origin = next(3) === 0 ? 'user:o' : null
        await store.write({ add: [entry(n, group, actor, { origin })] })
        if (!held.has(n)) {
          // G1: the entry that creates a group names it.
          if (![...held.values()].some((h) => h.group === group)) ids.set(group, id(n))
          held.set(n, { group, actor, origin })
        }
      } else if (op < 9) {
        const keys = [...held.keys()]
        if (keys.length === 0) continue
        const n = keys[next(keys.length)]
        await store.write({ remove: [{ feed, sk: sk(n) }] })
        held.delete(n)
      } else {
        await store.write({ removeByOrigin: [{ feed, origin: 'user:o' }] })
        for (const [n, h] of held) if (h.origin === 'user:o') held.delete(n)
      }
      const expected = new Map<string, GroupRow>()
      for (const key of new Set([...held.values()].map((h) => h.group))) {
        const sks = [...held].filter(([, h]) => h.group === key).map(([n]) => sk(n))
        sks.sort()
        const actors = new Map<string, number>()
        for (const [, h] of held) if (h.group === key) actors.set(h.actor, (actors.get(h.actor) ?? 0) + 1)
        const counters = groupCounters(ids.get(key) ?? '', sks, actors)
        expected.set(key, { ...counters, group: key, seen: false, read: false, activities: [] })
      }
      const rows = await groups(store)
      assert.deepEqual(
        rows.map((g) => g.group),
        [...expected.values()].sort((a, b) => (a.lastSk < b.lastSk ? 1 : -1)).map((g) => g.group),
        `step ${step}: groups`,
      )
      for (const row of rows) {
        const want = expected.get(row.group)
        assert.ok(want, `step ${step}: group ${row.group} is expected`)
        assert.deepEqual(state(row), state(want), `step ${step}: group ${row.group}`)
        assert.deepEqual(
          row.activities.map((a) => a.sk).reverse(),
          [...held]
            .filter(([, h]) => h.group === row.group)
            .map(([n]) => sk(n))
            .sort(),
          `step ${step}: entries of ${row.group}`,
        )
      }
    }
  })
}
