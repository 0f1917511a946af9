/**
 * Group commit on SQLite (`WriteBatch.groupCommit`): writes issued in one turn of the event loop
 * share one transaction, each is resolved only once another connection can see it (committed),
 * one that fails fails alone, and one the transaction cannot take is rejected with all the others
 * and applies nothing. Commits are counted on the real connection; no timers.
 */
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import Database from 'better-sqlite3'
import { skToId } from '../src/engine/ids.js'
import { openDatabase } from '../src/store/sqlite/driver.js'
import { openSqliteStore, SqliteStore } from '../src/store/sqlite/index.js'
import { configure, migrate } from '../src/store/sqlite/schema.js'
import { type Store, WriteConflict } from '../src/store/store.js'
import { runStoreContract, sk } from '../src/testing/store-contract.js'

const dir = mkdtempSync(join(tmpdir(), 'eddy-group-commit-'))
after(() => rmSync(dir, { recursive: true, force: true }))
let files = 0
const freshFile = () => join(dir, `store-${++files}.db`)

/** A store whose every write asks for group commit: the whole contract must still hold. */
function grouped(store: SqliteStore): Store {
  const write = store.write.bind(store)
  store.write = (batch) => write({ ...batch, groupCommit: true })
  return store
}

runStoreContract({
  name: 'sqlite file, every write group-committed',
  create: () => grouped(openSqliteStore(freshFile())),
})

/** A SQLite store on `path` whose IMMEDIATE transactions (the ones that write) are counted. */
function countedStore(path: string, busyMs?: number): { store: SqliteStore; commits: { n: number } } {
  const db = openDatabase(path)
  configure(db)
  migrate(db)
  if (busyMs !== undefined) db.pragma(`busy_timeout = ${busyMs}`)
  const commits = { n: 0 }
  const transaction = db.transaction.bind(db)
  db.transaction = ((fn: (...args: never[]) => unknown) => {
    const tx = transaction(fn)
    const counted = (...args: never[]) => tx(...args)
    counted.immediate = (...args: never[]) => {
      commits.n++
      return tx.immediate(...args)
    }
    return counted
  }) as typeof db.transaction
  return { store: new SqliteStore(db, `sqlite:${path}`), commits }
}

const body = (n: number) => ({ sk: sk(n), body: JSON.stringify({ id: skToId(sk(n)), n }) })
const add = (n: number, feed = 'user:a') => ({
  groupCommit: true,
  activities: [body(n)],
  add: [{ feed, kind: 'flat' as const, sk: sk(n), origin: null }],
})

describe('sqlite group commit', () => {
  it('commits the writes of one turn once, and resolves each only when another connection sees it', async () => {
    const path = freshFile()
    const { store, commits } = countedStore(path)
    const other = new Database(path, { readonly: true })
    const visible = (n: number) =>
      other.prepare('SELECT 1 FROM activities WHERE sk = ?').get(sk(n)) !== undefined
    try {
      const before = commits.n
      const writes = Array.from({ length: 16 }, (_, i) =>
        store
          .write(add(i + 1))
          .then(() => assert.ok(visible(i + 1), `write ${i + 1} resolved before its commit`)),
      )
      assert.equal(visible(1), false, 'nothing is committed while the turn lasts')
      await Promise.all(writes)
      assert.equal(commits.n - before, 1, 'sixteen writes, one transaction')
      const page = await store.timelines.readFlat('user:a', { limit: 100, offset: 0 })
      assert.equal(page.length, 16)

      // A write without the flag still commits at once, alone.
      await store.write({ activities: [body(100)] })
      assert.equal(commits.n - before, 2)
      assert.ok(visible(100))
    } finally {
      other.close()
      await store.close()
    }
  })

  it('fails a conflicting write alone: the others of its group commit', async () => {
    const { store } = countedStore(freshFile())
    try {
      await store.write({ activities: [body(1)] })
      const results = await Promise.allSettled([
        store.write(add(2)),
        store.write({ ...add(3), expect: [{ sk: sk(1), body: 'not what is stored' }] }),
        store.write(add(4)),
      ])
      assert.deepEqual(
        results.map((r) => r.status),
        ['fulfilled', 'rejected', 'fulfilled'],
      )
      assert.ok((results[1] as PromiseRejectedResult).reason instanceof WriteConflict)
      const stored = await store.activities.getActivities([sk(2), sk(3), sk(4)])
      assert.deepEqual([...stored.keys()].sort(), [sk(2), sk(4)])
      const page = await store.timelines.readFlat('user:a', { limit: 10, offset: 0 })
      assert.deepEqual(page.map((e) => e.sk).sort(), [sk(2), sk(4)])
    } finally {
      await store.close()
    }
  })

  it('rejects every write of a group whose transaction cannot start, and applies none', async () => {
    const path = freshFile()
    const { store } = countedStore(path, 20)
    const holder = new Database(path)
    try {
      holder.exec('BEGIN IMMEDIATE')
      const results = await Promise.allSettled([store.write(add(1)), store.write(add(2))])
      holder.exec('ROLLBACK')
      assert.deepEqual(
        results.map((r) => r.status),
        ['rejected', 'rejected'],
      )
      assert.match(String((results[0] as PromiseRejectedResult).reason), /locked|busy/i)
      assert.equal((await store.activities.getActivities([sk(1), sk(2)])).size, 0)
      await store.write(add(3))
      assert.equal(
        (await store.activities.getActivities([sk(3)])).size,
        1,
        'the store writes again afterwards',
      )
    } finally {
      holder.close()
      await store.close()
    }
  })

  it('commits writes still waiting for their group when the store closes', async () => {
    const path = freshFile()
    const { store } = countedStore(path)
    const writes = [store.write(add(1)), store.write(add(2))]
    await store.close()
    await Promise.all(writes)
    const reopened = openSqliteStore(path)
    try {
      assert.equal((await reopened.activities.getActivities([sk(1), sk(2)])).size, 2)
    } finally {
      await reopened.close()
    }
  })

  it('shares the inline fan-out budget of one chunk among the group', async () => {
    const path = freshFile()
    const { store } = countedStore(path)
    try {
      await store.write({
        follow: Array.from({ length: 40 }, (_, i) => ({ source: `timeline:f${i}`, target: 'user:star' })),
      })
      const job = (n: number) => ({
        id: `job-${n}`,
        op: 'add' as const,
        feed: 'user:star',
        sk: sk(n),
        shapes: { timeline: { kind: 'flat' as const } },
        cursor: null,
      })
      // Each write alone would deliver 40 followers inline; four in one group get 10 each.
      const pending = await Promise.all(
        [1, 2, 3, 4].map((n) => store.write({ ...add(n, 'user:star'), fanout: [job(n)], chunkSize: 40 })),
      )
      for (const jobs of pending) {
        assert.equal(jobs.length, 1)
        assert.equal(jobs[0].cursor, 'timeline:f17', 'ten followers (in name order) delivered inline')
      }
    } finally {
      await store.close()
    }
  })
})
