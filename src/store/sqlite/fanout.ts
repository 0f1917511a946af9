/**
 * Fan-out jobs on SQLite: one row per (feed, activity), upserted, with the entry shapes of its
 * followers and a lease. Each chunk reads the next followers of the job's feed (by follower
 * name, after the stored cursor), writes their entries from the shapes and advances or deletes
 * the row, all inside the caller's write transaction. A chunk that commits is never redone by a
 * process that reads the row afterwards; one that rolls back left nothing.
 */

import type { EntryRemove, EntryShape, EntryWrite, FanoutJob } from '../store.js'
import type { Database, Statement } from './driver.js'
import { cached, limitClause } from './statements.js'
import type { TimelineWriter } from './timeline-writer.js'

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
export class FanoutJobs {
  readonly #timeline: TimelineWriter
  readonly #db: Database
  readonly #followerChunks = new Map<string, Statement>()
  readonly #getJob: Statement
  readonly #upsertJob: Statement
  readonly #advanceJob: Statement
  readonly #deleteJob: Statement
  readonly #claimable: Statement
  readonly #lease: Statement

  constructor(db: Database, timeline: TimelineWriter) {
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
         lease_until = excluded.lease_until, lease_ms = excluded.lease_ms`,
    )
    this.#advanceJob = db.prepare(
      'UPDATE fanout_jobs SET cursor = ?, lease_until = ? WHERE feed = ? AND sk = ? AND id = ?',
    )
    this.#deleteJob = db.prepare('DELETE FROM fanout_jobs WHERE feed = ? AND sk = ? AND id = ?')
    this.#claimable = db.prepare(
      `SELECT id, op, feed, sk, shapes, cursor, lease_ms FROM fanout_jobs
       WHERE lease_until <= ? ORDER BY seq LIMIT ?`,
    )
    this.#lease = db.prepare('UPDATE fanout_jobs SET lease_until = ?, lease_ms = ? WHERE feed = ? AND sk = ?')
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
    // The first chunk (no cursor) runs on every add, so it gets its own statement without the range.
    const first = job.cursor === null
    const statement = cached(this.#followerChunks, `${first}|${chunkSize}`, () =>
      this.#db
        .prepare(
          `SELECT source FROM follows WHERE target = ?${first ? '' : ' AND source > ?'} ORDER BY source ${limitClause(chunkSize, 0)}`,
        )
        .pluck(),
    )
    const followers = (first ? statement.all(job.feed) : statement.all(job.feed, job.cursor)) as string[]
    if (followers.length > 0) {
      if (job.op === 'remove') {
        const remove: EntryRemove[] = followers.map((feed) => ({ feed, sk: job.sk, origin: job.feed }))
        this.#timeline.apply(undefined, remove)
      } else this.#timeline.apply(entries(job, followers))
    }
    // A full chunk may have been the last one; the next run then finds no follower and ends.
    return followers.length === chunkSize
      ? { ...copyJob(job), cursor: followers[followers.length - 1] }
      : null
  }
}

/** The entries an add job writes into `followers`, by each follower's slug. */
function entries(job: FanoutJob, followers: string[]): EntryWrite[] {
  const shapes = job.shapes ?? {}
  const out: EntryWrite[] = []
  for (const feed of followers) {
    const shape: EntryShape | undefined = shapes[feed.slice(0, feed.indexOf(':'))]
    if (shape) out.push({ ...shape, feed, sk: job.sk, origin: job.feed })
  }
  return out
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
