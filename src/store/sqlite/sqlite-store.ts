/**
 * The SQLite store: one better-sqlite3 connection, statements prepared once, and every write in
 * one BEGIN IMMEDIATE transaction, so writers in other processes on the same file wait for each
 * other (busy_timeout) instead of interleaving read-modify-writes of the same groups. Writers are
 * serial, so a job's first fan-out chunk runs inside the write that accepts it (store.ts rule 4):
 * an add with few followers costs one commit, and concurrent writes marked `groupCommit` share
 * one (group-commit.ts).
 */

import { closedError } from '../errors.js'
import {
  DEFAULT_LEASE_MS,
  type FanoutJob,
  StorageAdapterBase,
  type WriteBatch,
  WriteConflict,
} from '../store.js'
import { stopCheckpoints } from './checkpointer.js'
import type { Database, Statement, Transaction } from './driver.js'
import { GroupCommit } from './group-commit.js'
import { SqliteActivityStore } from './sqlite-activities.js'
import { SqliteAudit } from './sqlite-audit.js'
import { SqliteDocuments } from './sqlite-documents.js'
import { SqliteFanoutJobs } from './sqlite-fanout-jobs.js'
import { SqliteFollowStore } from './sqlite-follows.js'
import { SqliteFanoutJobStore } from './sqlite-jobs.js'
import { SqliteReactions } from './sqlite-reactions.js'
import { SqliteTimelineWriter } from './sqlite-timeline-writer.js'
import { SqliteTimelineStore } from './sqlite-timelines.js'

/** A {@link Store} on one SQLite connection; open it with `openSqliteStore`. */
export class SqliteStore extends StorageAdapterBase {
  readonly name: string
  readonly documents: SqliteDocuments
  readonly reactions: SqliteReactions
  readonly audit: SqliteAudit
  readonly #db: Database
  readonly activities: SqliteActivityStore
  readonly timelines: SqliteTimelineStore
  readonly follows: SqliteFollowStore
  readonly jobs: SqliteFanoutJobStore
  readonly #jobs: SqliteFanoutJobs
  readonly #statements: Statements
  readonly #write: Transaction<(batch: WriteBatch) => FanoutJob[]>
  readonly #group: GroupCommit

  /** Wraps an open, configured and migrated connection (see `openSqliteStore`). */
  constructor(db: Database, name: string) {
    // better-sqlite3 runs each call on the JavaScript thread: the engine keeps chunks short (~2 ms).
    super({ blocksEventLoop: true, fanoutChunkSize: 2_000, versionsEveryWrite: true })
    this.#db = db
    this.name = name
    this.documents = new SqliteDocuments(db, () => this.#check())
    const audit = new SqliteAudit(db, () => this.#check())
    this.audit = audit
    this.reactions = new SqliteReactions(db, () => this.#check(), audit)
    const timeline = new SqliteTimelineWriter(db)
    const check = () => this.#check()
    this.activities = new SqliteActivityStore(db, check)
    this.timelines = new SqliteTimelineStore(db, check)
    this.follows = new SqliteFollowStore(db, check)
    this.#jobs = new SqliteFanoutJobs(db, timeline)
    this.jobs = new SqliteFanoutJobStore(db, check, this.#jobs)
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
    this.#group = new GroupCommit(db, this.#write, () => (db.open ? undefined : closedError(name)))
  }

  async write(batch: WriteBatch): Promise<FanoutJob[]> {
    this.#check()
    return batch.groupCommit ? this.#group.write(batch) : this.#write.immediate(batch)
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
    body: s('SELECT body FROM activities WHERE sk = ?'),
    hasFollow: s('SELECT 1 FROM follows WHERE source = ? AND target = ?'),
  }
}

type Statements = ReturnType<typeof prepareStatements>
