/**
 * Fan-out jobs on PostgreSQL: one row per (feed, activity), upserted by `write` with a new id,
 * a reset cursor, the entry shapes of its followers and the writer's lease. `write` never runs
 * a chunk (store.ts rule 4: READ COMMITTED is not serializable, so followers are read only
 * after the job has committed). Each chunk is one transaction: lock the job row, check it is
 * still this job, hold the job feed's edges (so an unfollow waits for the chunk, then removes
 * what it wrote), read the next followers after the stored cursor, write their entries,
 * advance or delete the row. Two workers on one job therefore run its chunks one after the other, each from the
 * cursor the other left.
 *
 * **Priority to recently active followers.** With an active window (default a day, `0` turns it
 * off), a job first walks its followers delivering only to those whose feed was read within the
 * window (feed-reads.ts), then walks them all, delivering to everyone. The second walk writing
 * again to an active follower changes nothing (store.ts rule 2), so a follower that becomes
 * active mid-job, or a chunk run twice, still ends with the entry exactly once. The priority
 * walk reads {@link ACTIVE_SCAN} chunks' worth of followers per chunk (the walk's own indexed
 * statement, then one primary-key lookup of them in `feed_reads`) and writes at most `chunkSize`
 * of them. When the first chunk's read holds every follower, it fills up with inactive ones, so
 * a job of up to `ACTIVE_SCAN` chunks takes as many chunks as without priority.
 *
 * The phase lives in the cursor, which only this file and the walk read: null (not started),
 * `!a:<walk cursor>` (the priority walk, after that position), `!all` (the full walk, from its
 * start), or a plain walk cursor (the full walk; also every cursor written before priority
 * existed). Any other cursor starting with `!` restarts the full walk, and a walk restarts on a
 * walk cursor it did not write: both only repeat deliveries, which rule 2 makes harmless. Every
 * `!` cursor sorts before every feed name (slugs are `\w+`), so code that compares cursors with
 * follower names (the realtime observer; an older Eddy's walk by name) sees the priority walk as
 * "no follower reached yet".
 */
import type { EntryRemove, EntryShape, FanoutDelivered, FanoutJob } from '../store.js'
import type { PostgresFollowEdges } from './postgres-follow-edges.js'
import { quoted } from './schema.js'
import { type Runner, type Session, type Step, sql } from './session.js'
import { type FollowerWalk, fanoutEntries, type PostgresTimelineWrites } from './timelines.js'

interface JobRow {
  id: string
  op: 'add' | 'remove'
  feed: string
  sk: string
  shapes: Record<string, EntryShape> | null
  cursor: string | null
  seq?: string
}

/**
 * Chunks commit without waiting for the WAL flush: a crash may undo the last few, and then the
 * cursor and the entries go back together and the chunks run again, writing nothing twice (rule
 * 5). What a caller is told is stored (the write that accepted the job) stays synchronous.
 */
const CHUNK_COMMIT = { asyncCommit: true }

/** Accepts, runs and claims fan-out jobs. */
export class PostgresFanoutJobs {
  readonly #session: Session
  readonly #timeline: PostgresTimelineWrites
  readonly #follows: PostgresFollowEdges
  readonly #st: ReturnType<typeof statements>
  readonly #walk: FollowerWalk
  readonly #windowMs: number

  /** `windowMs`: how recently a follower's feed was read for the priority walk (0: none). */
  constructor(
    session: Session,
    schema: string,
    timeline: PostgresTimelineWrites,
    follows: PostgresFollowEdges,
    windowMs: number,
  ) {
    this.#session = session
    this.#timeline = timeline
    this.#follows = follows
    this.#windowMs = windowMs
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
    const { step, accepted } = this.acceptStep(jobs, leaseMs)
    await db.run(step.statement, step.values)
    return accepted
  }

