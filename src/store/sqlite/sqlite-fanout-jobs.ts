/**
 * Fan-out jobs on SQLite: one row per (feed, activity), upserted, with the entry shapes of its
 * followers and a lease. Each chunk reads the next followers of the job's feed (by follower
 * name, after the stored cursor), writes their entries from the shapes and advances or deletes
 * the row, all inside the caller's write transaction. A chunk that commits is never redone by a
 * process that reads the row afterwards; one that rolls back left nothing.
 */

import type { DeadFanoutJob, EntryRemove, EntryShape, FanoutFailure, FanoutJob } from '../store.js'
import type { Database, Statement } from './driver.js'
import type { SqliteTimelineWriter } from './sqlite-timeline-writer.js'
import { limitClause } from './statements.js'

interface JobRow {
  id: string
  op: 'add' | 'remove'
  feed: string
  sk: string
  shapes: string | null
  cursor: string | null
  lease_ms: number
}

/** Accepts, runs, claims and lists fan-out jobs for the SQLite store. */
export class SqliteFanoutJobs {
  readonly #timeline: SqliteTimelineWriter
  readonly #db: Database
  readonly #chunks = new Map<number, ChunkStatements>()
  readonly #getJob: Statement
  readonly #upsertJob: Statement
  readonly #advanceJob: Statement
  readonly #deleteJob: Statement
  readonly #claimable: Statement
  readonly #lease: Statement
  readonly #fail: Statement
  readonly #dead: Statement
  readonly #deadCount: Statement
  readonly #retry: Statement

