/**
 * The engine's internal context: what its use cases share and nothing outside the engine sees.
 * It holds the configured feed groups, the storage (one `RuntimeStorage`, made here), the fan-out
 * runner or queue, and the one write path every feed change takes (`write`: the batch, its
 * fan-out jobs and back-pressure). Use-case modules (activity-writes.ts, updates.ts, read.ts,
 * reactions.ts, users.ts, collections.ts) take this context; `Engine` (engine.ts) is the facade.
 */
import type {
  AuditEntry,
  FanoutJob,
  FlatEntry,
  GroupPage,
  GroupPageQuery,
  GroupReadOptions,
  PageQuery,
  PendingStorage,
  StorageAdapter,
  WriteBatch,
} from '../store/store.js'
import { type Activity, type PreparedActivity, readActivity } from './activity.js'
import { actorUser, auditEntry } from './audit.js'
import { DEFAULT_MAX_FAILURES, DEFAULT_RETRY_MS, type DeadLetters } from './dead-jobs.js'
import { EddyError, inputError } from './errors.js'
import { FeedEvents } from './events.js'
import { FanoutRunner, shapesFor } from './fanout.js'
import type { FanoutQueue } from './fanout-queue.js'
import { buildFeedGroups, type FeedGroup, type FeedRef, feedRef, parseFeedId } from './feed-groups.js'
import type { EngineOptions } from './options.js'
import { intOption } from './options.js'
import { withPastCap } from './past-cap-groups.js'
import { RuntimeStorage } from './runtime-storage.js'

/** An activity as stored: its text (what a conditional write expects) and its parsed form. */
export interface StoredActivity {
  body: string
  activity: Activity
}

/** The engine's shared state and write path (see the module comment). */
export class EngineContext {
  readonly groups: Map<string, FeedGroup>
  /** Follower feeds written per fan-out transaction. */
  readonly chunkSize: number
  /** Whether changes are recorded in the audit log (the `auditLog` option). */
  readonly auditing: boolean
  /** Realtime: Stream's message for every change to a listened feed (see events.ts). */
  readonly events = new FeedEvents()
  /** The storage: opened on demand, errors as EddyErrors, changes reported to `events`. */
  readonly store: RuntimeStorage
  readonly leaseMs: number
  readonly localFanout: boolean
  readonly queue: FanoutQueue | undefined
  readonly fanout: FanoutRunner
  readonly dead: DeadLetters

  constructor(store: StorageAdapter | PendingStorage, options: EngineOptions = {}) {
    this.groups = buildFeedGroups(options.feedGroups)
    // Store refusals (closed, unreachable) reach callers as EddyErrors, like every other error;
    // every committed feed change is reported to `events` from this one wrapper (runtime-storage.ts).
    this.store = new RuntimeStorage(store, { events: this.events, groups: this.groups })
    this.chunkSize = intOption(
      options.fanoutChunkSize,
      'fanoutChunkSize',
      1,
      100_000,
      this.store.capabilities.fanoutChunkSize,
    )
    this.leaseMs = intOption(options.fanoutLeaseMs, 'fanoutLeaseMs', 1, 3_600_000, 30_000)
    if (options.localFanout !== undefined && typeof options.localFanout !== 'boolean')
      throw inputError('localFanout must be true or false', options.localFanout, 'localFanout')
    this.localFanout = options.localFanout ?? true
    this.queue = options.fanoutQueue
    if (options.auditLog !== undefined && typeof options.auditLog !== 'boolean')
      throw inputError('auditLog must be true or false', options.auditLog, 'auditLog')
    this.auditing = options.auditLog ?? false
    this.dead = {
      maxFailures: intOption(options.fanoutMaxFailures, 'fanoutMaxFailures', 1, 1_000, DEFAULT_MAX_FAILURES),
      // A failed job waits no longer than a lease: with a short lease, retries come as soon.
      retryMs: intOption(
        options.fanoutRetryMs,
        'fanoutRetryMs',
        0,
        3_600_000,
        Math.min(DEFAULT_RETRY_MS, this.leaseMs),
      ),
    }
    this.fanout = new FanoutRunner(
      this.store,
      this.chunkSize,
      this.leaseMs,
      (job) => this.reshape(job),
      this.dead,
    )
  }

  /** Validates `slug` and `userId`. */
  feed(slug: unknown, userId: unknown): FeedRef {
    return feedRef(this.groups, slug, userId)
  }

  /** Parses a `slug:userId` feed id. */
  parseFeed(value: unknown, field?: string): FeedRef {
    return parseFeedId(this.groups, value, field)
  }

  /** The entries to write with a change: `make()`'s when auditing, else none (nothing is built). */
  audited(make: () => AuditEntry[]): AuditEntry[] | undefined {
    return this.auditing ? make() : undefined
  }

  /** Appends audit-log entries (for changes whose own write could not carry them: users, collections). */
  async recordAudit(entries: AuditEntry[]): Promise<void> {
    if (this.auditing) await this.store.audit.append(entries)
  }

  /** Activities by sort key, parsed (origin null). */
  async loadActivities(sks: string[]): Promise<Map<string, Activity>> {
    const rows = await this.store.activities.getActivities(sks)
    const out = new Map<string, Activity>()
    for (const [sk, row] of rows) out.set(sk, readActivity(row.body, null))
    return out
  }

