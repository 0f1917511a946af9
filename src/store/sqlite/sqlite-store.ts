/**
 * The SQLite store: one better-sqlite3 connection, statements prepared once, and every write in
 * one BEGIN IMMEDIATE transaction, so writers in other processes on the same file wait for each
 * other (busy_timeout) instead of interleaving read-modify-writes of the same groups. Writers are
 * serial, so a job's first fan-out chunk runs inside the write that accepts it (store.ts rule 4):
 * an add with few followers costs one commit, and concurrent writes marked `groupCommit` share
 * one (group-commit.ts).
 */

import { closedError } from '../errors.js'
import { checkWindow } from '../shared/window.js'
import {
  type ClaimOptions,
  DEFAULT_LEASE_MS,
  type DeadFanoutJob,
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
import { SqliteAudit } from './audit.js'
import { stopCheckpoints } from './checkpointer.js'
import { SqliteDocuments } from './documents.js'
import type { Database, Statement, Transaction } from './driver.js'
import { FanoutJobs } from './fanout.js'
import { GroupCommit } from './group-commit.js'
import { SqliteReactions } from './reactions.js'
import { TimelineReader } from './timeline-reader.js'
import { TimelineWriter } from './timeline-writer.js'

/** A {@link Store} on one SQLite connection; open it with `openSqliteStore`. */
export class SqliteStore implements Store {
  readonly name: string
  /** better-sqlite3 runs each call on the JavaScript thread: the engine keeps chunks short (~2 ms). */
  readonly traits = { blocksEventLoop: true, fanoutChunkSize: 2_000 }
  readonly documents: SqliteDocuments
  readonly reactions: SqliteReactions
  readonly audit: SqliteAudit
  readonly #db: Database
  readonly #reader: TimelineReader
  readonly #jobs: FanoutJobs
  readonly #statements: Statements
  readonly #write: Transaction<(batch: WriteBatch) => FanoutJob[]>
  readonly #runFanout: Transaction<(job: FanoutJob, chunkSize: number) => FanoutJob | null>
  readonly #claim: Transaction<(limit: number, leaseMs: number) => FanoutJob[]>
  readonly #fail: Transaction<(job: FanoutJob, failure: FanoutFailure) => 'retry' | 'dead' | 'gone'>
  readonly #retry: Transaction<(ids: string[] | 'all') => number>
  readonly #group: GroupCommit

  /** Wraps an open, configured and migrated connection (see `openSqliteStore`). */
  constructor(db: Database, name: string) {
    this.#db = db
    this.name = name
    this.documents = new SqliteDocuments(db, () => this.#check())
    const audit = new SqliteAudit(db, () => this.#check())
    this.audit = audit
    this.reactions = new SqliteReactions(db, () => this.#check(), audit)
    const timeline = new TimelineWriter(db)
    this.#reader = new TimelineReader(db)
    this.#jobs = new FanoutJobs(db, timeline)
    this.#statements = prepareStatements(db)
    const st = this.#statements
    this.#write = db.transaction((batch: WriteBatch) => {
      for (const e of batch.expect ?? []) {
        const row = st.body.get(e.sk) as { body: string } | undefined
        if ((row?.body ?? null) !== e.body) throw new WriteConflict(e.sk)
      }
      for (const a of batch.activities ?? []) st.putActivity.run(a.sk, a.body, a.foreignId || null)
      const now = new Date().toISOString()
      for (const f of batch.follow ?? []) st.follow.run(f.source, f.target, now, now)
      for (const f of batch.unfollow ?? []) st.unfollow.run(f.source, f.target)
      timeline.apply(batch.add, batch.remove, batch.removeByOrigin)
      for (const copy of batch.copies ?? []) {
        // A copy whose edge is gone lost the race with an unfollow (rule 4): it adds nothing.
        if (st.hasFollow.get(copy.edge.source, copy.edge.target) !== undefined) timeline.apply(copy.entries)
      }
      audit.add(batch.audit ?? [])
      const pending: FanoutJob[] = []
      const leaseMs = batch.leaseMs ?? DEFAULT_LEASE_MS
      for (const job of batch.fanout ?? []) {
        const next = this.#jobs.accept(job, batch.chunkSize, leaseMs)
        if (next) pending.push(next)
      }
      return pending
    })
    this.#runFanout = db.transaction((job: FanoutJob, chunkSize: number) => this.#jobs.resume(job, chunkSize))
    this.#claim = db.transaction((limit: number, leaseMs: number) => this.#jobs.claim(limit, leaseMs))
    this.#fail = db.transaction((job: FanoutJob, failure: FanoutFailure) => this.#jobs.fail(job, failure))
    this.#retry = db.transaction((ids: string[] | 'all') => this.#jobs.retry(ids))
    this.#group = new GroupCommit(db, this.#write, () => (db.open ? undefined : closedError(name)))
  }

  async write(batch: WriteBatch): Promise<FanoutJob[]> {
    this.#check()
    return batch.groupCommit ? this.#group.write(batch) : this.#write.immediate(batch)
  }

  async runFanout(job: FanoutJob, chunkSize: number): Promise<FanoutJob | null> {
    this.#check()
    return this.#runFanout.immediate(job, chunkSize)
  }

  async claimFanout({ limit, leaseMs }: ClaimOptions): Promise<FanoutJob[]> {
    this.#check()
    return this.#claim.immediate(limit, leaseMs)
  }

  async failFanout(job: FanoutJob, failure: FanoutFailure): Promise<'retry' | 'dead' | 'gone'> {
    this.#check()
    return this.#fail.immediate(job, failure)
  }

  async deadFanout(limit: number): Promise<{ total: number; jobs: DeadFanoutJob[] }> {
    this.#check()
    return this.#jobs.dead(limit)
  }

  async retryFanout(ids: string[] | 'all'): Promise<number> {
    this.#check()
    return this.#retry.immediate(ids)
  }

  async getActivities(sks: string[]): Promise<Map<string, StoredActivity>> {
    this.#check()
    const rows = this.#statements.activities.all(JSON.stringify(sks)) as StoredActivity[]
    return new Map(rows.map((r) => [r.sk, { sk: r.sk, body: r.body }]))
  }

  async findByForeignId(feed: string, foreignId: string): Promise<string[]> {
    this.#check()
    if (foreignId === '') return []
    return (this.#statements.byForeignId.all(feed, foreignId) as { sk: string }[]).map((r) => r.sk)
  }

  async getEntries(feed: string, sks: string[]): Promise<Map<string, { origin: string | null }>> {
    this.#check()
    const rows = this.#statements.entries.all(feed, JSON.stringify(sks)) as {
      sk: string
      origin: string | null
    }[]
    return new Map(rows.map((r) => [r.sk, { origin: r.origin }]))
  }

  async readFlat(feed: string, page: PageQuery): Promise<FlatEntry[]> {
    this.#check()
    checkWindow(page.limit, page.offset)
    return this.#reader.readFlat(feed, page)
  }

  async newestEntries(feed: string, limit: number): Promise<string[]> {
    this.#check()
    checkWindow(limit, 0)
    return this.#reader.newestEntries(feed, limit)
  }

  async readGroups(
    feed: string,
    page: GroupPageQuery,
    perGroup: number,
    options?: GroupReadOptions,
  ): Promise<GroupPage> {
    this.#check()
    checkWindow(page.limit, page.offset)
    checkWindow(perGroup, 0)
    return this.#reader.readGroups(feed, page, perGroup, options)
  }

  async followers(feed: string, query: FollowQuery): Promise<FollowRow[]> {
    this.#check()
    checkWindow(query.limit, query.offset)
    return this.#follows(feed, query, 'followers')
  }

  async following(feed: string, query: FollowQuery): Promise<FollowRow[]> {
    this.#check()
    checkWindow(query.limit, query.offset)
    return this.#follows(feed, query, 'following')
  }

  async countFollows(
    feed: string,
    query: FollowCountQuery,
  ): Promise<{ followers?: number; following?: number }> {
    this.#check()
    const st = this.#statements
    const count = (statement: Statement, args: unknown) => (statement.get(args) as { n: number }).n
    const side = (slugs: string[], all: Statement, bySlug: Statement) => {
      if (slugs.length === 0) return count(all, { feed })
      let total = 0
      for (const slug of new Set(slugs)) total += count(bySlug, { feed, slug })
      return total
    }
    const out: { followers?: number; following?: number } = {}
    if (query.followers) out.followers = side(query.followers, st.countFollowers, st.countFollowersFrom)
    if (query.following) out.following = side(query.following, st.countFollowing, st.countFollowingFrom)
    return out
  }

  async dataVersion(): Promise<string> {
    this.#check()
    return this.#statements.dataVersion.get() as string
  }

  async close(): Promise<void> {
    // Writes waiting for their group are committed, not dropped.
    this.#group.flush()
    await stopCheckpoints(this.#db)
    if (this.#db.open) this.#db.close()
  }

  #check(): void {
    if (!this.#db.open) throw closedError(this.name)
  }

  #follows(feed: string, query: FollowQuery, direction: 'followers' | 'following'): FollowRow[] {
    const st = this.#statements
    const { limit, offset, filter } = query
    if (filter === undefined || filter.length === 0) {
      return (direction === 'followers' ? st.followers : st.following).all(feed, limit, offset) as FollowRow[]
    }
    const statement = direction === 'followers' ? st.followersIn : st.followingIn
    return statement.all({ feed, filter: JSON.stringify(filter), limit, offset }) as FollowRow[]
  }
}

/** Every fixed statement of the store, prepared once. */
function prepareStatements(db: Database) {
  const s = (sql: string): Statement => db.prepare(sql)
  return {
    // Other connections' commits move data_version; this connection's own writes move its
    // change count (rolled-back changes too: a cache then only misses once more).
    dataVersion: s("SELECT data_version || '.' || total_changes() FROM pragma_data_version").pluck(),
    putActivity: s('INSERT OR REPLACE INTO activities (sk, body, foreign_id) VALUES (?, ?, ?)'),
    // Re-following keeps created_at (and so the edge's place in follower lists).
    follow: s(
      `INSERT INTO follows (source, target, created_at, updated_at) VALUES (?, ?, ?, ?)
       ON CONFLICT DO UPDATE SET updated_at = excluded.updated_at`,
    ),
    unfollow: s('DELETE FROM follows WHERE source = ? AND target = ?'),
    activities: s('SELECT sk, body FROM activities WHERE sk IN (SELECT value FROM json_each(?))'),
    body: s('SELECT body FROM activities WHERE sk = ?'),
    entries: s('SELECT sk, origin FROM entries WHERE feed = ? AND sk IN (SELECT value FROM json_each(?))'),
    hasFollow: s('SELECT 1 FROM follows WHERE source = ? AND target = ?'),
    byForeignId: s(
      `SELECT a.sk FROM activities AS a JOIN entries AS e ON e.feed = ? AND e.sk = a.sk
       WHERE a.foreign_id = ? ORDER BY a.sk DESC`,
    ),
    followers: s(
      `SELECT source, target, created_at AS createdAt, updated_at AS updatedAt FROM follows WHERE target = ?
       ORDER BY created_at DESC, rowid DESC LIMIT ? OFFSET ?`,
    ),
    // Filtered lists look each listed feed up (the filter is short, the follower list may be
    // huge) and sort what they find; CROSS JOIN keeps the planner from scanning instead.
    followersIn: s(
      `SELECT f.source, f.target, f.created_at AS createdAt, f.updated_at AS updatedAt
       FROM (SELECT DISTINCT value FROM json_each(:filter)) AS j CROSS JOIN follows AS f
       WHERE f.target = :feed AND f.source = j.value
       ORDER BY f.created_at DESC, f.rowid DESC LIMIT :limit OFFSET :offset`,
    ),
    following: s(
      `SELECT source, target, created_at AS createdAt, updated_at AS updatedAt FROM follows WHERE source = ?
       ORDER BY created_at DESC, rowid DESC LIMIT ? OFFSET ?`,
    ),
    followingIn: s(
      `SELECT f.source, f.target, f.created_at AS createdAt, f.updated_at AS updatedAt
       FROM (SELECT DISTINCT value FROM json_each(:filter)) AS j CROSS JOIN follows AS f
       WHERE f.source = :feed AND f.target = j.value
       ORDER BY f.created_at DESC, f.rowid DESC LIMIT :limit OFFSET :offset`,
    ),
    countFollowers: s('SELECT count(*) AS n FROM follows WHERE target = :feed'),
    countFollowing: s('SELECT count(*) AS n FROM follows WHERE source = :feed'),
    // A slug is a prefix `slug:`; ';' is the character after ':', so this is an index range.
    countFollowersFrom: s(
      `SELECT count(*) AS n FROM follows
       WHERE target = :feed AND source >= :slug || ':' AND source < :slug || ';'`,
    ),
    countFollowingFrom: s(
      `SELECT count(*) AS n FROM follows
       WHERE source = :feed AND target >= :slug || ':' AND target < :slug || ';'`,
    ),
  }
}

type Statements = ReturnType<typeof prepareStatements>