  /**
   * `accept` as a statement to send with others, and the jobs as they will be stored; throws
   * (before anything is sent) on a bad lease or op.
   */
  acceptStep(jobs: FanoutJob[], leaseMs: number): { step: Step; accepted: FanoutJob[] } {
    checkMs(leaseMs, 'leaseMs')
    const byKey = new Map<string, FanoutJob>()
    for (const job of jobs) {
      if (job.op !== 'add' && job.op !== 'remove') throw new Error(`unknown fan-out op ${String(job.op)}`)
      const key = `${job.feed}\u0000${job.sk}`
      byKey.delete(key)
      byKey.set(key, job)
    }
    const accepted = [...byKey.values()]
    const values = [
      accepted.map((j) => j.feed),
      accepted.map((j) => j.sk),
      accepted.map((j) => j.id),
      accepted.map((j) => j.op),
      accepted.map((j) => (j.shapes === undefined ? null : JSON.stringify(j.shapes))),
      leaseMs,
    ]
    return {
      step: { statement: this.#st.upsert, values },
      accepted: accepted.map((j) => copyJob({ ...j, cursor: null })),
    }
  }

  /**
   * A statement that ends those of `jobs` whose feed has no follower (nothing to deliver), to
   * run after the COMMIT of the write that accepted them, in a transaction of its own (rule 4:
   * followers are read after the job committed; a follow that commits later finds the activity
   * with its copy). Committed without waiting for the WAL flush, as chunks are: lost in a crash,
   * the job runs again and ends the same way. Rows `{ feed, sk }` of the jobs it ended.
   */
  settleStep(jobs: FanoutJob[]): Step {
    return {
      statement: this.#st.settle,
      values: [jobs.map((j) => j.feed), jobs.map((j) => j.sk), jobs.map((j) => j.id)],
    }
  }

  /**
   * Runs the next chunk of `job` from its stored row (store.ts rule 5), in one transaction of
   * two round trips when the connection pipelines: the job row's lock, the edge lock and the
   * followers after the job's cursor go out together (the server runs them in that order, so
   * the followers are read after the edge lock is granted); then the entries, the cursor's move
   * and COMMIT. The followers are read from the cursor the caller holds; when the stored row
   * has moved on (another worker ran a chunk), they are read again from the stored cursor.
   */
  run(job: FanoutJob, chunkSize: number, delivered?: FanoutDelivered): Promise<FanoutJob | null> {
    if (!Number.isSafeInteger(chunkSize) || chunkSize < 1) {
      throw new Error(`chunkSize must be a positive integer, got ${chunkSize}`)
    }
    return this.#session.transaction(
      'runFanout',
      async (db) => {
        const guess = position(job.cursor, this.#windowMs)
        const scan = (active: boolean) => (active ? chunkSize * ACTIVE_SCAN : chunkSize)
        // Taken before the followers are read: the read then sees any unfollow that got there first.
        const [[row], , read] = await Promise.all([
          db.rows<JobRow>(this.#st.lock, [job.feed, job.sk]),
          this.#follows.holdTargets(db, [job.feed], 'shared'),
          this.#followers(db, job.feed, guess.walk, scan(guess.active)),
        ])
        // Gone: finished or withdrawn. Another id: replaced by a later intent, which runs itself.
        if (!row || row.id !== job.id) return null
        const stored = fromRow(row)
        const moved = stored.cursor !== job.cursor
        const at = moved ? position(stored.cursor, this.#windowMs) : guess
        const followers = moved ? await this.#followers(db, stored.feed, at.walk, scan(at.active)) : read
        if (at.active) return this.#activeChunk(db, stored, at.walk, chunkSize, followers, delivered)
        // A full chunk may have been the last; the next run then finds no follower and ends.
        if (followers.length < chunkSize) {
          await this.#deliverAndEnd(db, stored, followers, delivered, this.#finish(stored))
          return null
        }
        const cursor = this.#walk.cursorOf(followers[followers.length - 1])
        await this.#deliverAndEnd(db, stored, followers, delivered, this.#advance(stored, cursor))
        return { ...stored, cursor }
      },
      CHUNK_COMMIT,
    )
  }

  /**
   * A chunk of the priority walk over `followers`, the next `ACTIVE_SCAN` chunks' worth,
   * delivered to those read within the window (at most `chunkSize`). When this first chunk holds
   * every follower, it also delivers to the first inactive ones up to `chunkSize` and hands the
   * full walk on after the last of them: a small job then takes as many chunks as without priority.
   */
  async #activeChunk(
    db: Runner,
    job: FanoutJob,
    walk: string | null,
    chunkSize: number,
    followers: string[],
    delivered: FanoutDelivered | undefined,
  ): Promise<FanoutJob | null> {
    const scan = chunkSize * ACTIVE_SCAN
    const whole = walk === null && followers.length < scan
    if (whole && followers.length <= chunkSize) {
      // Every follower fits in this chunk: deliver to all of them, no lookup needed.
      await this.#deliverAndEnd(db, job, followers, delivered, this.#finish(job))
      return null
    }
    const read = new Set(
      followers.length === 0
        ? []
        : (await db.rows<{ feed: string }>(this.#st.active, [followers, this.#windowMs])).map((r) => r.feed),
    )
    const active = followers.filter((feed) => read.has(feed))
    const advance = async (to: string[], cursor: string) => {
      await this.#deliverAndEnd(db, job, to, delivered, this.#advance(job, cursor))
      return { ...job, cursor }
    }
    if (active.length > chunkSize) {
      // More active followers than a chunk writes: the walk resumes after the last one written.
      const written = active.slice(0, chunkSize)
      return advance(written, ACTIVE + this.#walk.cursorOf(written[written.length - 1]))
    }
    if (!whole) {
      const last = followers[followers.length - 1]
      return advance(active, followers.length < scan ? ALL : ACTIVE + this.#walk.cursorOf(last))
    }
    // Every active follower is written now; the first inactive ones fill the chunk, in walk
    // order, so the full walk resumes after the last of them (re-writing later active ones is a
    // no-op).
    const fill = followers.filter((feed) => !read.has(feed)).slice(0, chunkSize - active.length)
    // More followers than a chunk (see above), so some inactive ones are left for the full walk.
    return advance([...active, ...fill], fill.length === 0 ? ALL : this.#walk.cursorOf(fill[fill.length - 1]))
  }

  async #followers(db: Runner, feed: string, cursor: string | null, limit: number): Promise<string[]> {
    const rows = await db.rows<{ source: string }>(
      this.#walk.statement,
      this.#walk.values(feed, cursor, limit),
    )
    return rows.map((r) => r.source)
  }

  /**
   * Writes (or withdraws) the job's entry in `followers`' feeds, in one backend call, and tells
   * `delivered` which feeds changed: those the backend reports as new when it can tell, else all.
   */
  async #deliver(
    db: Runner,
    job: FanoutJob,
    followers: string[],
    delivered: FanoutDelivered | undefined,
  ): Promise<void> {
    if (followers.length === 0) return
    if (job.op === 'remove') {
      const remove: EntryRemove[] = followers.map((feed) => ({ feed, sk: job.sk, origin: job.feed }))
      await this.#timeline.apply(db, undefined, remove)
      delivered?.(followers)
    } else if (this.#timeline.fanout) {
      const fresh = await this.#timeline.fanout(
        db,
        job.sk,
        job.feed,
        followers,
        job.shapes ?? {},
        !!delivered,
      )
      delivered?.(fresh ?? followers)
    } else {
      await this.#timeline.apply(db, fanoutEntries(job.sk, job.feed, followers, job.shapes ?? {}))
      delivered?.(followers)
    }
  }

  /**
   * Delivers to `followers` and runs `end` (the cursor's move or the job's end), then commits:
   * one round trip when the timelines part writes the entries in one statement.
   */
  async #deliverAndEnd(
    db: Runner,
    job: FanoutJob,
    followers: string[],
    delivered: FanoutDelivered | undefined,
    end: Step,
  ): Promise<void> {
    const step =
      followers.length > 0 && job.op === 'add'
        ? this.#timeline.fanoutStep?.(job.sk, job.feed, followers, job.shapes ?? {}, !!delivered)
        : undefined
    if (step) {
      const [rows] = await db.finish([step, end])
      delivered?.((rows as { feed: string }[]).map((r) => r.feed))
      return
    }
    await this.#deliver(db, job, followers, delivered)
    await db.finish([end])
  }

  #advance(job: FanoutJob, cursor: string): Step {
    return { statement: this.#st.advance, values: [job.feed, job.sk, cursor] }
  }

  #finish(job: FanoutJob): Step {
    return { statement: this.#st.finish, values: [job.feed, job.sk] }
  }

  /** Leases up to `limit` jobs whose lease has ended, oldest first; locked ones are skipped. */
  async claim(limit: number, leaseMs: number): Promise<FanoutJob[]> {
    if (!Number.isSafeInteger(limit) || limit < 0)
      throw new Error(`limit must be a non-negative integer, got ${limit}`)
    checkMs(leaseMs, 'leaseMs')
    if (limit === 0) return []
    const rows = await this.#session.once('claimFanout', (db) =>
      db.rows<JobRow & { seq: string }>(this.#st.claim, [limit, leaseMs]),
    )
    // RETURNING has no order; seq is a bigint, so compare it as one.
    return rows.sort((a, b) => (BigInt(a.seq) < BigInt(b.seq) ? -1 : 1)).map(fromRow)
  }
}

/** Cursor prefix of the priority walk (see the module comment). */
const ACTIVE = '!a:'
/** The cursor that starts the full walk once the priority walk is done. */
const ALL = '!all'
/**
 * Followers the priority walk reads per chunk, in chunks: it writes only to the active ones, so
 * it may read further than a full chunk for about the same time.
 */
export const ACTIVE_SCAN = 4

/** Where a stored cursor stands: which walk, and the walk's own cursor (null: its start). */
function position(cursor: string | null, windowMs: number): { active: boolean; walk: string | null } {
  if (cursor === null) return { active: windowMs > 0, walk: null }
  if (cursor.startsWith(ACTIVE)) {
    // Priority turned off mid-job: the full walk from its start still reaches everyone.
    return windowMs > 0
      ? { active: true, walk: cursor.slice(ACTIVE.length) || null }
      : { active: false, walk: null }
  }
  // `!all`, or a form this code does not know: the full walk from its start.
  if (cursor.startsWith('!')) return { active: false, walk: null }
  return { active: false, walk: cursor }
}

function checkMs(ms: number, name: string): void {
  if (!Number.isSafeInteger(ms) || ms < 0 || ms > 2 ** 31 - 1) {
    throw new Error(`${name} must be a whole number of milliseconds from 0 to 2147483647, got ${ms}`)
  }
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
        cursor = NULL, seq = excluded.seq, lease_until = excluded.lease_until, lease_ms = excluded.lease_ms,
        failures = 0, failure = NULL, failed_at = NULL, dead = false`),
    lock: sql(`SELECT ${columns} FROM ${s}.fanout_jobs AS j WHERE j.feed = $1 AND j.sk = $2 FOR UPDATE`),
    followers: sql(`SELECT source FROM ${s}.follows WHERE target = $1 AND source > $2
      ORDER BY source LIMIT $3`),
    // Which of a chunk's followers were read within the window: one primary-key probe each, in
    // a nested loop the LIMIT keeps the planner from turning into a scan of the whole table
    // (with \`feed = ANY($1)\`, PostgreSQL 15 chose a parallel sequential scan for 8,000 names).
    active: sql(`SELECT u.feed FROM unnest($1::text[]) AS u(feed)
      CROSS JOIN LATERAL (SELECT FROM ${s}.feed_reads AS r WHERE r.feed = u.feed
        AND r.read_at >= now() - $2::float8 * interval '1 millisecond' LIMIT 1) AS hit`),
    // Each chunk renews the lease, so a job that is moving is not handed to another worker.
    // A chunk that commits ends a run of failures (dead-jobs.ts counts them in a row).
    advance: sql(`UPDATE ${s}.fanout_jobs SET cursor = $3, failures = 0,
      lease_until = now() + lease_ms * interval '1 millisecond' WHERE feed = $1 AND sk = $2`),
    finish: sql(`DELETE FROM ${s}.fanout_jobs WHERE feed = $1 AND sk = $2`),
    // set_config(…, true) lasts until this statement's own transaction ends, its COMMIT included.
    settle: sql(`DELETE FROM ${s}.fanout_jobs AS j
      USING unnest($1::text[], $2::text[], $3::text[]) AS u(feed, sk, id),
        (SELECT set_config('synchronous_commit', 'off', true)) AS async_commit
      WHERE j.feed = u.feed AND j.sk = u.sk AND j.id = u.id
        AND NOT EXISTS (SELECT FROM ${s}.follows AS f WHERE f.target = j.feed)
      RETURNING j.feed, j.sk`),
    claim: sql(`WITH free AS (
        SELECT feed, sk FROM ${s}.fanout_jobs WHERE lease_until <= now()
        ORDER BY seq LIMIT $1 FOR UPDATE SKIP LOCKED)
      UPDATE ${s}.fanout_jobs AS j
      SET lease_until = now() + $2::int * interval '1 millisecond', lease_ms = $2
      FROM free WHERE j.feed = free.feed AND j.sk = free.sk
      RETURNING ${columns}, j.seq`),
  }
}
