/**
 * The PostgreSQL store: a pool of connections, every write one READ COMMITTED transaction, and
 * correctness across processes from row locks and idempotent statements rather than from
 * serializable snapshots (store.ts rules 1–7; docs/postgres.md says how each is met). It is
 * composed of parts, one file each; its timelines part is its own tables by default, or one
 * given to it (`eddy/redis` keeps timelines in Redis), which then runs inside every write and
 * fan-out chunk.
 */
import { DEFAULT_LEASE_MS, type FanoutJob, StorageAdapterBase, type WriteBatch } from '../store.js'
import { POSTGRES_CAPABILITIES } from './capabilities.js'
import { DeadJobs } from './dead-jobs.js'
import { DEFAULT_ACTIVE_WINDOW_MS, FeedReads, type FeedReadTiming } from './feed-reads.js'
import { PostgresGroupCommit } from './group-commit.js'
import { PostgresActivityStore } from './postgres-activities.js'
import { PostgresAudit } from './postgres-audit.js'
import { PostgresDocuments } from './postgres-documents.js'
import { PostgresFanoutJobs } from './postgres-fanout-jobs.js'
import { edgeKey, PostgresFollowEdges } from './postgres-follow-edges.js'
import { PostgresFollowStore } from './postgres-follows.js'
import { PostgresFanoutJobStore } from './postgres-jobs.js'
import { PostgresReactions } from './postgres-reactions.js'
import { PostgresTableTimelines } from './postgres-timelines.js'
import type { Runner, Session, Step } from './session.js'
import { afterCommit, type PostgresTimelines, type PostgresTimelinesContext } from './timelines.js'

/** How a PostgreSQL store is composed (see `openPostgresStore` for the options users give). */
export interface PostgresStoreParts<T extends PostgresTimelines> {
  /** The timelines part, made once with the store's context (default: the store's own tables). */
  timelines?: (context: PostgresTimelinesContext) => T
  /** The fan-out priority window (default a day, 0: none). */
  activeWindowMs?: number
  /** How reads are recorded. */
  readTiming?: FeedReadTiming
}

/** A store on a PostgreSQL pool, composed of parts; open it with `openPostgresStore`. */
export class PostgresStore<T extends PostgresTimelines = PostgresTimelines> extends StorageAdapterBase {
  readonly name: string
  readonly activities: PostgresActivityStore
  readonly timelines: T
  readonly follows: PostgresFollowStore
  readonly jobs: PostgresFanoutJobStore
  readonly documents: PostgresDocuments
  readonly reactions: PostgresReactions
  readonly audit: PostgresAudit
  /** The connections and transactions (for `eddy rebuild-timelines` and the tests). */
  readonly session: Session
  /**
   * When feeds were last read: page reads note their feed here (batched, throttled, never
   * failing the read), and fan-out delivers to followers read within `windowMs` first.
   */
  readonly feedReads: FeedReads
  /** The timelines part's data version, when it keeps one (see `StorageAdapter.dataVersion`). */
  readonly dataVersion?: () => Promise<string>
  readonly #follows: PostgresFollowEdges
  readonly #jobs: PostgresFanoutJobs
  /** The timelines part's versions per feed, when it keeps them (see `StorageAdapter.feedVersions`). */
  readonly feedVersions?: (feeds: string[]) => Promise<string[]>
  readonly #committed: ((batch?: WriteBatch) => Promise<void>) | undefined
  /** Plain writes marked `groupCommit` share transactions (group-commit.ts). */
  readonly #group = new PostgresGroupCommit((batch) => this.#writeNow(batch))

