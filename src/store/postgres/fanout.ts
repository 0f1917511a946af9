/**
 * Fan-out jobs on PostgreSQL: one row per (feed, activity), upserted by `write` with a new id,
 * a reset cursor, the entry shapes of its followers and the writer's lease. `write` never runs
 * a chunk (store.ts rule 4: READ COMMITTED is not serializable, so followers are read only
 * after the job has committed). Each chunk is one transaction: lock the job row, check it is
 * still this job, hold the job feed's edges (so an unfollow waits for the chunk, then removes
 * what it wrote), read the next followers after the stored cursor, write their entries,
 * advance or delete the row. Two workers on one job therefore run its chunks one after the other, each from the
 * cursor the other left.
 */
import type { EntryRemove, EntryShape, EntryWrite, FanoutJob } from '../store.js'
import type { Follows } from './follows.js'
import { quoted } from './schema.js'
import { type Runner, type Session, sql } from './session.js'
import type { FollowerWalk, TimelineBackend } from './timelines.js'

interface JobRow {
  id: string
  op: 'add' | 'remove'
  feed: string
  sk: string
  shapes: Record<string, EntryShape> | null
  cursor: string | null
  seq?: string
}

/** Accepts, runs and claims fan-out jobs. */
export class FanoutJobs {
  readonly #session: Session
  readonly #timeline: TimelineBackend
  readonly #follows: Follows
  readonly #st: ReturnType<typeof statements>
  readonly #walk: FollowerWalk

  constructor(session: Session, schema: string, timeline: TimelineBackend, follows: Follows) {
    this.#session = session
    this.#timeline = timeline
    this.#follows = follows
    this.#st = statements(quoted(schema))
    const byName = this.#st.followers
    this.#walk = timeline.followers ?? {
      statement: byName,
      values: (feed, cursor, n) => [feed, cursor ?? '', n],
      cursorOf: (source) => source,
    }
  }

  /**
   * Upserts `jobs` inside the caller's transaction, leased to the writer for `leaseMs`; returns
   * them as stored (cursor reset). For one key, the last job of the batch wins.
   */
  async accept(db: Runner, jobs: FanoutJob[], leaseMs: number): Promise<FanoutJob[]> {
    checkMs(leaseMs, 'leaseMs')
    const byKey = new Map<string, FanoutJob>()
    for (const job of jobs) {
      if (job.op !== 'add' && job.op !== 'remove') throw new Error(`unknown fan-out op ${String(job.op)}`)
      const key = `${job.feed}\u0000${job.sk}`
      byKey.delete(key)
      byKey.set(key, job)
    }
    const accepted = [...byKey.values()]
    await db.run(this.#st.upsert, [
      accepted.map((j) => j.feed),
      accepted.map((j) => j.sk),
      accepted.map((j) => j.id),
      accepted.map((j) => j.op),
      accepted.map((j) => (j.shapes === undefined ? null : JSON.stringify(j.shapes))),
      leaseMs,
    ])
    return accepted.map((j) => copyJob({ ...j, cursor: null }))
  }

  /** Runs the next chunk of `job` from its stored row (store.ts rule 5), in one transaction. */
  run(job: FanoutJob, chunkSize: number): Promise<FanoutJob | null> {
    if (!Number.isSafeInteger(chunkSize) || chunkSize < 1) {
      throw new Error(`chunkSize must be a positive integer, got ${chunkSize}`)
    }
    return this.#session.transaction('runFanout', async (db) => {
      const [row] = await db.rows<JobRow>(this.#st.lock, [job.feed, job.sk])
      // Gone: finished or withdrawn. Another id: replaced by a later intent, which runs itself.
      if (!row || row.id !== job.id) return null
      const stored = fromRow(row)
      // Taken before the followers are read: the read then sees any unfollow that got there first.
      await this.#follows.holdTargets(db, [stored.feed], 'shared')
      const followers = (
        await db.rows<{ source: string }>(
          this.#walk.statement,
          this.#walk.values(stored.feed, stored.cursor, chunkSize),
        )
      ).map((r) => r.source)
      if (followers.length > 0) {
        if (stored.op === 'remove') {
          const remove: EntryRemove[] = followers.map((feed) => ({
            feed,
            sk: stored.sk,
            origin: stored.feed,
          }))
          await this.#timeline.apply(db, undefined, remove)
        } else await this.#timeline.apply(db, entries(stored, followers))
      }
      // A full chunk may have been the last; the next run then finds no follower and ends.
      if (followers.length < chunkSize) {
        await db.run(this.#st.finish, [stored.feed, stored.sk])
        return null
      }
      const cursor = this.#walk.cursorOf(followers[followers.length - 1])
      await db.run(this.#st.advance, [stored.feed, stored.sk, cursor])
      return { ...stored, cursor }
    })
  }

  /** Leases up to `limit` jobs whose lease has ended, oldest first; locked ones are skipped. */
  async claim(limit: number, leaseMs: number): Promise<FanoutJob[]> {
    if (!Number.isSafeInteger(limit) || limit < 0)
      throw new Error(`limit must be a non-negative integer, got ${limit}`)
    checkMs(leaseMs, 'leaseMs')
    if (limit === 0) return []
    const rows = await this.#session.once('claimFanout', (db) =>
      db.rows<JobRow>(this.#st.claim, [limit, leaseMs]),
    )
    // RETURNING has no order; seq is a bigint, so compare it as one.
    return rows.sort((a, b) => (BigInt(a.seq!) < BigInt(b.seq!) ? -1 : 1)).map(fromRow)
  }
}

