/**
 * The store contract on PostgreSQL (127.0.0.1:5432, database `test`, a schema of this run's own,
 * dropped afterwards), plus what only PostgreSQL shows: migrations under concurrent opens, a
 * newer schema refused, connection errors, and a backend killed mid-call.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import pg from 'pg'
import { StoreError } from '../src/store/errors.js'
import { openPostgresStore, SCHEMA_VERSION } from '../src/store/postgres/index.js'
import type { PostgresStore } from '../src/store/postgres/postgres-store.js'
import { runStoreContract, sk } from '../src/testing/store-contract.js'
import { eventually, PG, postgresUnavailable, ScratchSchemas } from './fixtures/postgres-store.js'
import { body, flat } from './fixtures/writes.js'

const skip = await postgresUnavailable()
const scratch = new ScratchSchemas('pgstore')
after(() => scratch.drop())

// One schema and one pool for the whole contract: each case starts from empty tables.
const contractSchema = scratch.name()
// Pipelined, as the pool openPostgresStore makes (postgres-group-commit.test.ts runs the contract on a plain one).
const contractPool = new pg.Pool({ ...PG, max: 4, pipeline: true } as pg.PoolConfig)
after(() => contractPool.end())

if (skip) {
  it('PostgreSQL store', { skip }, () => undefined)
} else {
  runStoreContract({
    name: 'postgres',
    create: async () => {
      const store = await openPostgresStore(contractPool, { schema: contractSchema })
      await scratch.empty(contractSchema)
      return store
    },
  })
}

describe('postgres store: opening', { skip }, () => {
  it('migrates a fresh schema once when two processes open it at the same time', async () => {
    const schema = scratch.name()
    const stores = await Promise.all([scratch.open(schema), scratch.open(schema), scratch.open(schema)])
    const versions = await scratch.rows<{ version: number }>(
      `SELECT version FROM "${schema}".schema_version ORDER BY version`,
    )
    assert.deepEqual(
      versions.map((v) => v.version),
      Array.from({ length: SCHEMA_VERSION }, (_, i) => i + 1),
    )
    await stores[0].write({ activities: [body(1)], add: [flat('user:a', 1)] })
    assert.equal((await stores[1].timelines.readFlat('user:a', { limit: 5, offset: 0 }))[0].sk, sk(1))
    for (const store of stores) await store.close()
  })

  it('refuses a schema migrated by newer code, saying so', async () => {
    const schema = scratch.name()
    await (await scratch.open(schema)).close()
    await scratch.admin.query(`INSERT INTO "${schema}".schema_version (version) VALUES ($1)`, [
      SCHEMA_VERSION + 1,
    ])
    await assert.rejects(scratch.open(schema), (error: StoreError) => {
      assert.ok(error instanceof StoreError)
      assert.equal(error.reason, 'schema')
      assert.match(error.message, new RegExp(`version ${SCHEMA_VERSION + 1}, newer than this Eddy`))
      assert.match(error.message, /127\.0\.0\.1:5432 \(database "test"\)/)
      return true
    })
  })

  it('names host and database, never the password, when it cannot connect', async () => {
    const cases: [string, string, RegExp][] = [
      [
        `postgres://nobody:s3cret@127.0.0.1:1/test`,
        'unreachable',
        /cannot reach PostgreSQL at 127\.0\.0\.1:1 \(database "test"\)/,
      ],
      [`postgres://nobody:s3cret@${PG.host}:${PG.port}/test`, 'auth', /refused user "nobody"/],
      [
        `postgres://${PG.user}:s3cret@${PG.host}:${PG.port}/no_such_db`,
        'database',
        /database "no_such_db"\).*does not exist/,
      ],
      ['mysql://root:s3cret@localhost/test', 'config', /not a PostgreSQL URL/],
      ['postgres://root:s3cret@[::bad', 'config', /not a PostgreSQL URL/],
    ]
    for (const [url, reason, message] of cases) {
      await assert.rejects(openPostgresStore(url, { connectionTimeoutMillis: 5000 }), (error: Error) => {
        assert.ok(error instanceof StoreError, `${url}: ${error}`)
        assert.equal(error.reason, reason, error.message)
        assert.match(error.message, message)
        assert.doesNotMatch(`${error.message} ${error.stack}`, /s3cret/)
        return true
      })
    }
  })

  it('refuses a schema name that would need quoting', async () => {
    await assert.rejects(scratch.open('Bad-Name'), /schema name "Bad-Name" is not allowed/)
  })

  it('fails every call after close, and leaves a pool it was given open', async () => {
    const pool = new pg.Pool({ ...PG, max: 2 })
    const store = await openPostgresStore(pool, { schema: contractSchema })
    await store.close()
    for (const call of [
      () => store.timelines.readFlat('user:a', { limit: 1, offset: 0 }),
      () => store.timelines.getEntries('user:a', []),
      () => store.write({}),
      () => store.documents.getDocs('user', []),
    ]) {
      await assert.rejects(call(), /is closed \(close\(\) was called/)
    }
    assert.equal((await pool.query('SELECT 1 AS one')).rows[0].one, 1)
    await pool.end()
  })
})

describe('postgres store: a lost connection', { skip }, () => {
  let schema: string
  let store: PostgresStore
  before(async () => {
    schema = scratch.name()
    store = await scratch.open(schema, { max: 2 })
  })
  after(() => store.close())

  /** Holds `table` locked from the admin pool so the next statement on it waits, then kills its backend. */
  async function killWhileWaiting(table: string, call: () => Promise<unknown>) {
    const blocker = await scratch.admin.connect()
    try {
      await blocker.query('BEGIN')
      await blocker.query(`LOCK TABLE "${schema}".${table} IN EXCLUSIVE MODE`)
      const pending = call().then(
        () => assert.fail('the call should have failed'),
        (error: Error) => error,
      )
      let pid = 0
      await eventually(async () => {
        const [row] = await scratch.rows<{ pid: number }>(
          `SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE $1`,
          [`%"${schema}".${table}%`],
        )
        pid = row?.pid ?? 0
        return pid !== 0
      }, `a statement on ${table} waits for the lock`)
      await scratch.admin.query('SELECT pg_terminate_backend($1)', [pid])
      return await pending
    } finally {
      await blocker.query('ROLLBACK')
      blocker.release()
    }
  }

  it('fails a write with a clear error, applies none of it, and recovers', async () => {
    const error = await killWhileWaiting('entries', () =>
      store.write({
        activities: [body(1)],
        follow: [{ source: 'user:f', target: 'user:a' }],
        add: [flat('user:a', 1)],
      }),
    )
    assert.ok(error instanceof StoreError, String(error))
    assert.equal(error.reason, 'lost')
    assert.match(error.message, /lost the connection to PostgreSQL at .* \(database "test"\) during write/)
    assert.match(error.message, /nothing of it was applied/)
    assert.equal((await store.activities.getActivities([sk(1)])).size, 0)
    assert.deepEqual(await store.follows.followers('user:a', { limit: 5, offset: 0 }), [])
    // The pool replaced the dead connection: the same write now goes through.
    await store.write({
      activities: [body(1)],
      follow: [{ source: 'user:f', target: 'user:a' }],
      add: [flat('user:a', 1)],
    })
    assert.equal((await store.timelines.getEntries('user:a', [sk(1)])).size, 1)
  })

  it('fails a fan-out chunk without moving its cursor; running it again delivers once', async () => {
    const feeds = Array.from({ length: 6 }, (_, i) => `user:f${i}`)
    await store.write({ follow: feeds.map((source) => ({ source, target: 'user:b' })) })
    const [job] = await store.write({
      activities: [body(2)],
      fanout: [
        { id: 'j1', op: 'add', feed: 'user:b', sk: sk(2), shapes: { user: { kind: 'flat' } }, cursor: null },
      ],
    })
    const first = await store.jobs.runFanout(job, 3)
    assert.equal(first?.cursor, 'user:f2')
    const error = await killWhileWaiting('entries', () => store.jobs.runFanout(job, 3))
    assert.ok(error instanceof StoreError && error.reason === 'lost', String(error))
    const [row] = await scratch.rows<{ cursor: string }>(`SELECT cursor FROM "${schema}".fanout_jobs`)
    assert.equal(row.cursor, 'user:f2')
    assert.equal((await store.timelines.getEntries('user:f3', [sk(2)])).size, 0)
    let next = await store.jobs.runFanout(job, 3)
    while (next) next = await store.jobs.runFanout(next, 3)
    for (const feed of feeds) assert.equal((await store.timelines.getEntries(feed, [sk(2)])).size, 1, feed)
    const [{ n }] = await scratch.rows<{ n: number }>(
      `SELECT count(*)::int AS n FROM "${schema}".entries WHERE sk = $1`,
      [sk(2)],
    )
    assert.equal(n, feeds.length)
  })
})
