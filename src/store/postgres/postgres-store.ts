/**
 * The PostgreSQL store: a pool of connections, every write one READ COMMITTED transaction, and
 * correctness across processes from row locks and idempotent statements rather than from
 * serializable snapshots (store.ts rules 1–7; docs/postgres.md says how each is met).
 */
import {
  type ClaimOptions,
  DEFAULT_LEASE_MS,
  type DeadFanoutJob,
  type FanoutDelivered,
  type FanoutFailure,
  type FanoutJob,
  type FlatEntry,
  type FollowCountQuery,
  type FollowQuery,
  type FollowRow,
  type GroupPage,
  type GroupPageQuery,
  type GroupReadOptions,
  type PageQuery,
  type Store,
  type StoredActivity,
  type WriteBatch,
  WriteConflict,
} from '../store.js'
import { PostgresAudit } from './audit.js'
import { DeadJobs } from './dead-jobs.js'
import { PostgresDocuments } from './documents.js'
import { FanoutJobs } from './fanout.js'
import { DEFAULT_ACTIVE_WINDOW_MS, FeedReads, type FeedReadTiming } from './feed-reads.js'
import { edgeKey, Follows } from './follows.js'
import { PostgresReactions } from './reactions.js'
import { quoted } from './schema.js'
import { type Runner, type Session, sql } from './session.js'
import { TimelineReader } from './timeline-reader.js'
import { TimelineWriter } from './timeline-writer.js'
import type { TimelineBackend } from './timelines.js'

const byKey = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0)

/** A {@link Store} on a PostgreSQL pool; open it with `openPostgresStore`. */
export class PostgresStore implements Store {
  readonly name: string
  /**
   * Calls wait on the network, not the thread; a chunk is a fixed number of round trips and a
   * commit, so larger chunks deliver faster (bench: 10,000 followers in 113–330 ms at 10,000).
   */
  readonly traits = { blocksEventLoop: false, fanoutChunkSize: 5_000 }
  readonly documents: PostgresDocuments
  readonly reactions: PostgresReactions
  readonly audit: PostgresAudit
  readonly #session: Session
  readonly #writer: TimelineBackend
  readonly #reader: TimelineReader
  readonly #jobs: FanoutJobs
  readonly #dead: DeadJobs
  readonly #follows: Follows
  readonly #st: ReturnType<typeof statements>
  /**
   * When feeds were last read: page reads note their feed here (batched, throttled, never
   * failing the read), and fan-out delivers to followers read within `windowMs` first.
   */
  readonly feedReads: FeedReads

  /**
   * Wraps a session whose schema is migrated (see `openPostgresStore`); `timelines` keeps the
   * entries somewhere else than the store's own tables (`eddy/redis`); `activeWindowMs` is the
   * fan-out priority window (default a day, 0: none), `readTiming` how reads are recorded.
   */
  constructor(
    session: Session,
    name: string,
    timelines?: TimelineBackend,
    activeWindowMs?: number,
    readTiming?: FeedReadTiming,
  ) {
    const schema = session.target.schema
    this.#session = session
    this.name = name
    this.documents = new PostgresDocuments(session, schema)
    this.audit = new PostgresAudit(session, schema)
    this.reactions = new PostgresReactions(session, schema, this.audit)
    this.#writer = timelines ?? new TimelineWriter(schema)
    this.#reader = new TimelineReader(session, schema)
    this.#follows = new Follows(session, schema)
    this.feedReads = new FeedReads(session, schema, activeWindowMs ?? DEFAULT_ACTIVE_WINDOW_MS, readTiming)
    this.#jobs = new FanoutJobs(session, schema, this.#writer, this.#follows, this.feedReads.windowMs)
    this.#dead = new DeadJobs(session, schema)
    this.#st = statements(quoted(schema))
  }

