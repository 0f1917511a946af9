/**
 * The in-memory store: the executable reference for the seam in `store.ts`. Nothing is kept
 * across processes. Every call runs synchronously, so writes are serializable; each one is made
 * atomic by an undo log (a throw puts back exactly what it changed) and costs what it changes,
 * not the size of the feeds it touches. The parts, by role: timelines and groups, follows,
 * fan-out jobs, activity bodies and documents.
 */

import { closedError } from '../errors.js'
import { TrimPlan } from '../shared/group-state.js'
import type { AuditStore, DocumentStore, EntryWrite, FanoutJob, ReactionStore, WriteBatch } from '../store.js'
import { DEFAULT_LEASE_MS, StorageAdapterBase, WriteConflict } from '../store.js'
import { Activities } from './activities.js'
import { MemoryActivityStore } from './memory-activities.js'
import { MemoryAudit } from './memory-audit.js'
import { MemoryDocuments } from './memory-documents.js'
import { copyJob, MemoryFanoutJobs } from './memory-fanout-jobs.js'
import { MemoryFollowEdges } from './memory-follow-edges.js'
import { MemoryFollowStore } from './memory-follows.js'
import { MemoryFanoutJobStore } from './memory-jobs.js'
import { MemoryReactions } from './memory-reactions.js'
import type { MemoryRuntime } from './memory-runtime.js'
import { MemoryTimelineStore } from './memory-timelines.js'
import { createMemoryState, type MemoryState } from './state.js'
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
export class MemoryStore extends StorageAdapterBase {
  readonly name = 'memory'
  readonly activities: MemoryActivityStore
  readonly timelines: MemoryTimelineStore
  readonly follows: MemoryFollowStore
  readonly jobs: MemoryFanoutJobStore
  readonly documents: DocumentStore
  readonly reactions: ReactionStore
  readonly audit: AuditStore
  readonly #auditLog: MemoryAudit
  readonly #undo = new UndoLog()
  readonly #now: () => number
  readonly #onCommit: ((undoRecords: number) => void) | undefined
  readonly #activities: Activities
  readonly #timelines: Timelines
  readonly #follows: MemoryFollowEdges
  readonly #jobs: MemoryFanoutJobs
  #closed = false

  constructor(options: MemoryStoreOptions = {}) {
    // Every call runs on the JavaScript thread: the engine keeps fan-out chunks short.
    super({ blocksEventLoop: true, fanoutChunkSize: 2_000 })
    const state = options.state ?? createMemoryState()
    this.#now = options.now ?? wallClock
    this.#onCommit = options.onCommit
    this.#activities = new Activities(state, this.#undo)
    this.#timelines = new Timelines(state.timelines, this.#undo)
    this.#follows = new MemoryFollowEdges(state, this.#undo)
    this.#jobs = new MemoryFanoutJobs(state.jobs, this.#timelines, this.#follows, this.#undo)
    const rt: MemoryRuntime = {
      check: () => this.#check(),
      atomic: (fn) => this.#atomic(fn),
      now: () => this.#now(),
      undo: this.#undo,
    }
    this.activities = new MemoryActivityStore(rt, this.#activities, this.#timelines)
    this.timelines = new MemoryTimelineStore(rt, this.#timelines, this.#activities)
    this.follows = new MemoryFollowStore(rt, this.#follows)
    this.jobs = new MemoryFanoutJobStore(rt, this.#jobs)
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

  async close(): Promise<void> {
    this.#closed = true
  }
}
