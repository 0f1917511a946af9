/**
 * Fan-out jobs: each chunk reads the next followers of the job's feed (by follower name), lets
 * the engine build their entries and writes them, all inside the caller's write transaction, and
 * advances or deletes the job row in that same transaction. A chunk that commits is never
 * redone by a process that reads the job row afterwards; one that rolls back left nothing.
 */

import type { ChunkBuilder, FanoutJob } from '../store.js'
import type { Database, Statement } from './driver.js'
import { cached, limitClause } from './statements.js'
import type { TimelineWriter } from './timeline-writer.js'

/** Runs fan-out chunks and persists the jobs that have followers left. */
export class FanoutRunner {
  readonly #timeline: TimelineWriter
  readonly #db: Database
  readonly #followerChunks = new Map<string, Statement>()
  readonly #getJob: Statement
  readonly #insertJob: Statement
  readonly #advanceJob: Statement
  readonly #deleteJob: Statement
  readonly #cancelOthers: Statement
  readonly #hasJobFor: Statement
  readonly #pending: Statement

  constructor(db: Database, timeline: TimelineWriter) {
    this.#timeline = timeline
    this.#db = db
    this.#getJob = db.prepare('SELECT id, op, feed, sk, cursor FROM fanout_jobs WHERE id = ?')
    this.#insertJob = db.prepare(
      `INSERT INTO fanout_jobs (id, op, feed, sk, cursor, created) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET cursor = excluded.cursor`,
    )
    this.#advanceJob = db.prepare('UPDATE fanout_jobs SET cursor = ? WHERE id = ?')
    this.#deleteJob = db.prepare('DELETE FROM fanout_jobs WHERE id = ?')
    this.#hasJobFor = db.prepare('SELECT 1 FROM fanout_jobs WHERE feed = ? AND sk = ? LIMIT 1').pluck()
    this.#cancelOthers = db.prepare('DELETE FROM fanout_jobs WHERE feed = ? AND sk = ? AND id <> ?')
    this.#pending = db.prepare('SELECT id, op, feed, sk, cursor FROM fanout_jobs ORDER BY seq')
  }

  /**
   * Starts a job: cancels pending jobs for the same feed and activity (this one reaches every
   * follower again and decides the outcome), runs the first chunk, and persists the job when
   * followers are left. Returns the job with its cursor advanced, or null when done.
   */
  start(job: FanoutJob, build: ChunkBuilder, chunkSize: number): FanoutJob | null {
    // A read first: a DELETE opens write cursors on the table and both indexes even when nothing
    // matches, which cost ~20 us on every add; pending jobs for the same activity are rare.
    if (this.#hasJobFor.get(job.feed, job.sk) !== undefined) this.#cancelOthers.run(job.feed, job.sk, job.id)
    const next = this.#chunk(job, build, chunkSize)
    // A started job has no row yet (write gives fresh ids; resume starts only row-less jobs).
    if (next) this.#insertJob.run(next.id, next.op, next.feed, next.sk, next.cursor, new Date().toISOString())
    return next
  }

  /**
   * Runs the next chunk of a job. The stored row is the truth: its cursor wins over the caller's
   * copy (another process may have advanced it), and a job whose row is gone is finished or
   * cancelled, unless it never ran (null cursor), which starts it.
   */
  resume(job: FanoutJob, build: ChunkBuilder, chunkSize: number): FanoutJob | null {
    const stored = this.#getJob.get(job.id) as FanoutJob | undefined
    if (!stored) return job.cursor === null ? this.start(job, build, chunkSize) : null
    const next = this.#chunk(stored, build, chunkSize)
    if (next) this.#advanceJob.run(next.cursor, next.id)
    else this.#deleteJob.run(stored.id)
    return next
  }

  /** Persisted jobs, oldest first. */
  pending(): FanoutJob[] {
    return (this.#pending.all() as FanoutJob[]).map(copyJob)
  }

  #chunk(job: FanoutJob, build: ChunkBuilder, chunkSize: number): FanoutJob | null {
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
      const { add, remove } = build(copyJob(job), followers)
      this.#timeline.apply(add, remove)
    }
    // A full chunk may have been the last one; the next run then finds no follower and ends.
    return followers.length === chunkSize
      ? { ...copyJob(job), cursor: followers[followers.length - 1] }
      : null
  }
}

function copyJob(job: FanoutJob): FanoutJob {
  return { id: job.id, op: job.op, feed: job.feed, sk: job.sk, cursor: job.cursor }
}
