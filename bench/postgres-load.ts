/**
 * Bulk loading for the PostgreSQL read rows: `total` flat activities written with one
 * `INSERT … SELECT` per 100,000 rows instead of `total` engine adds (1M adds through Eddy would
 * take minutes), producing exactly the rows the store writes for a direct add (an `activities`
 * body and an `entries` reference with no origin). The activities are those
 * bench/engine-bench.ts adds for its SQLite read rows: actor u(i % 97), verb v(i % 5), object
 * o:i, one second apart from 2025-01-01; each 100 go to `user:big` or one of 1,000 `timeline:`
 * feeds in turn. `verifyLoad` checks sampled rows against the engine's own `prepareActivity`.
 */
import { type Activity, prepareActivity } from '../src/engine/activity.js'
import { tailFor } from '../src/engine/ids.js'
import { formatTime } from '../src/engine/time.js'

/** The part of a `pg` client the loader uses. */
export interface SqlClient {
  query(
    config: string | { name?: string; text: string; values?: unknown[] },
  ): Promise<{ rows: Record<string, unknown>[] }>
}

const BATCH = 100_000
const START_MS = Date.UTC(2025, 0, 1)
// 100-ns ticks between the UUID epoch (1582) and the Unix epoch, as in src/engine/ids.ts.
const GREGORIAN_OFFSET = '122192928000000000'

/** The activity the engine bench adds as number `i`. */
export function benchActivity(i: number): { actor: string; verb: string; object: string; time: string } {
  return {
    actor: `u${i % 97}`,
    verb: `v${i % 5}`,
    object: `o:${i}`,
    time: new Date(START_MS + i * 1000).toISOString(),
  }
}

/** The feed activity `i` is added to. */
export function benchFeed(i: number): string {
  const batch = Math.floor(i / 100)
  return batch % 2 === 0 ? 'user:big' : `timeline:t${batch % 1000}`
}

/**
 * The 16 hex digits that end activity `i`'s sort key: the engine hashes the body it will store
 * (with an empty id) into the id, and PostgreSQL has no SHA-1 without pgcrypto, so Node computes
 * these and the database builds everything else around them.
 */
function tails(from: number, to: number): string[] {
  const out: string[] = []
  for (let i = from; i < to; i++) {
    const a = benchActivity(i)
    const time = formatTime((START_MS + i * 1000) * 1000)
    const json = `{"id":"","actor":"${a.actor}","verb":"${a.verb}","object":"${a.object}","target":"","foreign_id":"","time":"${time}","origin":null}`
    out.push(tailFor(`c:${json}`))
  }
  return out
}

/** One statement writing a batch: $1 the first activity's number, $2 the tails in order. */
function loadStatement(s: string): string {
  return `WITH g AS MATERIALIZED (
      SELECT x.i, lpad(to_hex((${START_MS * 1000}::bigint + x.i * 1000000) * 10 + ${GREGORIAN_OFFSET}), 15, '0')
        || t.tail AS sk
      FROM unnest($2::text[]) WITH ORDINALITY AS t(tail, n), LATERAL (SELECT $1::bigint + t.n - 1 AS i) AS x),
    a AS (INSERT INTO ${s}.activities (sk, body)
      SELECT sk, format('{"id":"%s-%s-1%s-%s-%s","actor":"u%s","verb":"v%s","object":"o:%s","target":"","foreign_id":"","time":"%s","origin":null}',
        substr(sk, 8, 8), substr(sk, 4, 4), substr(sk, 1, 3), substr(sk, 16, 4), substr(sk, 20, 12),
        i % 97, i % 5, i,
        to_char(to_timestamp(${START_MS / 1000} + i) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US'))
      FROM g)
    INSERT INTO ${s}.entries (feed, sk)
    SELECT CASE WHEN (i / 100) % 2 = 0 THEN 'user:big' ELSE 'timeline:t' || ((i / 100) % 1000) END, sk
    FROM g ORDER BY 1, 2`
}

/**
 * Writes activities 0 … total-1 into the store's tables in schema `s` (quoted), then VACUUM
 * ANALYZE (as autovacuum would, so plans and index-only scans see a settled table). The next
 * batch's tails are hashed while the database writes the current one. The loading session
 * skips waiting for its commits' flush (`synchronous_commit = off`); the timed rows do not.
 */
export async function bulkLoad(db: SqlClient, s: string, total: number): Promise<void> {
  await db.query('SET synchronous_commit = off')
  const text = loadStatement(s)
  let next = tails(0, Math.min(total, BATCH))
  for (let from = 0; from < total; from += BATCH) {
    const written = db.query({ name: 'eddy_bench_load', text, values: [from, next] })
    next = from + BATCH < total ? tails(from + BATCH, Math.min(total, from + 2 * BATCH)) : []
    await written
  }
  await db.query('SET synchronous_commit = on')
  await db.query(`VACUUM (ANALYZE) ${s}.activities, ${s}.entries`)
}

/**
 * Throws unless sampled rows are byte for byte what the engine would store for those
 * activities, and unless `page` (the newest 25 of `user:big`, read through Eddy) is them.
 */
export async function verifyLoad(db: SqlClient, s: string, total: number, page: Activity[]): Promise<void> {
  const samples = [0, 1, 99, 100, 12_345 % total, Math.floor(total / 2) + 7, total - 1]
  for (const i of samples) {
    const expected = prepareActivity(new Map(), benchActivity(i))
    const { rows } = await db.query({
      text: `SELECT a.body, e.feed, e.origin, e.grp, e.actor FROM ${s}.activities AS a
        JOIN ${s}.entries AS e ON e.sk = a.sk AND e.feed = $2 WHERE a.sk = $1 AND a.foreign_id IS NULL`,
      values: [expected.sk, benchFeed(i)],
    })
    const row = rows[0]
    const ok =
      rows.length === 1 &&
      row.body === expected.body &&
      row.feed === benchFeed(i) &&
      row.origin === null &&
      row.grp === null &&
      row.actor === null
    if (!ok)
      throw new Error(`bulk-loaded activity ${i} differs from what Eddy writes: ${JSON.stringify(rows)}`)
  }
  const newest: number[] = []
  for (let i = total - 1; i >= 0 && newest.length < 25; i--) if (benchFeed(i) === 'user:big') newest.push(i)
  const want = newest.map((i) => ({ ...prepareActivity(new Map(), benchActivity(i)).activity, origin: null }))
  if (JSON.stringify(page) !== JSON.stringify(want)) {
    throw new Error('a page of user:big read through Eddy is not the bulk-loaded activities')
  }
}