function checkMs(ms: number, name: string): void {
  if (!Number.isSafeInteger(ms) || ms < 0 || ms > 2 ** 31 - 1) {
    throw new Error(`${name} must be a whole number of milliseconds from 0 to 2147483647, got ${ms}`)
  }
}

/** The entries an add job writes into `followers`, by each follower's slug. */
function entries(job: FanoutJob, followers: string[]): EntryWrite[] {
  const shapes = job.shapes ?? {}
  const out: EntryWrite[] = []
  for (const feed of followers) {
    const shape = shapes[feed.slice(0, feed.indexOf(':'))]
    if (shape) out.push({ ...shape, feed, sk: job.sk, origin: job.feed })
  }
  return out
}

function fromRow(row: JobRow): FanoutJob {
  const job: FanoutJob = { id: row.id, op: row.op, feed: row.feed, sk: row.sk, cursor: row.cursor }
  if (row.shapes !== null) job.shapes = row.shapes
  return job
}

function copyJob(job: FanoutJob): FanoutJob {
  const copy: FanoutJob = { id: job.id, op: job.op, feed: job.feed, sk: job.sk, cursor: job.cursor }
  if (job.shapes !== undefined) copy.shapes = job.shapes
  return copy
}

function statements(s: string) {
  const columns = 'j.id, j.op, j.feed, j.sk, j.shapes, j.cursor'
  const lease = `now() + $6::int * interval '1 millisecond'`
  return {
    // seq = excluded.seq: the sequence value drawn for the proposed row, so a job accepted again
    // moves to the end of the queue.
    upsert: sql(`INSERT INTO ${s}.fanout_jobs AS j (feed, sk, id, op, shapes, cursor, lease_until, lease_ms)
      SELECT u.feed, u.sk, u.id, u.op, u.shapes::json, NULL, ${lease}, $6::int
      FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[]) AS u(feed, sk, id, op, shapes)
      ORDER BY u.feed, u.sk
      ON CONFLICT (feed, sk) DO UPDATE SET id = excluded.id, op = excluded.op, shapes = excluded.shapes,
        cursor = NULL, seq = excluded.seq, lease_until = excluded.lease_until, lease_ms = excluded.lease_ms`),
    lock: sql(`SELECT ${columns} FROM ${s}.fanout_jobs AS j WHERE j.feed = $1 AND j.sk = $2 FOR UPDATE`),
    followers: sql(`SELECT source FROM ${s}.follows WHERE target = $1 AND source > $2
      ORDER BY source LIMIT $3`),
    // Each chunk renews the lease, so a job that is moving is not handed to another worker.
    advance: sql(`UPDATE ${s}.fanout_jobs SET cursor = $3,
      lease_until = now() + lease_ms * interval '1 millisecond' WHERE feed = $1 AND sk = $2`),
    finish: sql(`DELETE FROM ${s}.fanout_jobs WHERE feed = $1 AND sk = $2`),
    claim: sql(`WITH free AS (
        SELECT feed, sk FROM ${s}.fanout_jobs WHERE lease_until <= now()
        ORDER BY seq LIMIT $1 FOR UPDATE SKIP LOCKED)
      UPDATE ${s}.fanout_jobs AS j
      SET lease_until = now() + $2::int * interval '1 millisecond', lease_ms = $2
      FROM free WHERE j.feed = free.feed AND j.sk = free.sk
      RETURNING ${columns}, j.seq`),
  }
}
