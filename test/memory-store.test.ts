/** The store contract on the in-memory store, and what only the memory store promises. */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { StoreError } from '../src/store/errors.js'
import { MemoryStore, type MemoryStoreOptions } from '../src/store/memory/memory-store.js'
import { createMemoryState } from '../src/store/memory/state.js'
import type { EntryWrite, FanoutJob, Store, WriteBatch } from '../src/store/store.js'
import { WriteConflict } from '../src/store/store.js'
import { runStoreContract, sk } from '../src/testing/store-contract.js'
import { must } from './helpers.js'

runStoreContract({ name: 'memory', create: () => new MemoryStore() })

/** A store with its state in view, counting the undo records of each committed change. */
function observed(options: MemoryStoreOptions = {}) {
  const state = createMemoryState()
  const records: number[] = []
  const store = new MemoryStore({ ...options, state, onCommit: (n) => records.push(n) })
  /** Undo records of one write. */
  const cost = async (batch: WriteBatch) => {
    await store.write(batch)
    return records[records.length - 1]
  }
  return { store, state, cost }
}

const body = (n: number) => ({ sk: sk(n), body: JSON.stringify({ n }) })
const flat = (feed: string, n: number, extra: Partial<EntryWrite> = {}): EntryWrite => ({
  feed,
  kind: 'flat',
  sk: sk(n),
  origin: null,
  ...extra,
})
const note = (feed: string, n: number, group: string, extra: Partial<EntryWrite> = {}): EntryWrite => ({
  feed,
  kind: 'notification',
  sk: sk(n),
  origin: null,
  group,
  actor: `u${n % 7}`,
  groupId: `id-${n}`,
  ...extra,
})
const range = (from: number, count: number) => Array.from({ length: count }, (_, i) => from + i)

/** Fills `feed` with entries 1..count in writes of 500. */
async function fill(store: Store, count: number, entry: (n: number) => EntryWrite) {
  for (let from = 1; from <= count; from += 500) {
    const ns = range(from, Math.min(500, count - from + 1))
    await store.write({ activities: ns.map(body), add: ns.map(entry) })
  }
}

describe('memory store: a write costs what it changes, not the feed size', () => {
  it('logs as many undo records for an add into a 5,000-entry feed as into a 1-entry feed', async () => {
    const { store, state, cost } = observed()
    await fill(store, 5_000, (n) => flat('user:big', n))
    await store.write({ activities: [body(1)], add: [flat('user:small', 1)] })
    const order = must(state.timelines.get('user:big'), 'the user:big timeline').order
    // Newest (an append) and an older key (an insertion in the middle), each with its body.
    const big = [await cost({ activities: [body(9_001)], add: [flat('user:big', 9_001)] })]
    big.push(await cost({ activities: [body(-5)], add: [flat('user:big', -5)] }))
    const small = [await cost({ activities: [body(9_001)], add: [flat('user:small', 9_001)] })]
    small.push(await cost({ activities: [body(-5)], add: [flat('user:small', -5)] }))
    assert.deepEqual(big, small)
    assert.ok(
      big.every((n) => n <= 3),
      `${big} undo records for one flat add`,
    )
    // The feed's order array was changed in place, never copied.
    assert.equal(must(state.timelines.get('user:big'), 'the user:big timeline').order, order)
    assert.equal(order.length, 5_002)
  })

  it('does the same for grouped feeds, trims and removals', async () => {
    const { store, cost } = observed()
    await fill(store, 5_000, (n) => note('notification:big', n, `g${n % 50}`))
    await fill(store, 10, (n) => note('notification:small', n, `g${n % 50}`))
    const add = (feed: string, n: number, group: string, maxLength?: number) =>
      cost({ add: [note(feed, n, group, maxLength === undefined ? {} : { maxLength })] })
    // Into an existing group (it becomes the newest), a new group, then a removal.
    const big = [await add('notification:big', 9_001, 'g3'), await add('notification:big', 9_002, 'new')]
    const small = [
      await add('notification:small', 9_001, 'g3'),
      await add('notification:small', 9_002, 'new'),
    ]
    big.push(await cost({ remove: [{ feed: 'notification:big', sk: sk(9_001) }] }))
    small.push(await cost({ remove: [{ feed: 'notification:small', sk: sk(9_001) }] }))
    assert.deepEqual(big, small)
    assert.ok(Math.max(...big) <= 16, `${big} undo records`)
    // A full flat feed with maxLength: each add trims one entry, at a constant cost.
    await fill(store, 5_000, (n) => flat('user:capped', n, { maxLength: 5_000 }))
    await fill(store, 10, (n) => flat('user:tiny', n, { maxLength: 10 }))
    const capped = await cost({ add: [flat('user:capped', 9_003, { maxLength: 5_000 })] })
    const tiny = await cost({ add: [flat('user:tiny', 9_003, { maxLength: 10 })] })
    assert.equal(capped, tiny)
  })
})

