/** docs/integration.md's Kysely section as one script: pins inserted in a transaction reach a follower after COMMIT. */
import Database from 'better-sqlite3'
import { client, configure, Enrich, feedManager } from 'eddy/django'
import { insert, remove, trackedDialect, trackKysely } from 'eddy/kysely'
import { Kysely, SqliteDialect, sql } from 'kysely'

interface Pin {
  id: number
  authorId: number
  message: string
  author?: { username: string }
}

configure({ client: { store: 'sqlite:feeds.sqlite' } })
const db = new Kysely<unknown>({
  dialect: trackedDialect(new SqliteDialect({ database: new Database('app.sqlite') })),
})
await sql`CREATE TABLE users (id INTEGER PRIMARY KEY, username TEXT NOT NULL)`.execute(db)
await sql`CREATE TABLE pins (id INTEGER PRIMARY KEY, authorId INTEGER NOT NULL REFERENCES users(id), message TEXT NOT NULL)`.execute(
  db,
)
trackKysely(db, {
  tables: {
    pins: {
      name: 'Pin', // references are Pin:<id>, the verb is "pin"
      actorId: (p: Pin) => p.authorId,
      actor: (p: Pin) => `User:${p.authorId}`,
      relatedModels: ['author'],
      relations: { author: { table: 'users', foreignKey: 'authorId' } },
    },
    users: { name: 'User', track: false }, // enriched, never published
  },
})

const [alice, bob] = await insert(db, 'users', [{ username: 'alice' }, { username: 'bob' }])
await feedManager.followUser(bob.id, alice.id)
await db.transaction().execute(async (trx) => {
  await insert(trx, 'pins', { authorId: alice.id, message: 'hello' })
  const [draft] = await insert(trx, 'pins', { authorId: alice.id, message: 'draft' })
  await remove(trx, 'pins', (eb) => eb('id', '=', draft.id))
}) // published here, after COMMIT
await client.flush?.()

const { results } = await feedManager.getNewsFeeds(bob.id).timeline.get({ limit: 25 })
const [activity] = await new Enrich().enrichActivities(results as never)
const pin = activity.object as Pin
console.log(JSON.stringify({ timeline: results.length, message: pin.message, author: pin.author?.username }))
await db.destroy()
