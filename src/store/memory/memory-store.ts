/**
 * The in-memory store: the executable reference for the seam in `store.ts`. Nothing is kept
 * across processes. Every call runs synchronously, so writes are serializable; each one is made
 * atomic by an undo log (a throw puts back exactly what it changed) and costs what it changes,
 * not the size of the feeds it touches. The parts, by role: timelines and groups, follows,
 * fan-out jobs, activity bodies and documents.
 */

import { closedError } from '../errors.js'
import { TrimPlan } from '../shared/group-state.js'
import { checkWindow } from '../shared/window.js'
import type {
  AuditStore,
  ClaimOptions,
  DeadFanoutJob,
  DocumentStore,
  EntryWrite,
  FanoutFailure,
  FanoutJob,
  FlatEntry,
  FollowCountQuery,
  FollowQuery,
  FollowRow,
  GroupPage,
  GroupPageQuery,
  GroupReadOptions,
  PageQuery,
  ReactionStore,
  Store,
  StoredActivity,
  WriteBatch,
} from '../store.js'
import { DEFAULT_LEASE_MS, WriteConflict } from '../store.js'
import { Activities } from './activities.js'
import { MemoryAudit } from './audit.js'
import { MemoryDocuments } from './documents.js'
import { copyJob, FanoutJobs } from './fanout-jobs.js'
import { Follows } from './follows.js'
import { markGroups } from './groups.js'
import { MemoryReactions } from './reactions.js'
import { createMemoryState, type MemoryState } from './state.js'
import { newestEntries, readFlat, readGroupPage } from './timeline-reads.js'
import { Timelines } from './timelines.js'
import { UndoLog } from './undo-log.js'

/** Options of a {@link MemoryStore}. */
export interface MemoryStoreOptions {
  /**
   * The clock, in milliseconds since the epoch: follow and document times and fan-out leases.
   * Tests inject one to expire leases without sleeping. The default is the wall clock with
   * sub-millisecond resolution, so a 1 ms lease taken now still holds a few microseconds later.
   */
  now?: () => number
  /** The data to keep (default: a new, empty one); a test passes its own to inspect it. */
  state?: MemoryState
  /** Called after each committed change with how many undo records it logged (tests: O(1) per entry). */
  onCommit?: (undoRecords: number) => void
}

const wallClock = () => performance.timeOrigin + performance.now()

/** A store that keeps everything in process memory. */
export class MemoryStore implements Store {
  readonly name = 'memory'
  /** Every call runs on the JavaScript thread: the engine keeps fan-out chunks short. */
  readonly traits = { blocksEventLoop: true, fanoutChunkSize: 2_000 }
  readonly documents: DocumentStore
  readonly reactions: ReactionStore
  readonly audit: AuditStore
  readonly #auditLog: MemoryAudit
  readonly #undo = new UndoLog()
  readonly #now: () => number
  readonly #onCommit: ((undoRecords: number) => void) | undefined
  readonly #activities: Activities
  readonly #timelines: Timelines
  readonly #follows: Follows
  readonly #jobs: FanoutJobs
  #closed = false
  readonly #bodyOf = (sk: string) => this.#activities.body(sk) ?? 'null'

  constructor(options: MemoryStoreOptions = {}) {
    const state = options.state ?? createMemoryState()
    this.#now = options.now ?? wallClock
    this.#onCommit = options.onCommit
    this.#activities = new Activities(state, this.#undo)
    this.#timelines = new Timelines(state.timelines, this.#undo)
    this.#follows = new Follows(state, this.#undo)
    this.#jobs = new FanoutJobs(state.jobs, this.#timelines, this.#follows, this.#undo)
    this.documents = new MemoryDocuments(state.docs, () => this.#check(), this.#now)
    const log = new MemoryAudit(state.audit, this.#undo)
    this.#auditLog = log
    const runner = { atomic: <T>(fn: () => T) => this.#atomic(fn), check: () => this.#check() }
    this.reactions = new MemoryReactions(state.reactions, this.#undo, runner, log)
    this.audit = {
      append: async (entries) => this.#atomic(() => log.add(entries)),
      list: async (query) => {
        this.#check()
        return log.list(query)
      },
    }
  }

  #check(): void {
    if (this.#closed) throw closedError(this.name)
  }

  /** Runs `fn` as one atomic write: on a throw every change it made is undone. */
  #atomic<T>(fn: () => T): T {
    this.#check()
    const { result, records } = this.#undo.run(fn)
    this.#onCommit?.(records)
    return result
  }

  async write(batch: WriteBatch): Promise<FanoutJob[]> {
    return this.#atomic(() => {
      // Rule 7: checked before anything changes.
      for (const e of batch.expect ?? []) {
        if (this.#activities.body(e.sk) !== e.body) throw new WriteConflict(e.sk)
      }
      for (const a of batch.activities ?? []) this.#activities.put(a)
      const time = this.#now()
      const now = new Date(time).toISOString()
      for (const edge of batch.follow ?? []) this.#follows.follow(edge, now)
      for (const edge of batch.unfollow ?? []) this.#follows.unfollow(edge)
      const trims = new TrimPlan()
      const add = (entry: EntryWrite) => {
        trims.note(entry.feed, entry)
        this.#timelines.add(entry)
      }
      for (const entry of batch.add ?? []) add(entry)
      // Rule 4: a copy lands only while its edge exists (an unfollow in this batch wins).
      for (const copy of batch.copies ?? []) {
        if (this.#follows.has(copy.edge)) for (const entry of copy.entries) add(entry)
      }
      for (const r of batch.remove ?? []) this.#timelines.remove(r.feed, r.sk, r.origin)
      for (const { feed, origin } of batch.removeByOrigin ?? []) this.#timelines.removeByOrigin(feed, origin)
      this.#timelines.applyTrims(trims)
      this.#auditLog.add(batch.audit ?? [])
      return this.#accept(batch, time)
    })
  }

  /**
   * Accepts the batch's jobs, leased to the writer. Writes here are serializable, so with a
   * `chunkSize` the first chunk runs in this same write (rule 4) and finished jobs are not returned.
   */
  #accept(batch: WriteBatch, time: number): FanoutJob[] {
    const jobs = batch.fanout ?? []
    const leaseMs = batch.leaseMs ?? DEFAULT_LEASE_MS
    for (const job of jobs) this.#jobs.accept(job, time + leaseMs, leaseMs)
    const pending: FanoutJob[] = []
    const handled = new Set<string>()
    for (const job of jobs) {
      // A job replaced by a later one of the same batch is gone; a repeated one runs once.
      const record = this.#jobs.current(job)
      if (!record || handled.has(job.id)) continue
      handled.add(job.id)
      if (batch.chunkSize === undefined) pending.push(copyJob(record.job))
      else {
        const next = this.#jobs.runChunk(record, batch.chunkSize, time)
        if (next) pending.push(next)
      }
    }
    return pending
  }

  async runFanout(job: FanoutJob, chunkSize: number): Promise<FanoutJob | null> {
    return this.#atomic(() => {
      // Rule 5: the stored row is the truth; a job that is gone or replaced does nothing.
      const record = this.#jobs.current(job)
      return record ? this.#jobs.runChunk(record, chunkSize, this.#now()) : null
    })
  }

