/**
 * What the Redis timelines need from PostgreSQL beyond the PostgreSQL store's own schema: an
 * index that walks a feed's followers in bucket order (so a fan-out chunk of 1,000 followers out
 * of 100,000 touches about 10 hash-tag buckets, not 600), and the statements that read it.
 * Applied once per schema under an advisory lock, recorded in `timelines_version`.
 */

import { StoreError } from '../errors.js'
import { quoted } from '../postgres/schema.js'
import { type Session, type Sql, sql } from '../postgres/session.js'
import type { FollowerWalk } from '../postgres/timelines.js'
import { bucketOf, bucketSql } from './keys.js'

const MIGRATIONS: ((s: string) => string)[] = [
  (s) =>
    `CREATE INDEX IF NOT EXISTS follows_by_bucket ON ${s}.follows (target, ${bucketSql('source')}, source)`,
]

/** The timelines schema version this code writes. */
export const TIMELINES_VERSION = MIGRATIONS.length

// pg_advisory_xact_lock(int, int) class for this migration (the store's own use 0x4564, 0x4565).
const LOCK_CLASS = 0x4566

/** Creates the follower index if missing; refuses a schema migrated by newer code. */
export async function migrateTimelines(session: Session): Promise<void> {
  const s = quoted(session.target.schema)
  await session.transaction('migrate timelines', async (db) => {
    await db.run(sql('SELECT pg_advisory_xact_lock($1::int, hashtext($2))'), [
      LOCK_CLASS,
      session.target.schema,
    ])
    await db.run(sql(`CREATE TABLE IF NOT EXISTS ${s}.timelines_version (version integer PRIMARY KEY)`))
    const [row] = await db.rows<{ v: number | null }>(
      sql(`SELECT max(version) AS v FROM ${s}.timelines_version`),
    )
    const current = row?.v ?? 0
    if (current > TIMELINES_VERSION) {
      throw new StoreError(
        'unavailable',
        `the schema "${session.target.schema}" holds Redis-timeline tables at version ${current}, newer than this Eddy understands (${TIMELINES_VERSION}); upgrade Eddy`,
      )
    }
    for (let v = current; v < TIMELINES_VERSION; v++) {
      await db.run({ name: '', text: MIGRATIONS[v](s) })
      await db.run(sql(`INSERT INTO ${s}.timelines_version (version) VALUES ($1)`), [v + 1])
    }
  })
}

/**
 * Followers in (bucket, name) order. The cursor is the bucket as 3 hex digits and the name, so
 * cursors compare as strings in walk order. A cursor of another form (a job accepted before the
 * store moved to a cluster) restarts the walk, which idempotent writes make harmless. Fan-out's
 * priority walk (postgres/postgres-fanout-jobs.ts) runs this walk too, its cursor prefixed with
 * its phase.
 */
export function bucketWalk(schema: string): FollowerWalk {
  const s = quoted(schema)
  const b = bucketSql('source')
  const statement: Sql = sql(`SELECT source FROM ${s}.follows
    WHERE target = $1 AND (${b}, source) > ($2::int, $3::text) ORDER BY ${b}, source LIMIT $4`)
  return {
    statement,
    values(feed, cursor, limit) {
      const parsed = cursor === null ? null : /^([0-9a-f]{3})(.+)$/s.exec(cursor)
      const bucket = parsed ? Number.parseInt(parsed[1], 16) : -1
      // Only a cursor this walk wrote: its digits are its name's bucket.
      return parsed && bucketOf(parsed[2]) === bucket
        ? [feed, bucket, parsed[2], limit]
        : [feed, -1, '', limit]
    },
    cursorOf: (source) => bucketOf(source).toString(16).padStart(3, '0') + source,
  }
}

/** Statements the composite store runs on PostgreSQL itself. */
export function timelineStatements(schema: string) {
  const s = quoted(schema)
  return {
    byForeignId: sql(`SELECT sk FROM ${s}.activities WHERE foreign_id = $1 ORDER BY sk DESC`),
  }
}
