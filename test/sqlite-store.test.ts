/** The store contract on SQLite (in memory and on disk), plus what only a file-backed store can show. */
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'
import Database from 'better-sqlite3'
import { skToId } from '../src/engine/ids.js'
import { openSqliteStore, SCHEMA_VERSION } from '../src/store/sqlite/index.js'
import type { EntryWrite } from '../src/store/store.js'
import { runStoreContract, sk } from '../src/testing/store-contract.js'

const dir = mkdtempSync(join(tmpdir(), 'eddy-sqlite-'))
after(() => rmSync(dir, { recursive: true, force: true }))
let files = 0
const freshFile = () => join(dir, `store-${++files}.db`)

runStoreContract({ name: 'sqlite :memory:', create: () => openSqliteStore(':memory:') })
runStoreContract({ name: 'sqlite file', create: () => openSqliteStore(freshFile()) })

const notification = (n: number, actor: string, group = 'g'): EntryWrite => ({
  feed: 'notification:1',
  kind: 'notification',
  sk: sk(n),
  origin: null,
  group,
  actor,
  groupId: skToId(sk(n)),
})
const body = (n: number) => ({ sk: sk(n), body: JSON.stringify({ id: skToId(sk(n)) }) })

describe('sqlite store', () => {
  it('keeps everything across close and reopen', async () => {
    const path = freshFile()
    const first = openSqliteStore(path, { synchronous: 'full' })
    await first.write({
      activities: [body(1), body(2)],
      follow: ['user:a', 'user:b'].map((source) => ({ source, target: 'user:t' })),
      add: [
        { feed: 'user:t', kind: 'flat', sk: sk(1), origin: null },
        notification(1, 'u1'),
        notification(2, 'u2'),
      ],
    })
    const pending = await first.write({
      fanout: [
        { id: 'j1', op: 'add', feed: 'user:t', sk: sk(1), shapes: { user: { kind: 'flat' } }, cursor: null },
      ],
      chunkSize: 1,
      leaseMs: 0,
    })
    assert.equal(pending.length, 1)
    await first.timelines.readGroups('notification:1', { limit: 0, offset: 0 }, 1, { seen: true })
    await first.documents.putDoc('user', 'u1', { name: 'Ann' }, 'insert')
    await first.close()

    const again = openSqliteStore(path)
    assert.deepEqual(
      (await again.timelines.readFlat('user:t', { limit: 10, offset: 0 })).map((e) => e.sk),
      [sk(1)],
    )
    const {
      groups: [group],
    } = await again.timelines.readGroups('notification:1', { limit: 10, offset: 0 }, 10)
    assert.deepEqual([group.activityCount, group.actorCount, group.seen, group.read], [2, 2, true, false])
    assert.deepEqual(await again.follows.countFollows('user:t', { followers: [] }), { followers: 2 })
    assert.deepEqual(await again.jobs.claimFanout({ limit: 10, leaseMs: 1000 }), pending)
    assert.deepEqual((await again.documents.getDocs('user', ['u1']))[0].data, { name: 'Ann' })
    await again.close()
    const db = new Database(path, { readonly: true })
    assert.equal(db.pragma('user_version', { simple: true }), SCHEMA_VERSION)
    assert.equal(db.pragma('journal_mode', { simple: true }), 'wal')
    db.close()
  })

  it('refuses a file written by a newer schema', () => {
    const path = freshFile()
    const db = new Database(path)
    db.pragma(`user_version = ${SCHEMA_VERSION + 1}`)
    db.close()
    assert.throws(() => openSqliteStore(path), /newer than this Eddy/)
  })

  it('two connections on one file keep exact group counts', async () => {
    const path = freshFile()
    const stores = [openSqliteStore(path), openSqliteStore(path)]
    await stores[0].write({ activities: Array.from({ length: 60 }, (_, n) => body(n)) })
    // Interleaved writers, each adding and re-adding what the other added, then removing some.
    for (let n = 0; n < 60; n++) {
      await stores[n % 2].write({ add: [notification(n, `u${n % 7}`)] })
      await stores[(n + 1) % 2].write({ add: [notification(n, `u${n % 7}`)] })
    }
    for (let n = 0; n < 60; n += 3)
      await stores[n % 2].write({ remove: [{ feed: 'notification:1', sk: sk(n) }] })
    for (const store of stores) {
      const {
        groups: [group],
      } = await store.timelines.readGroups('notification:1', { limit: 10, offset: 0 }, 1)
      assert.deepEqual(
        [group.activityCount, group.actorCount, group.firstSk, group.lastSk],
        [40, 7, sk(1), sk(59)],
      )
    }
    await Promise.all(stores.map((s) => s.close()))
  })

  it('two processes writing one notification feed at once keep exact counts', async () => {
    const path = freshFile()
    await openSqliteStore(path).close()
    const storeModule = fileURLToPath(new URL('../src/store/sqlite/index.ts', import.meta.url))
    const contractModule = fileURLToPath(new URL('../src/testing/store-contract.ts', import.meta.url))
    const startAt = Date.now() + 1500
    // Each process adds 300 activities, one transaction each, to the same group; the ranges
    // overlap by 100 so both processes also add the same entries.
    const worker = (from: number) => `
      const { openSqliteStore } = await import(${JSON.stringify(storeModule)})
      const { sk } = await import(${JSON.stringify(contractModule)})
      const store = openSqliteStore(${JSON.stringify(path)})
      while (Date.now() < ${startAt}) {}
      for (let n = ${from}; n < ${from + 300}; n++) {
        await store.write({
          activities: [{ sk: sk(n), body: '{}' }],
          add: [{ feed: 'notification:1', kind: 'notification', sk: sk(n), origin: null, group: 'g',
                  actor: 'u' + (n % 13) }],
        })
      }
      await store.close()
    `
    const run = (from: number) =>
      new Promise<void>((resolve, reject) => {
        const child = spawn(
          process.execPath,
          ['--conditions=eddy-source', '--import', 'tsx', '--input-type=module', '-e', worker(from)],
          { stdio: ['ignore', 'inherit', 'pipe'] },
        )
        let stderr = ''
        child.stderr.on('data', (chunk) => {
          stderr += chunk
        })
        child.on('exit', (code) =>
          code === 0 ? resolve() : reject(new Error(`worker ${from} failed: ${stderr}`)),
        )
      })
    await Promise.all([run(0), run(200)])
    const store = openSqliteStore(path)
    const {
      groups: [group],
      unseen,
      unread,
    } = await store.timelines.readGroups('notification:1', { limit: 10, offset: 0 }, 1, { counts: true })
    assert.deepEqual(
      [group.activityCount, group.actorCount, group.firstSk, group.lastSk],
      [500, 13, sk(0), sk(499)],
    )
    assert.deepEqual({ unseen, unread }, { unseen: 1, unread: 1 })
    await store.close()
  })
})