/** A rich state: bodies with foreign ids, flat and grouped feeds, follows, jobs and documents. */
async function populate(store: Store) {
  await store.write({
    activities: range(1, 30).map((n) => ({ ...body(n), foreignId: n % 3 === 0 ? `f${n % 2}` : undefined })),
    follow: ['user:a', 'user:b', 'timeline:c', 'notification:d'].map((source) => ({
      source,
      target: 'user:t',
    })),
    add: [
      ...range(1, 20).map((n) => flat('user:t', n)),
      ...range(1, 12).map((n) => flat('timeline:c', n, { origin: n % 2 ? 'user:t' : null })),
      ...range(1, 25).map((n) => note('notification:d', n, `g${n % 4}`, { origin: n % 3 ? 'user:t' : null })),
    ],
  })
  await store.timelines.readGroups('notification:d', { limit: 0, offset: 0 }, 1, {
    seen: true,
    read: ['id-1', 'id-2'],
  })
  await store.write({
    activities: [body(31)],
    fanout: [
      {
        id: 'j1',
        op: 'add',
        feed: 'user:t',
        sk: sk(31),
        shapes: { user: { kind: 'flat' }, notification: { kind: 'notification', group: 'x', groupId: 'j' } },
        cursor: null,
      },
    ],
    chunkSize: 2,
    leaseMs: 0,
  })
  await store.documents.putDoc('user', 'u1', { name: 'a' }, 'insert')
}

/** A write that does a bit of everything before it fails. */
function everything(extra: Partial<WriteBatch>): WriteBatch {
  return {
    activities: [{ ...body(5), foreignId: 'changed' }, { ...body(6), foreignId: 'f0' }, body(40)],
    follow: [
      { source: 'user:new', target: 'user:t' },
      { source: 'user:a', target: 'user:t' },
    ],
    unfollow: [{ source: 'user:b', target: 'user:t' }],
    add: [
      flat('user:t', 40, { maxLength: 5 }),
      flat('user:fresh', 40),
      note('notification:d', 40, 'g1', { maxLength: 2 }),
      note('notification:d', 0, 'brand-new'),
    ],
    copies: [
      {
        edge: { source: 'user:new', target: 'user:t' },
        entries: [flat('user:new', 20, { origin: 'user:t' })],
      },
    ],
    remove: [
      { feed: 'timeline:c', sk: sk(2) },
      { feed: 'notification:d', sk: sk(6) },
    ],
    removeByOrigin: [
      { feed: 'timeline:c', origin: 'user:t' },
      { feed: 'notification:d', origin: 'user:t' },
    ],
    fanout: [
      { id: 'j2', op: 'add', feed: 'user:t', sk: sk(40), shapes: { user: { kind: 'flat' } }, cursor: null },
      { id: 'j3', op: 'remove', feed: 'user:t', sk: sk(31), cursor: null },
    ],
    chunkSize: 10,
    ...extra,
  }
}