  /** Activities by sort key with their stored text, for writes that `expect` it unchanged. */
  async loadStored(sks: string[]): Promise<Map<string, StoredActivity>> {
    const rows = await this.store.activities.getActivities(sks)
    const out = new Map<string, StoredActivity>()
    for (const [sk, row] of rows) out.set(sk, { body: row.body, activity: readActivity(row.body, null) })
    return out
  }

  /**
   * Stores new bodies for existing activities (same ids, same feeds), each only if its stored
   * text is still `previous` (`null`: a new activity, in no feed, that must still be absent);
   * otherwise throws WriteConflict and writes nothing.
   */
  async writeBodies(
    updates: { prepared: PreparedActivity; previous: string | null }[],
    user?: string,
  ): Promise<void> {
    await this.store.write({
      audit: this.audited(() =>
        updates.map(({ prepared: p, previous }) =>
          previous === null
            ? auditEntry('activity', p.activity.id, 'created', user ?? actorUser(p.activity.actor), {})
            : auditEntry('activity', p.activity.id, 'updated', user ?? actorUser(p.activity.actor), {
                previous: JSON.parse(previous),
              }),
        ),
      ),
      expect: updates.map((u) => ({ sk: u.prepared.sk, body: u.previous })),
      activities: updates.map(({ prepared: p }) => ({
        sk: p.sk,
        body: p.body,
        foreignId: p.activity.foreign_id,
      })),
    })
  }

  /** Which of `sks` `feed` holds, with the origin each came through. */
  getEntries(feed: FeedRef, sks: string[]): Promise<Map<string, { origin: string | null }>> {
    return this.store.timelines.getEntries(feed.id, sks)
  }

  /** A page of a flat feed as stored (bodies as JSON text). */
  readFlatRows(feed: FeedRef, page: PageQuery): Promise<FlatEntry[]> {
    return page.limit === 0 ? Promise.resolve([]) : this.store.timelines.readFlat(feed.id, page)
  }

  /**
   * A page of groups with counts and marks as asked (see `Store.readGroups`); when a capped store
   * ran out of groups, the rest of the page is grouped here from what it no longer holds (past-cap-groups.ts).
   */
  async readGroupRows(feed: FeedRef, page: GroupPageQuery, options?: GroupReadOptions): Promise<GroupPage> {
    const read = await this.store.timelines.readGroups(
      feed.id,
      page,
      feed.group.maxActivitiesPerGroup,
      options,
    )
    return read.pastCap ? withPastCap(this.store, feed.id, feed.group, page, read) : read
  }

  /**
   * Back-pressure: throws a 503 when the fan-out queue is full (see `FanoutQueue.backlog`), so a
   * write that would fan out is refused before anything is stored; the caller retries later.
   */
  admitFanout(): void {
    const backlog = this.queue?.backlog?.()
    if (backlog) {
      throw new EddyError(
        'ServiceUnavailableException',
        `the fan-out queue holds ${backlog.queued} waiting chunks, at or over its limit of ${backlog.limit} (maxQueued); nothing was stored, retry once workers catch up`,
      )
    }
  }

  /** Writes `batch` and accepts the given fan-out jobs, queueing what the write left pending. */
  async write(batch: WriteBatch, jobs: FanoutJob[] = []): Promise<void> {
    if (this.queue) {
      if (jobs.length > 0) this.admitFanout()
      // Leased like local delivery, so the workers' sweep leaves these to the queue.
      const accepted = await this.store.write({ ...batch, fanout: jobs, leaseMs: this.leaseMs })
      await this.queue.enqueue(accepted)
      return
    }
    // The jobs' first chunks share one chunk's budget: a batch of 100 activities to a feed with
    // 50,000 followers then writes ~chunkSize entries inline, not 100 chunks, and leaves the rest
    // to the background runner, which yields between chunks.
    if (!this.localFanout) {
      // Accept only: no first chunk here, and no lease, so a worker may claim the jobs at once.
      await this.store.write({ ...batch, fanout: jobs, leaseMs: 0 })
      return
    }
    const chunkSize = Math.max(1, Math.floor(this.fanout.chunkSize / Math.max(1, jobs.length)))
    // Set on the batch (each call builds its own): a spread with added keys costs ~0.5-1.5 us on V8 here.
    batch.fanout = jobs
    batch.chunkSize = chunkSize
    batch.leaseMs = this.leaseMs
    const pending = await this.store.write(batch)
    this.fanout.enqueue(pending)
  }

  /** Gives a job accepted by an older version (no shapes) its shapes and accepts it again. */
  async reshape(job: FanoutJob): Promise<FanoutJob | null> {
    const activity = (await this.loadActivities([job.sk])).get(job.sk)
    // A body that is gone has nothing to deliver: empty shapes finish the job without writes.
    const shapes = activity ? shapesFor(this.groups, job.sk, activity) : {}
    const [pending] = await this.store.write({ fanout: [{ ...job, shapes }], leaseMs: this.leaseMs })
    return pending ?? null
  }
}
