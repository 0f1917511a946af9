/**
 * The read parts of the memory store: activities, timelines, follows and fan-out jobs, each a
 * small class over the shared state. Every call checks the store is open; calls that change
 * state (marks, job leases) run as one atomic write through the store's undo log.
 */

import { checkWindow } from '../shared/window.js'
import type {
  ActivityStore,
  ClaimOptions,
  DeadFanoutJob,
  FanoutFailure,
  FanoutJob,
  FanoutJobStore,
  FlatEntry,
  FollowCountQuery,
  FollowQuery,
  FollowRow,
  FollowStore,
  GroupPage,
  GroupPageQuery,
  GroupReadOptions,
  PageQuery,
  StoredActivity,
  TimelineStore,
} from '../store.js'
import type { Activities } from './activities.js'
import type { FanoutJobs } from './fanout-jobs.js'
import type { Follows } from './follows.js'
import { markGroups } from './groups.js'
import { newestEntries, readFlat, readGroupPage } from './timeline-reads.js'
import type { Timelines } from './timelines.js'
import type { UndoLog } from './undo-log.js'

/** What every part of the memory store shares: the open check, atomic writes, the clock. */
export interface MemoryRuntime {
  /** Throws when the store is closed. */
  check(): void
  /** Runs `fn` as one atomic write (undone on a throw). */
  atomic<T>(fn: () => T): T
  /** The store's clock, in ms. */
  now(): number
  /** The undo log atomic writes record into. */
  undo: UndoLog
}

/** Activity bodies of the memory store. */
export class MemoryActivityStore implements ActivityStore {
  readonly #rt: MemoryRuntime
  readonly #activities: Activities
  readonly #timelines: Timelines

  constructor(rt: MemoryRuntime, activities: Activities, timelines: Timelines) {
    this.#rt = rt
    this.#activities = activities
    this.#timelines = timelines
  }

  async getActivities(sks: string[]): Promise<Map<string, StoredActivity>> {
    this.#rt.check()
    return this.#activities.get(sks)
  }

  async findByForeignId(feed: string, foreignId: string): Promise<string[]> {
    this.#rt.check()
    return this.#activities.findIn(this.#timelines.get(feed), foreignId)
  }
}

/** Timelines and groups of the memory store. */
export class MemoryTimelineStore implements TimelineStore {
  readonly #rt: MemoryRuntime
  readonly #timelines: Timelines
  readonly #bodyOf: (sk: string) => string

  constructor(rt: MemoryRuntime, timelines: Timelines, activities: Activities) {
    this.#rt = rt
    this.#timelines = timelines
    this.#bodyOf = (sk) => activities.body(sk) ?? 'null'
  }

  async getEntries(feed: string, sks: string[]): Promise<Map<string, { origin: string | null }>> {
    this.#rt.check()
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
    this.#rt.check()
    checkWindow(page.limit, page.offset)
    return readFlat(this.#timelines.get(feed), page, this.#bodyOf)
  }

  async newestEntries(feed: string, limit: number): Promise<string[]> {
    this.#rt.check()
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
      if (t && options.seen) markGroups(t, 'unseen', options.seen, this.#rt.undo)
      if (t && options.read) markGroups(t, 'unread', options.read, this.#rt.undo)
      return out
    }
    if (options.seen || options.read) return this.#rt.atomic(read)
    this.#rt.check()
    return read()
  }
}

/** Follow edges of the memory store. */
export class MemoryFollowStore implements FollowStore {
  readonly #rt: MemoryRuntime
  readonly #follows: Follows

  constructor(rt: MemoryRuntime, follows: Follows) {
    this.#rt = rt
    this.#follows = follows
  }

  async followers(feed: string, query: FollowQuery): Promise<FollowRow[]> {
    this.#rt.check()
    checkWindow(query.limit, query.offset)
    return this.#follows.list(feed, 'followers', query)
  }

  async following(feed: string, query: FollowQuery): Promise<FollowRow[]> {
    this.#rt.check()
    checkWindow(query.limit, query.offset)
    return this.#follows.list(feed, 'following', query)
  }

  async countFollows(
    feed: string,
    query: FollowCountQuery,
  ): Promise<{ followers?: number; following?: number }> {
    this.#rt.check()
    const out: { followers?: number; following?: number } = {}
    if (query.followers) out.followers = this.#follows.count(feed, 'followers', query.followers)
    if (query.following) out.following = this.#follows.count(feed, 'following', query.following)
    return out
  }
}

/** Fan-out jobs of the memory store. */
export class MemoryFanoutJobStore implements FanoutJobStore {
  readonly #rt: MemoryRuntime
  readonly #jobs: FanoutJobs

  constructor(rt: MemoryRuntime, jobs: FanoutJobs) {
    this.#rt = rt
    this.#jobs = jobs
  }

  async runFanout(job: FanoutJob, chunkSize: number): Promise<FanoutJob | null> {
    return this.#rt.atomic(() => {
      // Rule 5: the stored row is the truth; a job that is gone or replaced does nothing.
      const record = this.#jobs.current(job)
      return record ? this.#jobs.runChunk(record, chunkSize, this.#rt.now()) : null
    })
  }

  async claimFanout(options: ClaimOptions): Promise<FanoutJob[]> {
    return this.#rt.atomic(() => this.#jobs.claim(options.limit, options.leaseMs, this.#rt.now()))
  }

  async failFanout(job: FanoutJob, failure: FanoutFailure): Promise<'retry' | 'dead' | 'gone'> {
    return this.#rt.atomic(() => this.#jobs.fail(job, failure, this.#rt.now()))
  }

  async deadFanout(limit: number): Promise<{ total: number; jobs: DeadFanoutJob[] }> {
    this.#rt.check()
    return this.#jobs.dead(limit)
  }

  async retryFanout(ids: string[] | 'all'): Promise<number> {
    return this.#rt.atomic(() => this.#jobs.retry(ids, this.#rt.now()))
  }
}