  constructor(db: Database, timeline: SqliteTimelineWriter) {
    this.#timeline = timeline
    this.#db = db
    this.#getJob = db.prepare(
      'SELECT id, op, feed, sk, shapes, cursor, lease_ms FROM fanout_jobs WHERE feed = ? AND sk = ?',
    )
    // A job accepted again starts over with the new intent; its place in the queue moves to the end.
    this.#upsertJob = db.prepare(
      `INSERT INTO fanout_jobs (feed, sk, id, op, shapes, cursor, lease_until, lease_ms)
       VALUES (:feed, :sk, :id, :op, :shapes, :cursor, :leaseUntil, :leaseMs)
       ON CONFLICT (feed, sk) DO UPDATE SET
         seq = (SELECT max(seq) + 1 FROM fanout_jobs), id = excluded.id, op = excluded.op,
         shapes = excluded.shapes, cursor = excluded.cursor,
         lease_until = excluded.lease_until, lease_ms = excluded.lease_ms,
         failures = 0, failure = NULL, failed_at = NULL, dead = 0`,
    )
    this.#advanceJob = db.prepare(
      'UPDATE fanout_jobs SET cursor = ?, lease_until = ?, failures = 0 WHERE feed = ? AND sk = ? AND id = ?',
    )
    this.#deleteJob = db.prepare('DELETE FROM fanout_jobs WHERE feed = ? AND sk = ? AND id = ?')
    this.#claimable = db.prepare(
      `SELECT id, op, feed, sk, shapes, cursor, lease_ms FROM fanout_jobs
       WHERE lease_until <= ? ORDER BY seq LIMIT ?`,
    )
    this.#lease = db.prepare('UPDATE fanout_jobs SET lease_until = ?, lease_ms = ? WHERE feed = ? AND sk = ?')
    this.#fail = db.prepare(
      `UPDATE fanout_jobs SET failures = failures + 1, failure = :reason, failed_at = :now,
         dead = (failures + 1 >= :max),
         lease_until = CASE WHEN failures + 1 >= :max THEN ${DEAD_LEASE} ELSE :now + :retryMs END
       WHERE feed = :feed AND sk = :sk AND id = :id RETURNING dead`,
    )
    this.#dead = db.prepare(
      'SELECT id, op, feed, sk, failures, failure, failed_at FROM fanout_jobs WHERE dead = 1 ORDER BY seq LIMIT ?',
    )
    this.#deadCount = db.prepare('SELECT count(*) FROM fanout_jobs WHERE dead = 1').pluck()
    this.#retry = db.prepare(
      `UPDATE fanout_jobs SET dead = 0, failures = 0, lease_until = 0
       WHERE dead = 1 AND (:all OR id IN (SELECT value FROM json_each(:ids)))`,
    )
  }

  /**
   * Accepts a job (replacing any job for the same feed and activity) and, as SQLite's writers
   * are serial (store.ts rule 4), runs its first chunk in the same transaction. Returns the job
   * as advanced when followers are left, else null (and no row stays behind).
   */
  accept(job: FanoutJob, chunkSize: number | undefined, leaseMs: number): FanoutJob | null {
    const now = Date.now()
    const existing = this.#getJob.get(job.feed, job.sk) as JobRow | undefined
    if (chunkSize === undefined) {
      this.#upsert(job, now + leaseMs, leaseMs)
      return copyJob(job)
    }
    const next = this.#chunk(job, chunkSize)
    if (next) this.#upsert(next, now + leaseMs, leaseMs)
    else if (existing) this.#deleteJob.run(existing.feed, existing.sk, existing.id)
    return next
  }

  /**
   * Runs the next chunk of a job from its stored row (rule 5): a row that is gone or has another
   * id means the job is finished or superseded, and nothing happens.
   */
  resume(job: FanoutJob, chunkSize: number): FanoutJob | null {
    const row = this.#getJob.get(job.feed, job.sk) as JobRow | undefined
    if (!row || row.id !== job.id) return null
    const stored = fromRow(row)
    const next = this.#chunk(stored, chunkSize)
    if (next) this.#advanceJob.run(next.cursor, Date.now() + row.lease_ms, row.feed, row.sk, row.id)
    else this.#deleteJob.run(row.feed, row.sk, row.id)
    return next
  }

  /** Leases up to `limit` jobs whose lease has ended, oldest first (call inside a transaction). */
  claim(limit: number, leaseMs: number): FanoutJob[] {
    const now = Date.now()
    const rows = this.#claimable.all(now, limit) as JobRow[]
    for (const row of rows) this.#lease.run(now + leaseMs, leaseMs, row.feed, row.sk)
    return rows.map(fromRow)
  }

  /** Counts a failed run and sets the job aside at `maxFailures` (call inside a transaction). */
  fail(job: FanoutJob, failure: FanoutFailure): 'retry' | 'dead' | 'gone' {
    const row = this.#fail.get({
      feed: job.feed,
      sk: job.sk,
      id: job.id,
      reason: failure.reason,
      now: Date.now(),
      max: failure.maxFailures,
      retryMs: failure.retryMs,
    }) as { dead: number } | undefined
    if (!row) return 'gone'
    return row.dead ? 'dead' : 'retry'
  }

  /** Up to `limit` dead jobs in queue order, and how many there are. */
  dead(limit: number): { total: number; jobs: DeadFanoutJob[] } {
    const rows = this.#dead.all(limit) as (Omit<DeadFanoutJob, 'failedAt' | 'reason'> & {
      failure: string | null
      failed_at: number | null
    })[]
    const jobs = rows.map(({ failure, failed_at, ...job }) => ({
      ...job,
      reason: failure ?? '',
      failedAt: new Date(failed_at ?? 0).toISOString(),
    }))
    return { total: this.#deadCount.get() as number, jobs }
  }

  /** Puts dead jobs (by id, or all) back, claimable at once; how many (call inside a transaction). */
  retry(ids: string[] | 'all'): number {
    const all = ids === 'all' ? 1 : 0
    return this.#retry.run({ all, ids: JSON.stringify(ids === 'all' ? [] : ids) }).changes
  }

  #upsert(job: FanoutJob, leaseUntil: number, leaseMs: number): void {
    this.#upsertJob.run({
      feed: job.feed,
      sk: job.sk,
      id: job.id,
      op: job.op,
      shapes: job.shapes === undefined ? null : JSON.stringify(job.shapes),
      cursor: job.cursor,
      leaseUntil,
      leaseMs,
    })
  }

  #chunk(job: FanoutJob, chunkSize: number): FanoutJob | null {
    if (!Number.isInteger(chunkSize) || chunkSize < 1) {
      throw new Error(`chunkSize must be a positive integer, got ${chunkSize}`)
    }
    const cursor = job.cursor ?? ''
    const st = this.#chunkStatements(chunkSize)
    if (job.op === 'remove') {
      const followers = st.followers.all(job.feed, cursor) as string[]
      const remove: EntryRemove[] = followers.map((feed) => ({ feed, sk: job.sk, origin: job.feed }))
      this.#timeline.apply(undefined, remove)
      return next(job, followers.length, followers.at(-1), chunkSize)
    }
    // An add chunk is a few statements whatever its size: one counts the window of followers,
    // one inserts the entries of every follower whose slug has a plain flat shape (no trim), in
    // SQL; only followers of grouped or capped feeds come to JavaScript, entry by entry.
    const [count, last] = st.window.get(job.feed, cursor) as [number, string | null]
    if (count > 0) {
      const shapes = job.shapes ?? {}
      const plain: string[] = []
      const other: string[] = []
      for (const [slug, shape] of Object.entries(shapes)) {
        if (shape.kind === 'flat' && shape.maxLength === undefined) plain.push(slug)
        else other.push(slug)
      }
      if (plain.length > 0) {
        st.insertPlain.run({ feed: job.feed, cursor, sk: job.sk, slugs: JSON.stringify(plain) })
      }
      if (other.length > 0) {
        const feeds = st.followersOf.all(job.feed, cursor, JSON.stringify(other)) as string[]
        if (feeds.length > 0) this.#timeline.deliver(feeds, job.sk, job.feed, shapes)
      }
    }
    return next(job, count, last ?? undefined, chunkSize)
  }

  /** The statements of a chunk of `size` followers (LIMIT written in; sizes are few). */
  #chunkStatements(size: number): ChunkStatements {
    let st = this.#chunks.get(size)
    if (st) return st
    // The chunk's followers: the next `size` after the cursor, in name order (an index range).
    const window = `SELECT source FROM follows WHERE target = ? AND source > ? ORDER BY source ${limitClause(size, 0)}`
    const named = `SELECT source FROM follows WHERE target = :feed AND source > :cursor ORDER BY source ${limitClause(size, 0)}`
    const slugIn = (param: string) =>
      `substr(source, 1, instr(source, ':') - 1) IN (SELECT value FROM json_each(${param}))`
    st = {
      followers: this.#db.prepare(window).pluck(),
      window: this.#db.prepare(`SELECT count(*), max(source) FROM (${window})`).raw(),
      insertPlain: this.#db.prepare(
        `INSERT INTO entries (feed, sk, origin, grp, actor)
         SELECT source, :sk, :feed, NULL, NULL FROM (${named}) WHERE ${slugIn(':slugs')}
         ON CONFLICT DO NOTHING`,
      ),
      followersOf: this.#db.prepare(`SELECT source FROM (${window}) WHERE ${slugIn('?')}`).pluck(),
    }
    if (this.#chunks.size >= 32) {
      const oldest = this.#chunks.keys().next()
      if (!oldest.done) this.#chunks.delete(oldest.value)
    }
    this.#chunks.set(size, st)
    return st
  }
}

/** The lease of a dead job: past any clock (2^62 ms), so claims never reach it. */
const DEAD_LEASE = '4611686018427387904'

/** Statements of one chunk size. */
interface ChunkStatements {
  followers: Statement
  window: Statement
  insertPlain: Statement
  followersOf: Statement
}

/** The job after a chunk that handled `count` followers up to `last`, or null when it was the last. */
function next(job: FanoutJob, count: number, last: string | undefined, chunkSize: number): FanoutJob | null {
  // A full chunk may have been the last one; the next run then finds no follower and ends.
  if (count < chunkSize || last === undefined) return null
  const advanced = copyJob(job)
  advanced.cursor = last
  return advanced
}

function fromRow(row: JobRow): FanoutJob {
  const job: FanoutJob = { id: row.id, op: row.op, feed: row.feed, sk: row.sk, cursor: row.cursor }
  if (row.shapes !== null) job.shapes = JSON.parse(row.shapes) as Record<string, EntryShape>
  return job
}

function copyJob(job: FanoutJob): FanoutJob {
  const copy: FanoutJob = { id: job.id, op: job.op, feed: job.feed, sk: job.sk, cursor: job.cursor }
  if (job.shapes !== undefined) copy.shapes = job.shapes
  return copy
}
