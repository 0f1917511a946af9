/** docs/integration.md's Drizzle section as one script (SQLite): pins written through the helpers reach a follower. */
import Database from 'better-sqlite3'
import { eq } from 'drizzle-orm'
import { drizzle } from 'drizzle-orm/better-sqlite3'
import { integer, sqliteTable, text } from 'drizzle-orm/sqlite-core'
import { client, configure, Enrich, feedManager } from 'eddy/django'
import { insert, remove, trackTable } from 'eddy/drizzle'

const users = sqliteTable('users', {
  id: integer('id').primaryKey(),
  username: text('username').notNull(),
})
const pins = sqliteTable('pins', {
  id: integer('id').primaryKey(),
  authorId: integer('authorId')
    .notNull()
    .references(() => users.id),
  message: text('message').notNull(),
})

configure({ client: { store: 'sqlite:feeds.sqlite' } })
const sqlite = new Database('app.sqlite')
sqlite.exec(`CREATE TABLE users (id INTEGER PRIMARY KEY, username TEXT NOT NULL);
  CREATE TABLE pins (id INTEGER PRIMARY KEY, authorId INTEGER NOT NULL REFERENCES users(id), message TEXT NOT NULL)`)
const db = drizzle(sqlite)
trackTable(db, pins, {
  name: 'Pin', // references are Pin:<id>, the verb is "pin"
  actorId: (p: typeof pins.$inferSelect) => p.authorId,
  actor: (p: typeof pins.$inferSelect) => `User:${p.authorId}`,
  relatedModels: ['author'],
  relations: { author: { table: users, foreignKey: 'authorId' } },
})
trackTable(db, users, { name: 'User', track: false }) // enriched, never published

const [alice, bob] = await insert(db, users, [{ username: 'alice' }, { username: 'bob' }])
await feedManager.followUser(bob.id, alice.id)
await insert(db, pins, { authorId: alice.id, message: 'hello' }) // INSERT ... RETURNING, then published
const [draft] = await insert(db, pins, { authorId: alice.id, message: 'draft' })
await remove(db, pins, eq(pins.id, draft.id)) // DELETE ... RETURNING, then removed
await client.flush?.()

const { results } = await feedManager.getNewsFeeds(bob.id).timeline.get({ limit: 25 })
const [activity] = await new Enrich().enrichActivities(results as never)
const pin = activity.object as { message: string; author: { username: string } }
console.log(JSON.stringify({ timeline: results.length, message: pin.message, author: pin.author.username }))
sqlite.close()