describe('memory store: a failed write leaves every structure exactly as it was', () => {
  const check = async (
    fail: (store: Store) => Promise<unknown>,
    error: RegExp | (new (sk: string) => Error),
  ) => {
    const { store, state } = observed()
    await populate(store)
    const before = structuredClone(state)
    await assert.rejects(fail(store), error)
    assert.deepStrictEqual(structuredClone(state), before)
    // The store still works after the rollback.
    await store.write({ activities: [body(50)], add: [flat('user:t', 50)] })
    assert.equal((await store.timelines.readFlat('user:t', { limit: 1, offset: 0 }))[0].sk, sk(50))
  }

  it('a WriteConflict changes nothing', () =>
    check((store) => store.write(everything({ expect: [{ sk: sk(1), body: 'stale' }] })), WriteConflict))

  it('an invalid maxLength in a follow copy, after adds, follows and bodies, is undone', () =>
    check(
      (store) =>
        store.write(
          everything({
            copies: [
              {
                edge: { source: 'user:new', target: 'user:t' },
                entries: [
                  flat('user:new', 20, { origin: 'user:t' }),
                  flat('user:new', 21, { maxLength: -1 }),
                ],
              },
            ],
          }),
        ),
      /maxLength must be a positive integer/,
    ))

  it('an invalid shape in a second fan-out job, after every other part of the write, is undone', () =>
    check(
      (store) =>
        store.write(
          everything({
            chunkSize: 2,
            fanout: [
              // A full first chunk: the job advances and its lease is renewed.
              {
                id: 'j2',
                op: 'add',
                feed: 'user:t',
                sk: sk(40),
                shapes: { user: { kind: 'flat' } },
                cursor: null,
              },
              {
                id: 'j4',
                op: 'add',
                feed: 'user:t',
                sk: sk(41),
                shapes: { timeline: { kind: 'flat', maxLength: 1.5 } },
                cursor: null,
              },
            ],
          }),
        ),
      /maxLength must be a positive integer, got 1.5/,
    ))

  it('an invalid chunk size is undone', () =>
    check((store) => store.write(everything({ chunkSize: 0 })), /chunkSize must be a positive integer/))

  it('a fan-out chunk that fails is undone', async () => {
    const { store, state } = observed()
    await populate(store)
    const [job] = await store.jobs.claimFanout({ limit: 1, leaseMs: 0 })
    const before = structuredClone(state)
    await assert.rejects(store.jobs.runFanout(job, 1.5), /chunkSize/)
    assert.deepStrictEqual(structuredClone(state), before)
  })

  it('random writes that fail at the end change nothing; those that succeed keep the indexes sorted', async () => {
    let seed = 7
    const random = (n: number) => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31
      return seed % n
    }
    const feeds = ['user:1', 'user:2', 'timeline:3', 'notification:4', 'notification:5']
    const entry = (): EntryWrite => {
      const feed = feeds[random(feeds.length)]
      const n = random(60)
      const origin = random(3) === 0 ? null : feeds[random(feeds.length)]
      const maxLength = random(8) === 0 ? 5 + random(20) : undefined
      return feed.startsWith('notification')
        ? note(feed, n, `g${random(6)}`, { origin, maxLength })
        : flat(feed, n, { origin, maxLength })
    }
    const batch = (): WriteBatch => ({
      activities: range(0, random(3)).map(() => body(random(60))),
      follow: range(0, random(3)).map(() => ({ source: feeds[random(5)], target: feeds[random(5)] })),
      unfollow: range(0, random(2)).map(() => ({ source: feeds[random(5)], target: feeds[random(5)] })),
      add: range(0, random(8)).map(entry),
      remove: range(0, random(4)).map(() => ({ feed: feeds[random(5)], sk: sk(random(60)) })),
      removeByOrigin: random(5) === 0 ? [{ feed: feeds[random(5)], origin: feeds[random(5)] }] : [],
      fanout: random(2)
        ? [{ id: `j${random(1000)}`, op: 'add', feed: feeds[random(5)], sk: sk(random(60)), cursor: null }]
        : [],
      chunkSize: 1 + random(3),
    })
    const failing: FanoutJob = { id: 'f', op: 'add', feed: 'user:1', sk: sk(1), shapes: {}, cursor: null }
    const { store, state } = observed()
    for (let round = 0; round < 300; round++) {
      const before = structuredClone(state)
      // chunkSize 0 fails the write at its very end, once every other part has been applied.
      await assert.rejects(store.write({ ...batch(), chunkSize: 0, fanout: [failing] }))
      assert.deepStrictEqual(structuredClone(state), before, `round ${round}`)
      await store.write(batch())
      if (random(4) === 0) {
        await store.timelines.readGroups('notification:4', { limit: 0, offset: 0 }, 1, {
          seen: true,
          read: [`id-${random(60)}`],
        })
      }
      for (const t of state.timelines.values()) {
        assert.deepEqual(t.order, [...t.entries.keys()].sort())
        const lasts = t.groupOrder.map((g) => g.sks[g.sks.length - 1])
        assert.deepEqual(lasts, [...lasts].sort())
        assert.equal(t.groupOrder.length, t.groups.size)
        assert.equal(
          [...t.groups.values()].reduce((n, g) => n + g.sks.length, 0),
          [...t.entries.values()].filter((e) => e.group !== undefined).length,
        )
      }
    }
  })
})

