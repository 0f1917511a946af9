/** Contract cases: reactions (R1–R4 of `store/reaction-store.ts`) and the audit log (R5). */
import assert from 'node:assert/strict'
import type { AuditEntry, Store, StoredReaction } from '../../store/store.js'
import { WriteConflict } from '../../store/store.js'
import { activity, sk, type Test } from './fixtures.js'

const A = 'activity-a'
const B = 'activity-b'

/** Reaction `id` with order key `n` (larger is newer). */
function reaction(id: string, n: number, extra: Partial<StoredReaction> = {}): StoredReaction {
  const base = { activityId: A, parent: '', userId: 'ann', kind: 'like', deleted: false, ...extra }
  return { id, rk: `rk${String(n).padStart(4, '0')}`, body: JSON.stringify({ id, n }), ...base }
}

function entry(n: number, extra: Partial<AuditEntry> = {}): AuditEntry {
  return {
    id: `audit-${n}`,
    entityType: 'reaction',
    entityId: `r${n}`,
    action: 'created',
    userId: 'ann',
    custom: JSON.stringify({ n }),
    createdAt: new Date(Date.UTC(2026, 0, 1, 0, 0, n)).toISOString(),
    ...extra,
  }
}

const ids = (rows: StoredReaction[]) => rows.map((r) => r.id)
const top = (activityId = A) => ({ activityId, parent: '' })
async function counts(store: Store, activityId = A, parent = '') {
  return (await store.reactions.countReactions([{ activityId, parent }]))[0]
}
async function insert(store: Store, ...rows: StoredReaction[]) {
  const result = await store.reactions.write({ insert: rows })
  assert.equal(result.applied, true, JSON.stringify(result))
}