  /**
   * One transaction, in the seam's order. Jobs are committed with the write and never run here
   * (rule 4): the caller runs every chunk with `runFanout`, after this commit.
   */
  async write(batch: WriteBatch): Promise<FanoutJob[]> {
    this.#session.check()
    return this.#session.transaction('write', async (db) => {
      const mustBeNew = await this.#checkExpected(db, batch.expect ?? [])
      await this.#putActivities(db, batch.activities ?? [], mustBeNew)
      if (batch.follow?.length) await this.#follows.follow(db, batch.follow)
      if (batch.unfollow?.length) await this.#follows.unfollow(db, batch.unfollow)
      const add = [...(batch.add ?? [])]
      if (batch.copies?.length) {
        // A copy whose edge is gone lost the race with an unfollow (rule 4): it adds nothing.
        const edges = batch.copies.map((c) => c.edge)
        await this.#follows.holdTargets(
          db,
          edges.map((e) => e.target),
          'shared',
        )
        const live = await this.#follows.existing(db, edges)
        for (const copy of batch.copies) if (live.has(edgeKey(copy.edge))) add.push(...copy.entries)
      }
      await this.#writer.apply(db, add, batch.remove, batch.removeByOrigin)
      await this.audit.add(db, batch.audit ?? [])
      if (!batch.fanout?.length) return []
      return this.#jobs.accept(db, batch.fanout, batch.leaseMs ?? DEFAULT_LEASE_MS)
    })
  }

  async runFanout(job: FanoutJob, chunkSize: number, delivered?: FanoutDelivered): Promise<FanoutJob | null> {
    this.#session.check()
    return this.#jobs.run(job, chunkSize, delivered)
  }

  async claimFanout({ limit, leaseMs }: ClaimOptions): Promise<FanoutJob[]> {
    this.#session.check()
    return this.#jobs.claim(limit, leaseMs)
  }

  async failFanout(job: FanoutJob, failure: FanoutFailure): Promise<'retry' | 'dead' | 'gone'> {
    this.#session.check()
    return this.#dead.fail(job, failure)
  }

  async deadFanout(limit: number): Promise<{ total: number; jobs: DeadFanoutJob[] }> {
    this.#session.check()
    return this.#dead.list(limit)
  }

  async retryFanout(ids: string[] | 'all'): Promise<number> {
    this.#session.check()
    return this.#dead.retry(ids)
  }

  async getActivities(sks: string[]): Promise<Map<string, StoredActivity>> {
    this.#session.check()
    return this.#reader.getActivities(sks)
  }

  async findByForeignId(feed: string, foreignId: string): Promise<string[]> {
    this.#session.check()
    return this.#reader.findByForeignId(feed, foreignId)
  }

  async getEntries(feed: string, sks: string[]): Promise<Map<string, { origin: string | null }>> {
    this.#session.check()
    return this.#reader.getEntries(feed, sks)
  }

  async readFlat(feed: string, page: PageQuery): Promise<FlatEntry[]> {
    this.#session.check()
    if (page.limit > 0) this.feedReads.note(feed)
    return this.#reader.readFlat(feed, page)
  }

  async newestEntries(feed: string, limit: number): Promise<string[]> {
    this.#session.check()
    return this.#reader.newestEntries(feed, limit)
  }

  async readGroups(
    feed: string,
    page: GroupPageQuery,
    perGroup: number,
    options?: GroupReadOptions,
  ): Promise<GroupPage> {
    this.#session.check()
    if (page.limit > 0) this.feedReads.note(feed)
    return this.#reader.readGroups(feed, page, perGroup, options)
  }

  async followers(feed: string, query: FollowQuery): Promise<FollowRow[]> {
    this.#session.check()
    return this.#follows.list(feed, query, 'followers')
  }

  async following(feed: string, query: FollowQuery): Promise<FollowRow[]> {
    this.#session.check()
    return this.#follows.list(feed, query, 'following')
  }

  async countFollows(
    feed: string,
    query: FollowCountQuery,
  ): Promise<{ followers?: number; following?: number }> {
    this.#session.check()
    return this.#follows.count(feed, query)
  }

  /**
   * Writes the reads noted so far, then ends the pool if the store opened it (a pool passed in
   * stays its owner's); later calls fail.
   */
  async close(): Promise<void> {
    await this.feedReads.flush()
    await this.#session.close()
  }

  /**
   * Rule 7: the expected bodies are compared with their rows locked (FOR UPDATE), so no other
   * writer can change them before this transaction ends. Returns the sort keys expected absent:
   * writing one of those must insert it (see #putActivities).
   */
  async #checkExpected(db: Runner, expect: { sk: string; body: string | null }[]): Promise<Set<string>> {
    if (expect.length === 0) return new Set()
    const sks = [...new Set(expect.map((e) => e.sk))].sort(byKey)
    const rows = await db.rows<{ sk: string; body: string }>(this.#st.lockBodies, [sks])
    const stored = new Map(rows.map((r) => [r.sk, r.body]))
    for (const e of expect) if ((stored.get(e.sk) ?? null) !== e.body) throw new WriteConflict(e.sk)
    return new Set(expect.filter((e) => e.body === null).map((e) => e.sk))
  }

  async #putActivities(db: Runner, activities: StoredActivity[], mustBeNew: Set<string>): Promise<void> {
    if (activities.length === 0) return
    // The last body for an sk wins, as if the batch ran in order.
    const bySk = new Map(activities.map((a) => [a.sk, a]))
    const sorted = [...bySk.values()].sort((a, b) => byKey(a.sk, b.sk))
    const fresh = sorted.filter((a) => mustBeNew.has(a.sk))
    const rest = sorted.filter((a) => !mustBeNew.has(a.sk))
    const args = (list: StoredActivity[]) => [
      list.map((a) => a.sk),
      list.map((a) => a.body),
      list.map((a) => a.foreignId || null),
    ]
    if (fresh.length > 0) {
      // A row can appear after the check (no row to lock then): inserting without overwrite
      // tells, and another writer that got there first makes this one conflict.
      const inserted = await db.rows<{ sk: string }>(this.#st.insertNew, args(fresh))
      const made = new Set(inserted.map((r) => r.sk))
      const taken = fresh.find((a) => !made.has(a.sk))
      if (taken) throw new WriteConflict(taken.sk)
    }
    if (rest.length > 0) await db.run(this.#st.putActivities, args(rest))
  }
}

function statements(s: string) {
  const rows = 'SELECT * FROM unnest($1::text[], $2::text[], $3::text[])'
  return {
    lockBodies: sql(`SELECT sk, body FROM ${s}.activities WHERE sk = ANY($1::text[]) ORDER BY sk FOR UPDATE`),
    insertNew: sql(
      `INSERT INTO ${s}.activities (sk, body, foreign_id) ${rows} ON CONFLICT DO NOTHING RETURNING sk`,
    ),
    putActivities: sql(`INSERT INTO ${s}.activities (sk, body, foreign_id) ${rows}
      ON CONFLICT (sk) DO UPDATE SET body = excluded.body, foreign_id = excluded.foreign_id`),
  }
}