  async claimFanout(options: ClaimOptions): Promise<FanoutJob[]> {
    return this.#atomic(() => this.#jobs.claim(options.limit, options.leaseMs, this.#now()))
  }

  async failFanout(job: FanoutJob, failure: FanoutFailure): Promise<'retry' | 'dead' | 'gone'> {
    return this.#atomic(() => this.#jobs.fail(job, failure, this.#now()))
  }

  async deadFanout(limit: number): Promise<{ total: number; jobs: DeadFanoutJob[] }> {
    this.#check()
    return this.#jobs.dead(limit)
  }

  async retryFanout(ids: string[] | 'all'): Promise<number> {
    return this.#atomic(() => this.#jobs.retry(ids, this.#now()))
  }

  async getActivities(sks: string[]): Promise<Map<string, StoredActivity>> {
    this.#check()
    return this.#activities.get(sks)
  }

  async findByForeignId(feed: string, foreignId: string): Promise<string[]> {
    this.#check()
    return this.#activities.findIn(this.#timelines.get(feed), foreignId)
  }

  async getEntries(feed: string, sks: string[]): Promise<Map<string, { origin: string | null }>> {
    this.#check()
    const out = new Map<string, { origin: string | null }>()
    const entries = this.#timelines.get(feed)?.entries
    if (!entries) return out
    for (const sk of sks) {
      const entry = entries.get(sk)
      if (entry) out.set(sk, { origin: entry.origin })
    }
    return out
  }

  async readFlat(feed: string, page: PageQuery): Promise<FlatEntry[]> {
    this.#check()
    checkWindow(page.limit, page.offset)
    return readFlat(this.#timelines.get(feed), page, this.#bodyOf)
  }

  async newestEntries(feed: string, limit: number): Promise<string[]> {
    this.#check()
    checkWindow(limit, 0)
    return newestEntries(this.#timelines.get(feed), limit)
  }

  async readGroups(
    feed: string,
    page: GroupPageQuery,
    perGroup: number,
    options: GroupReadOptions = {},
  ): Promise<GroupPage> {
    checkWindow(page.limit, page.offset)
    checkWindow(perGroup, 0)
    const read = () => {
      const t = this.#timelines.get(feed)
      const out: GroupPage = { groups: readGroupPage(t, page, perGroup, this.#bodyOf) }
      // Counts as before the marks; both are set sizes, so O(1).
      if (options.counts) {
        out.unseen = t?.unseen.size ?? 0
        out.unread = t?.unread.size ?? 0
      }
      if (t && options.seen) markGroups(t, 'unseen', options.seen, this.#undo)
      if (t && options.read) markGroups(t, 'unread', options.read, this.#undo)
      return out
    }
    if (options.seen || options.read) return this.#atomic(read)
    this.#check()
    return read()
  }

  async followers(feed: string, query: FollowQuery): Promise<FollowRow[]> {
    this.#check()
    checkWindow(query.limit, query.offset)
    return this.#follows.list(feed, 'followers', query)
  }

  async following(feed: string, query: FollowQuery): Promise<FollowRow[]> {
    this.#check()
    checkWindow(query.limit, query.offset)
    return this.#follows.list(feed, 'following', query)
  }

  async countFollows(
    feed: string,
    query: FollowCountQuery,
  ): Promise<{ followers?: number; following?: number }> {
    this.#check()
    const out: { followers?: number; following?: number } = {}
    if (query.followers) out.followers = this.#follows.count(feed, 'followers', query.followers)
    if (query.following) out.following = this.#follows.count(feed, 'following', query.following)
    return out
  }

  async close(): Promise<void> {
    this.#closed = true
  }
}