  /** Wraps a session whose schema is migrated (see `openPostgresStore`), composing the parts. */
  constructor(session: Session, name: string, parts: PostgresStoreParts<T> = {}) {
    const activities = new PostgresActivityStore(session, () => this.timelines)
    const feedReads = new FeedReads(
      session,
      session.target.schema,
      parts.activeWindowMs ?? DEFAULT_ACTIVE_WINDOW_MS,
      parts.readTiming,
    )
    const context: PostgresTimelinesContext = { session, feedReads, activities }
    const timelines =
      parts.timelines?.(context) ?? (new PostgresTableTimelines(context) as PostgresTimelines as T)
    super({ ...POSTGRES_CAPABILITIES, ...timelines.capabilities })
    const schema = session.target.schema
    this.session = session
    this.name = timelines.location === undefined ? name : `${name}+${timelines.location}`
    this.feedReads = feedReads
    this.activities = activities
    this.timelines = timelines
    this.documents = new PostgresDocuments(session, schema)
    this.audit = new PostgresAudit(session, schema)
    this.reactions = new PostgresReactions(session, schema, this.audit)
    this.#follows = new PostgresFollowEdges(session, schema)
    this.follows = new PostgresFollowStore(session, this.#follows)
    this.#jobs = new PostgresFanoutJobs(session, schema, timelines, this.#follows, feedReads.windowMs)
    this.#committed = timelines.committed?.bind(timelines)
    this.jobs = new PostgresFanoutJobStore(
      session,
      this.#jobs,
      new DeadJobs(session, schema),
      this.#committed,
    )
    if (timelines.feedVersions) {
      const versions = timelines.feedVersions.bind(timelines)
      this.feedVersions = (feeds) => {
        session.check()
        return versions(feeds)
      }
    }
    if (timelines.dataVersion) {
      const version = timelines.dataVersion.bind(timelines)
      this.dataVersion = () => {
        session.check()
        return version()
      }
    }
  }

  /**
   * One transaction, in the seam's order. Jobs are committed with the write and never run here
   * (rule 4): the caller runs every chunk with `jobs.runFanout`, after this commit. A write that
   * checks nothing (no `expect`, edges or removals) is sent as statements that depend on no
   * answer: with flat entries in the store's tables, BEGIN, the bodies, the entries, the audit
   * rows, the jobs and COMMIT go in one round trip.
   */
  async write(batch: WriteBatch): Promise<FanoutJob[]> {
    this.session.check()
    if (batch.groupCommit && isPlain(batch)) return this.#group.write(batch)
    return this.#writeNow(batch)
  }

  #writeNow(batch: WriteBatch): Promise<FanoutJob[]> {
    this.session.check()
    const plain = isPlain(batch)
    const work = this.session.transaction('write', (db) =>
      plain ? this.#plain(db, batch) : this.#full(db, batch),
    )
    const committed = this.#committed
    return afterCommit(work, committed && (() => committed(batch)))
  }

  /**
   * A write without checks: its statements sent together, the timelines part's own steps last;
   * right after COMMIT, in the same round trip, the jobs of feeds without followers are ended
   * (`settleStep`), and the write resolves with the others.
   */
  async #plain(db: Runner, batch: WriteBatch): Promise<FanoutJob[]> {
    const add = batch.add ?? []
    const jobs = batch.fanout?.length
      ? this.#jobs.acceptStep(batch.fanout, batch.leaseMs ?? DEFAULT_LEASE_MS)
      : undefined
    const entries = this.timelines.addStep?.(add)
    const steps: Step[] = []
    const push = (step: Step | undefined) => {
      if (step) steps.push(step)
    }
    push(this.activities.putStep(batch.activities ?? []))
    push(entries)
    push(this.audit.step(batch.audit ?? []))
    push(jobs?.step)
    const settle = jobs && this.#jobs.settleStep(jobs.accepted)
    let rows: (unknown[] | undefined)[]
    if (entries !== undefined || add.length === 0) {
      rows = await db.finish(steps, settle)
    } else {
      // Entries the part writes by itself (Redis, grouped feeds): after the other statements,
      // under the locks they took, before COMMIT.
      await Promise.all(steps.map((step) => db.run(step.statement, step.values)))
      await this.timelines.apply(db, add)
      rows = await db.finish([], settle)
    }
    if (!jobs) return []
    const ended = new Set((rows[rows.length - 1] as { feed: string; sk: string }[] | undefined)?.map(jobKey))
    return ended.size === 0 ? jobs.accepted : jobs.accepted.filter((j) => !ended.has(jobKey(j)))
  }

  async #full(db: Runner, batch: WriteBatch): Promise<FanoutJob[]> {
    await this.activities.write(db, batch.expect ?? [], batch.activities ?? [])
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
    await this.timelines.apply(db, add, batch.remove, batch.removeByOrigin)
    await this.audit.add(db, batch.audit ?? [])
    if (!batch.fanout?.length) return []
    return this.#jobs.accept(db, batch.fanout, batch.leaseMs ?? DEFAULT_LEASE_MS)
  }

  /**
   * Writes the reads noted so far, closes the timelines part, then ends the pool if the store
   * opened it (a pool passed in stays its owner's); later calls fail.
   */
  async close(): Promise<void> {
    try {
      await this.feedReads.flush()
      await this.session.close()
    } finally {
      await this.timelines.close?.()
    }
  }
}

/** A write whose statements depend on no answer: nothing to compare, no edges, no removals. */
function isPlain(batch: WriteBatch): boolean {
  return (
    !batch.expect?.length &&
    !batch.follow?.length &&
    !batch.unfollow?.length &&
    !batch.copies?.length &&
    !batch.remove?.length &&
    !batch.removeByOrigin?.length
  )
}

const jobKey = (job: { feed: string; sk: string }) => `${job.feed}\u0000${job.sk}`
