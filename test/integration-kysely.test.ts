/** Kysely helpers: the adapter suite on SQLite and PostgreSQL, plus what only Kysely has. */
import assert from 'node:assert/strict'
import { after, afterEach, before, beforeEach, describe, it } from 'node:test'
import Database from 'better-sqlite3'
import { Kysely, SqliteDialect, sql } from 'kysely'
import { connect, type EddyClient } from '../src/client/client.js'
import {
  activityCreated,
  activityDeleted,
  configure,
  resetSettings,
  resetTracking,
} from '../src/django/index.js'
import { insert } from '../src/django/kysely/index.js'
import { adapterSuite } from './fixtures/integration/adapter-suite.js'
import { kyselyHarness, openKysely } from './fixtures/integration/kysely.js'
import { postgresUnavailable } from './fixtures/integration/postgres.js'
import { forbiddenClient, RecordingClient } from './fixtures/integration/recording.js'

const pgSkip = await postgresUnavailable()
adapterSuite(kyselyHarness('sqlite'))
adapterSuite(kyselyHarness('postgres', pgSkip))

describe('Kysely specifics', () => {
  let opened: Awaited<ReturnType<typeof openKysely>>
  let eddy: EddyClient
  let recorder: RecordingClient
  let userId: number

  before(async () => {
    opened = await openKysely('sqlite')
  })
  after(async () => {
    await opened.close()
    await resetSettings()
  })
  beforeEach(async () => {
    eddy = connect({ store: 'memory' })
    recorder = new RecordingClient(eddy)
    configure({ client: recorder })
    resetTracking()
    userId = (await insert(opened.db, 'users', { username: 'k' }))[0].id
  })
  afterEach(() => eddy.close())

  const feed = async () => (await eddy.feed('user', String(userId)).get()).results

  it('db.transaction().execute() publishes after COMMIT and nothing on rollback', async () => {
    await opened.db.transaction().execute(async (trx) => {
      await insert(trx, 'pins', { authorId: userId })
      assert.equal(recorder.calls.length, 0)
    })
    assert.equal(recorder.calls.length, 1)
    await assert.rejects(
      opened.db.transaction().execute(async (trx) => {
        await insert(trx, 'pins', { authorId: userId })
        throw new Error('rollback')
      }),
      /rollback/,
    )
    assert.equal(recorder.calls.length, 1)
  })

  it('a publish failure after COMMIT propagates; the rows stay committed (no ROLLBACK attempted)', async () => {
    configure({ client: forbiddenClient })
    await assert.rejects(
      opened.db.transaction().execute((trx) => insert(trx, 'pins', { authorId: userId, message: 'kept' })),
      /no API call expected/,
    )
    const kept = await opened.db.selectFrom('pins').selectAll().where('message', '=', 'kept').execute()
    assert.equal(kept.length, 1)
  })

  it('plain query-builder writes and raw SQL are untracked; the explicit API covers them', async () => {
    const [row] = await opened.db.insertInto('pins').values({ authorId: userId }).returningAll().execute()
    await sql`DELETE FROM pins WHERE id = ${row.id}`.execute(opened.db)
    assert.equal(recorder.calls.length, 0)
    await activityCreated(row, 'Pin')
    assert.equal((await feed()).length, 1)
    await activityDeleted(row, 'Pin')
    assert.equal((await feed()).length, 0)
  })

  it('a Kysely instance without trackedDialect is refused with the fix', async () => {
    const plain = new Kysely<{
      pins: { id: number; authorId: number; message: string | null; createdAt: string | null }
    }>({ dialect: new SqliteDialect({ database: new Database(':memory:') }) })
    await sql`CREATE TABLE pins (id INTEGER PRIMARY KEY, "authorId" INTEGER, message TEXT, "createdAt" TEXT)`.execute(
      plain,
    )
    await assert.rejects(insert(plain, 'pins', { authorId: userId }), /trackedDialect/)
    await plain.destroy()
  })
})