describe('memory store: leases on the injected clock', () => {
  it('a lease holds until the clock passes it, and each chunk renews it', async () => {
    let clock = 1_000_000
    const store = new MemoryStore({ now: () => clock })
    await store.write({ follow: range(0, 5).map((i) => ({ source: `user:${i}`, target: 'user:t' })) })
    const [job] = await store.write({
      activities: [body(1)],
      fanout: [
        { id: 'j', op: 'add', feed: 'user:t', sk: sk(1), shapes: { user: { kind: 'flat' } }, cursor: null },
      ],
      chunkSize: 2,
      leaseMs: 100,
    })
    assert.equal(job.cursor, 'user:1')
    assert.deepEqual(await store.jobs.claimFanout({ limit: 5, leaseMs: 50 }), [])
    clock += 99
    assert.deepEqual(await store.jobs.claimFanout({ limit: 5, leaseMs: 50 }), [])
    // A chunk renews the writer's lease by what it was leased for (100 ms).
    await store.jobs.runFanout(job, 2)
    clock += 99
    assert.deepEqual(await store.jobs.claimFanout({ limit: 5, leaseMs: 50 }), [])
    clock += 1
    const [claimed] = await store.jobs.claimFanout({ limit: 5, leaseMs: 50 })
    assert.deepEqual([claimed.id, claimed.cursor], ['j', 'user:3'])
    assert.deepEqual(await store.jobs.claimFanout({ limit: 5, leaseMs: 50 }), [])
    clock += 50
    assert.equal((await store.jobs.claimFanout({ limit: 5, leaseMs: 50 })).length, 1)
    assert.equal(await store.jobs.runFanout(claimed, 2), null)
    clock += 1_000
    assert.deepEqual(await store.jobs.claimFanout({ limit: 5, leaseMs: 50 }), [])
  })

  it('times follows and documents by the injected clock; same time: the later edge first', async () => {
    let clock = Date.parse('2024-01-01T00:00:00.000Z')
    const store = new MemoryStore({ now: () => clock })
    await store.write({ follow: [{ source: 'user:a', target: 'user:t' }] })
    await store.write({ follow: [{ source: 'user:b', target: 'user:t' }] })
    clock += 1_000
    await store.write({ follow: [{ source: 'user:a', target: 'user:t' }] })
    const rows = await store.follows.followers('user:t', { limit: 10, offset: 0 })
    assert.deepEqual(
      rows.map((r) => [r.source, r.createdAt, r.updatedAt]),
      [
        ['user:b', '2024-01-01T00:00:00.000Z', '2024-01-01T00:00:00.000Z'],
        ['user:a', '2024-01-01T00:00:00.000Z', '2024-01-01T00:00:01.000Z'],
      ],
    )
    const doc = await store.documents.putDoc('user', 'u', { v: 1 }, 'insert')
    assert.equal(doc?.createdAt, '2024-01-01T00:00:01.000Z')
    // The clock did not move, yet updated_at does: it is the version ifUpdatedAt compares.
    const next = await store.documents.putDoc('user', 'u', { v: 2 }, 'update', doc.updatedAt)
    assert.equal(next?.updatedAt, '2024-01-01T00:00:01.001Z')
    assert.equal(await store.documents.putDoc('user', 'u', { v: 3 }, 'update', doc.updatedAt), undefined)
  })
})

describe('memory store: closed', () => {
  it('rejects every call after close() with an error that says what to do', async () => {
    const store = new MemoryStore()
    await store.close()
    const calls: [string, () => Promise<unknown>][] = [
      ['write', () => store.write({})],
      [
        'runFanout',
        () => store.jobs.runFanout({ id: 'j', op: 'remove', feed: 'a:b', sk: sk(1), cursor: null }, 1),
      ],
      ['claimFanout', () => store.jobs.claimFanout({ limit: 1, leaseMs: 1 })],
      ['getActivities', () => store.activities.getActivities([])],
      ['findByForeignId', () => store.activities.findByForeignId('a:b', 'f')],
      ['getEntries', () => store.timelines.getEntries('a:b', [])],
      ['readFlat', () => store.timelines.readFlat('a:b', { limit: 1, offset: 0 })],
      ['newestEntries', () => store.timelines.newestEntries('a:b', 1)],
      ['readGroups', () => store.timelines.readGroups('a:b', { limit: 1, offset: 0 }, 1)],
      [
        'readGroups (marks)',
        () => store.timelines.readGroups('a:b', { limit: 1, offset: 0 }, 1, { seen: true }),
      ],
      ['followers', () => store.follows.followers('a:b', { limit: 1, offset: 0 })],
      ['following', () => store.follows.following('a:b', { limit: 1, offset: 0 })],
      ['countFollows', () => store.follows.countFollows('a:b', { followers: [] })],
      ['getDocs', () => store.documents.getDocs('user', ['u'])],
      ['putDoc', () => store.documents.putDoc('user', 'u', {}, 'upsert')],
      ['deleteDocs', () => store.documents.deleteDocs('user', ['u'])],
    ]
    for (const [name, call] of calls) {
      await assert.rejects(call(), (error: unknown) => {
        // A store's own error; the engine turns it into an EddyError (test/client-newcomer.test.ts).
        assert.ok(error instanceof StoreError && error.reason === 'closed', name)
        assert.match(error.message, /store "?memory"? is closed.*open a new one/, name)
        return true
      })
    }
    await store.close()
  })
})
