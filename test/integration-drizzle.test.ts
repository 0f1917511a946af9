/** Drizzle helpers: the adapter suite on PostgreSQL (node-postgres) and SQLite (better-sqlite3), plus what only Drizzle has. */
import assert from 'node:assert/strict'
import { after, afterEach, before, beforeEach, describe, it } from 'node:test'
import { eq } from 'drizzle-orm'
import { connect, type EddyClient } from '../src/client/client.js'
import { transaction as eddyTransaction, insert, remove } from '../src/django/drizzle/index.js'
import {
  activityCreated,
  activityDeleted,
  configure,
  resetSettings,
  resetTracking,
} from '../src/django/index.js'
import { adapterSuite } from './fixtures/integration/adapter-suite.js'
import { drizzleHarness, openDrizzle } from './fixtures/integration/drizzle.js'
import { postgresUnavailable } from './fixtures/integration/postgres.js'
import { forbiddenClient, RecordingClient } from './fixtures/integration/recording.js'

const pgSkip = await postgresUnavailable()
adapterSuite(drizzleHarness('postgres', pgSkip))
adapterSuite(drizzleHarness('sqlite'))

for (const dialect of ['postgres', 'sqlite'] as const) {
  describe(`Drizzle specifics on ${dialect}`, { skip: dialect === 'postgres' ? pgSkip : undefined }, () => {
    let opened: Awaited<ReturnType<typeof openDrizzle>>
    let eddy: EddyClient
    let recorder: RecordingClient
    let userId: number

    before(async () => {
      opened = await openDrizzle(dialect)
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
      userId = (await insert(opened.db, opened.users, { username: 'd' }))[0].id
    })
    afterEach(() => eddy.close())

    const feed = async () => (await eddy.feed('user', String(userId)).get()).results
    const pgOnly = {
      skip: dialect === 'sqlite' ? 'Drizzle runs better-sqlite3 transactions synchronously' : undefined,
    }

    it(
      'a transaction opened with db.transaction() is refused before writing, naming the fix',
      pgOnly,
      async () => {
        await opened.db.transaction(async (tx: any) => {
          await assert.rejects(
            insert(tx, opened.pins, { authorId: userId, message: 'x' }),
            /transaction\(db, fn\)/,
          )
        })
        assert.equal(
          (await opened.db.select().from(opened.pins).where(eq(opened.pins.message, 'x'))).length,
          0,
        )
      },
    )

    it('a publish failure after COMMIT propagates; the rows stay committed', pgOnly, async () => {
      configure({ client: forbiddenClient })
      await assert.rejects(
        eddyTransaction(opened.db, (tx) => insert(tx, opened.pins, { authorId: userId, message: 'kept' })),
        /no API call expected/,
      )
      assert.equal(
        (await opened.db.select().from(opened.pins).where(eq(opened.pins.message, 'kept'))).length,
        1,
      )
    })

    it("transaction() refuses better-sqlite3's synchronous transactions up front", {
      skip: dialect === 'postgres' ? 'node-postgres transactions are asynchronous' : undefined,
    }, async () => {
      await assert.rejects(
        eddyTransaction(opened.db, async (tx) => insert(tx, opened.pins, { authorId: userId })),
        /synchronous/,
      )
      assert.equal(recorder.calls.length, 0)
    })

    it('plain db.insert/db.delete and raw SQL are untracked; the explicit API covers them', async () => {
      const [row] = await opened.db.insert(opened.pins).values({ authorId: userId }).returning()
      await opened.db.delete(opened.pins).where(eq(opened.pins.id, row.id))
      assert.equal(recorder.calls.length, 0)
      await activityCreated(row, 'Pin')
      assert.equal((await feed()).length, 1)
      await activityDeleted(row, 'Pin')
      assert.equal((await feed()).length, 0)
    })

    it('insert and remove outside a transaction publish at once', async () => {
      const [row] = await insert(opened.db, opened.pins, { authorId: userId })
      assert.equal((await feed()).length, 1)
      await remove(opened.db, opened.pins, eq(opened.pins.id, row.id))
      assert.equal((await feed()).length, 0)
    })
  })
}