export function reactionTests(test: Test): void {
  test('lists reactions of a node newest first, by kind, by user, in bounds, oldest first', async (store) => {
    await insert(
      store,
      reaction('r1', 1),
      reaction('r2', 2, { kind: 'comment', userId: 'bob' }),
      reaction('r3', 3, { userId: 'bob' }),
      reaction('r4', 4, { kind: 'clap' }),
      reaction('r5', 5, { activityId: B }),
    )
    const [all, likes, kinds, ann, annHere, bounded, oldest, perKind, own] =
      await store.reactions.listReactions([
        { ...top(), limit: 10 },
        { ...top(), kinds: ['like'], limit: 10 },
        { ...top(), kinds: ['like', 'clap'], limit: 10 },
        { userId: 'ann', limit: 10 },
        { ...top(), userId: 'ann', limit: 10 },
        { ...top(), lt: 'rk0004', gte: 'rk0002', limit: 10 },
        { ...top(), gt: 'rk0001', ascending: true, limit: 2 },
        { ...top(), perKind: true, limit: 1 },
        { ...top(), userId: 'bob', perKind: true, limit: 5 },
      ])
    assert.deepEqual(ids(all), ['r4', 'r3', 'r2', 'r1'])
    assert.deepEqual(ids(likes), ['r3', 'r1'])
    assert.deepEqual(ids(kinds), ['r4', 'r3', 'r1'])
    assert.deepEqual(ids(ann), ['r5', 'r4', 'r1'])
    assert.deepEqual(ids(annHere), ['r4', 'r1'])
    assert.deepEqual(ids(bounded), ['r3', 'r2'])
    assert.deepEqual(ids(oldest), ['r2', 'r3'])
    assert.deepEqual(ids(perKind), ['r4', 'r2', 'r3'], 'the newest of each kind, kinds in name order')
    assert.deepEqual(ids(own), ['r2', 'r3'])
    assert.deepEqual(all[0], reaction('r4', 4, { kind: 'clap' }))
    const [limited, none] = await store.reactions.listReactions([
      { ...top(), kinds: ['like'], perKind: true, limit: 1 },
      { ...top(B), kinds: ['comment'], limit: 5 },
    ])
    assert.deepEqual(ids(limited), ['r3'])
    assert.deepEqual(none, [])
  })

  test('counts live reactions per node and kind, and keeps a kind at 0 after its last goes', async (store) => {
    await insert(store, reaction('r1', 1), reaction('r2', 2), reaction('r3', 3, { kind: 'comment' }))
    await insert(store, reaction('c1', 4, { parent: 'r3', kind: 'like' }))
    assert.deepEqual(await counts(store), { comment: 1, like: 2 })
    assert.deepEqual(await counts(store, A, 'r3'), { like: 1 })
    assert.deepEqual(await counts(store, B), {})
    await store.reactions.write({ remove: [{ id: 'r1' }, { id: 'r3' }, { id: 'missing' }] })
    assert.deepEqual(await counts(store), { comment: 0, like: 1 })
    // A retried insert of an existing id is refused and moves nothing.
    const again = await store.reactions.write({ insert: [reaction('r2', 2)] })
    assert.deepEqual([again.applied, again.taken], [false, ['r2']])
    assert.deepEqual(await counts(store), { comment: 0, like: 1 })
    const both = await store.reactions.countReactions([top(B), top(A)])
    assert.deepEqual(both, [{}, { comment: 0, like: 1 }])
  })

  test("counts kinds named like Object's own properties as plain kinds", async (store) => {
    await insert(store, reaction('r1', 1, { kind: '__proto__' }), reaction('r2', 2, { kind: 'constructor' }))
    const [own] = await store.reactions.countReactions([top(A)])
    assert.deepEqual(Object.entries(own).sort(), [
      ['__proto__', 1],
      ['constructor', 1],
    ])
    assert.equal(Object.getPrototypeOf(own), Object.prototype)
  })

  test('refuses an id repeated within one batch as taken, counting it once', async (store) => {
    const twice = await store.reactions.write({ insert: [reaction('r1', 1), reaction('r1', 2)] })
    assert.deepEqual([twice.applied, twice.taken], [false, ['r1']])
    assert.deepEqual(await counts(store), {})
  })

  test('applies a batch whole or not at all: a taken id, a missing parent or a stale body refuses it', async (store) => {
    await insert(store, reaction('r1', 1))
    const stored = (await store.reactions.getReactions(['r1'])).get('r1')
    assert.ok(stored)
    const refused = await store.reactions.write({
      insert: [reaction('r2', 2), reaction('c1', 3, { parent: 'ghost' }), reaction('r1', 4)],
      update: [{ id: 'r1', expect: '{"old":true}', body: '{"new":true}' }],
      remove: [{ id: 'r1' }],
      audit: [entry(1)],
    })
    assert.deepEqual(
      [refused.applied, refused.taken, refused.orphaned, refused.stale, refused.removed],
      [false, ['r1'], ['c1'], ['r1'], []],
    )
    assert.deepEqual([...(await store.reactions.getReactions(['r1', 'r2', 'c1'])).keys()], ['r1'])
    assert.deepEqual(await counts(store), { like: 1 })
    assert.deepEqual(await store.audit.list({ limit: 10 }), [])
    const updated = await store.reactions.write({
      update: [{ id: 'r1', expect: stored.body, body: '{"new":true}' }],
      insert: [reaction('c1', 5, { parent: 'r1', kind: 'reply' })],
      audit: [entry(2)],
    })
    assert.equal(updated.applied, true)
    assert.equal((await store.reactions.getReactions(['r1'])).get('r1')?.body, '{"new":true}')
    assert.deepEqual(await counts(store, A, 'r1'), { reply: 1 })
    assert.deepEqual(
      (await store.audit.list({ limit: 10 })).map((e) => e.id),
      ['audit-2'],
    )
  })

  test('soft-deletes and restores: kept and flagged, hidden from lists and counts, no children', async (store) => {
    await insert(store, reaction('r1', 1), reaction('r2', 2))
    const body = (await store.reactions.getReactions(['r1'])).get('r1')?.body
    assert.ok(body)
    assert.equal(
      (await store.reactions.write({ update: [{ id: 'r1', expect: body, deleted: true }] })).applied,
      true,
    )
    assert.equal((await store.reactions.getReactions(['r1'])).get('r1')?.deleted, true)
    assert.deepEqual(ids((await store.reactions.listReactions([{ ...top(), limit: 5 }]))[0]), ['r2'])
    assert.deepEqual(ids((await store.reactions.listReactions([{ userId: 'ann', limit: 5 }]))[0]), ['r2'])
    assert.deepEqual(await counts(store), { like: 1 })
    const child = await store.reactions.write({ insert: [reaction('c1', 3, { parent: 'r1' })] })
    assert.deepEqual([child.applied, child.orphaned], [false, ['c1']])
    // Soft-deleting again changes nothing but the body's condition: counts do not move twice.
    await store.reactions.write({ update: [{ id: 'r1', expect: body, deleted: true }] })
    assert.deepEqual(await counts(store), { like: 1 })
    await store.reactions.write({ update: [{ id: 'r1', expect: body, deleted: false }] })
    assert.deepEqual(await counts(store), { like: 2 })
    assert.deepEqual(ids((await store.reactions.listReactions([{ ...top(), limit: 5 }]))[0]), ['r2', 'r1'])
  })

  test('removes a reaction with its whole subtree, soft-deleted descendants included', async (store) => {
    await insert(
      store,
      reaction('r1', 1, { kind: 'comment' }),
      reaction('c1', 2, { parent: 'r1' }),
      reaction('c2', 3, { parent: 'r1', kind: 'reply' }),
      reaction('g1', 4, { parent: 'c2' }),
      reaction('r2', 5, { kind: 'comment' }),
    )
    const c1 = (await store.reactions.getReactions(['c1'])).get('c1')
    assert.ok(c1)
    await store.reactions.write({ update: [{ id: 'c1', expect: c1.body, deleted: true }] })
    const result = await store.reactions.write({ remove: [{ id: 'r1' }], audit: [entry(1)] })
    assert.equal(result.applied, true)
    assert.deepEqual(ids(result.removed).sort(), ['c1', 'c2', 'g1', 'r1'])
    assert.equal(result.removed.find((r) => r.id === 'c1')?.deleted, true)
    assert.deepEqual([...(await store.reactions.getReactions(['r1', 'c1', 'c2', 'g1', 'r2'])).keys()], ['r2'])
    assert.deepEqual(await counts(store), { comment: 1 })
    assert.deepEqual(await counts(store, A, 'r1'), {}, 'counts of a removed reaction go with it')
    assert.deepEqual(ids((await store.reactions.listReactions([{ userId: 'ann', limit: 9 }]))[0]), ['r2'])
    assert.equal((await store.audit.list({ limit: 5 })).length, 1)
  })

  test('removes an expected reaction once: a second removal of it, or of a changed one, is stale', async (store) => {
    await insert(store, reaction('r1', 1), reaction('r2', 2))
    const [r1, r2] = ['r1', 'r2'].map((id) => reaction(id, Number(id[1])))
    const races = await Promise.all(
      [1, 2, 3].map(() =>
        store.reactions.write({ remove: [{ id: 'r1', expect: r1.body }], audit: [entry(1)] }),
      ),
    )
    assert.equal(races.filter((r) => r.applied).length, 1)
    assert.deepEqual(
      races.filter((r) => !r.applied).map((r) => r.stale),
      [['r1'], ['r1']],
    )
    assert.equal((await store.audit.list({ limit: 5 })).length, 1, 'only the removal that applied is logged')
    const changed = await store.reactions.write({ update: [{ id: 'r2', expect: r2.body, body: '{"v":2}' }] })
    assert.equal(changed.applied, true)
    const stale = await store.reactions.write({ remove: [{ id: 'r2', expect: r2.body }] })
    assert.deepEqual([stale.applied, stale.stale, stale.removed], [false, ['r2'], []])
    assert.deepEqual(await counts(store), { like: 1 })
  })

  test('keeps counts exact under many concurrent inserts and removals', async (store) => {
    const likes = Array.from({ length: 40 }, (_, i) => reaction(`l${i}`, i + 1))
    await Promise.all(likes.map((r) => store.reactions.write({ insert: [r] })))
    await Promise.all([
      ...likes.slice(0, 25).map((r) => store.reactions.write({ remove: [{ id: r.id }] })),
      ...likes.slice(0, 25).map((r) => store.reactions.write({ remove: [{ id: r.id, expect: r.body }] })),
      ...likes.map((r) => store.reactions.write({ insert: [r] })),
    ])
    const left = (await store.reactions.listReactions([{ ...top(), limit: 100 }]))[0]
    assert.deepEqual(await counts(store), { like: left.length })
    assert.ok(left.length >= 15)
  })

  test('lists the audit log newest first, filtered, paged both ways', async (store) => {
    await store.audit.append([
      entry(1),
      entry(2, { entityType: 'activity', entityId: 'a1', userId: 'bob' }),
      entry(3),
      entry(4, { entityType: 'activity', entityId: 'a1' }),
    ])
    const all = await store.audit.list({ limit: 10 })
    assert.deepEqual(
      all.map((e) => e.id),
      ['audit-4', 'audit-3', 'audit-2', 'audit-1'],
    )
    assert.deepEqual(
      { ...all[0], seq: 0 },
      { ...entry(4, { entityType: 'activity', entityId: 'a1' }), seq: 0 },
    )
    assert.ok(all[0].seq > all[1].seq && all[1].seq > all[2].seq && all[2].seq > all[3].seq)
    const a1 = await store.audit.list({ entityType: 'activity', entityId: 'a1', limit: 10 })
    assert.deepEqual(
      a1.map((e) => e.id),
      ['audit-4', 'audit-2'],
    )
    const bob = await store.audit.list({ userId: 'bob', limit: 10 })
    assert.deepEqual(
      bob.map((e) => e.id),
      ['audit-2'],
    )
    const older = await store.audit.list({ before: all[1].seq, limit: 1 })
    assert.deepEqual(
      older.map((e) => e.id),
      ['audit-2'],
    )
    const newer = await store.audit.list({ after: all[3].seq, limit: 2 })
    assert.deepEqual(
      newer.map((e) => e.id),
      ['audit-2', 'audit-3'],
    )
  })

  test('commits audit entries with a feed write, and drops them with a refused one', async (store) => {
    await store.write({ activities: [activity(1)], audit: [entry(1, { entityType: 'activity' })] })
    await assert.rejects(
      store.write({ expect: [{ sk: sk(1), body: 'stale' }], activities: [activity(1)], audit: [entry(2)] }),
      WriteConflict,
    )
    assert.deepEqual(
      (await store.audit.list({ limit: 5 })).map((e) => e.id),
      ['audit-1'],
    )
  })
}
