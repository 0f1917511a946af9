/**
 * The feed engine: every rule of Stream's Feeds v1 semantics over a {@link Store}, and the only
 * way to it: the getstream-shaped client and the HTTP server are thin layers over these methods.
 */
import type {
  AuditEntry,
  DeadFanoutJob,
  EntryRemove,
  EntryWrite,
  FanoutJob,
  FlatEntry,
  FollowRow,
  GroupPage,
  GroupPageQuery,
  GroupReadOptions,
  PageQuery,
  Store,
  WriteBatch,
} from '../store/store.js'
import { type Activity, type PreparedActivity, prepareActivity, readActivity } from './activity.js'
import { type AuditLogOptions, type AuditLogPage, actorUser, auditEntry, listAuditLogs } from './audit.js'
import { checkText } from './bounds.js'
import { Collections } from './collections.js'
import { DEFAULT_MAX_FAILURES, DEFAULT_RETRY_MS, type DeadLetters, deadJobMetrics } from './dead-jobs.js'
import { EddyError, inputError } from './errors.js'
import { FeedEvents } from './events.js'
import { DEFAULT_CHUNK_SIZE, entryFor, FanoutRunner, shapesFor } from './fanout.js'
import { type FanoutQueue, workQueue } from './fanout-queue.js'
import {
  buildFeedGroups,
  type FeedGroup,
  type FeedGroupOptions,
  type FeedRef,
  feedRef,
  parseFeedId,
} from './feed-groups.js'
import { observeFeeds } from './feed-observer.js'
import {
  DEFAULT_COPY_LIMIT,
  type FollowListOptions,
  type FollowPair,
  follow,
  followQuery,
  followStats,
  listFollows,
  unfollow,
} from './follows.js'
import { idToSk, legacySks, randomId, requireSk, skToId } from './ids.js'
import { untilCommitted } from './optimistic.js'
import { intOption } from './options.js'
import { withPastCap } from './past-cap.js'
import { requireOwnActivity, userActivityInput } from './policy.js'
import { Reactions } from './reactions.js'
import { guardStore } from './store-guard.js'
import { Users } from './users.js'

export { DEFAULT_COPY_LIMIT, MAX_COPY_LIMIT } from './follows.js'
export { intOption } from './options.js'

/** Options for {@link Engine}. */
export interface EngineOptions {
  /** Feed groups, merged over the defaults (user, timeline, timeline_aggregated, notification). */
  feedGroups?: Record<string, FeedGroupOptions>
  /** Follower feeds written per fan-out transaction. */
  fanoutChunkSize?: number
  /**
   * How long this process holds the fan-out jobs it accepted or claimed before another process
   * may take them over (default 30 s): after a crash, the restarted process or a worker finishes
   * them within about this long.
   */
  fanoutLeaseMs?: number
  /**
   * Failed runs after which a fan-out job is set aside as dead, so the jobs behind it keep
   * flowing (default 10; 1–1,000). Dead jobs are listed and put back with `eddy jobs`; an
   * unreachable store never counts as a failure (docs/server.md, "Dead fan-out jobs").
   */
  fanoutMaxFailures?: number
  /** How long a failed fan-out job waits before it is tried again, in ms (default 1,000, or the lease if shorter). */
  fanoutRetryMs?: number
  /**
   * Whether this process delivers the fan-out it accepts (default true). With false, writes only
   * accept jobs, unleased, and `eddy worker` processes deliver them (`eddy serve --workers 0`).
   */
  localFanout?: boolean
  /**
   * A queue carrying fan-out to workers (`eddy/redis`'s BullMQ queue): writes accept jobs and
   * queue them instead of delivering them here, and `work()` consumes the queue.
   */
  fanoutQueue?: FanoutQueue
  /**
   * Record who changed which activity, reaction, user or collection entry (`auditLogs`), in the
   * same transaction as each activity or reaction change (default false: each entry is one more
   * row per add, ~25-35% of single-add throughput on SQLite, measured; `createServer` turns it on).
   */
  auditLog?: boolean
}

/** Most activities one add, update or lookup call may carry. */
export const MAX_BATCH = 100
/** Most feeds `addToMany` may write to. */
export const MAX_ADD_TO_MANY = 5_000

/** The engine: configured feed groups, a store and a fan-out runner. */
export class Engine {
  readonly groups: Map<string, FeedGroup>
  readonly chunkSize: number
  /** Reactions: add, filter, update, delete, and the reaction fields of reads. */
  readonly reactions: Reactions
  /** Users: create, get (with follow counts), update, delete, and the batch calls. */
  readonly users: Users
  /** Collection entries: add, get, update, delete, and the batch upsert, select, deleteMany. */
  readonly collections: Collections
  /** Whether changes are recorded in the audit log (the `auditLog` option). */
  readonly auditing: boolean
  /** Realtime: Stream's message for every change to a listened feed (see events.ts). */
  readonly events = new FeedEvents()
  readonly #store: Store
  readonly #leaseMs: number
  readonly #localFanout: boolean
  readonly #queue: FanoutQueue | undefined
  readonly #fanout: FanoutRunner
  readonly #dead: DeadLetters

  constructor(store: Store, options: EngineOptions = {}) {
    this.groups = buildFeedGroups(options.feedGroups)
    // Store refusals (closed, unreachable) reach callers as EddyErrors, like every other error;
    // every committed feed change is reported to `events` from this one wrapper (feed-observer.ts).
    this.#store = observeFeeds(guardStore(store), this.events, this.groups)
    this.chunkSize = intOption(
      options.fanoutChunkSize,
      'fanoutChunkSize',
      1,
      100_000,
      store.traits?.fanoutChunkSize ?? DEFAULT_CHUNK_SIZE,
    )
    this.#leaseMs = intOption(options.fanoutLeaseMs, 'fanoutLeaseMs', 1, 3_600_000, 30_000)
    if (options.localFanout !== undefined && typeof options.localFanout !== 'boolean')
      throw inputError('localFanout must be true or false', options.localFanout, 'localFanout')
    this.#localFanout = options.localFanout ?? true
    this.#queue = options.fanoutQueue
    if (options.auditLog !== undefined && typeof options.auditLog !== 'boolean')
      throw inputError('auditLog must be true or false', options.auditLog, 'auditLog')
    this.auditing = options.auditLog ?? false
    this.#dead = {
      maxFailures: intOption(options.fanoutMaxFailures, 'fanoutMaxFailures', 1, 1_000, DEFAULT_MAX_FAILURES),
      // A failed job waits no longer than a lease: with a short lease, retries come as soon.
      retryMs: intOption(
        options.fanoutRetryMs,
        'fanoutRetryMs',
        0,
        3_600_000,
        Math.min(DEFAULT_RETRY_MS, this.#leaseMs),
      ),
    }
    this.#fanout = new FanoutRunner(
      this.#store,
      this.chunkSize,
      this.#leaseMs,
      (job) => this.#reshape(job),
      this.#dead,
    )
    this.reactions = new Reactions(this, this.#store.reactions, this.#store.documents)
    const recordAudit = (entries: AuditEntry[]) => this.#recordAudit(entries)
    this.users = new Users({
      documents: this.#store.documents,
      recordAudit,
      followCounts: (id) => this.#userFollowCounts(id),
    })
    this.collections = new Collections({ documents: this.#store.documents, recordAudit })
  }

  /** Stream counts followers of user:<id> and follows of timeline:<id> (stream-api.md §3.5). */
  async #userFollowCounts(id: string): Promise<{ followers: number; following: number }> {
    const stats = (slug: string) =>
      this.groups.has(slug)
        ? this.followStats(this.feed(slug, id))
        : Promise.resolve({ followers: 0, following: 0 })
    const [followers, following] = await Promise.all([
      stats('user').then((s) => s.followers),
      stats('timeline').then((s) => s.following),
    ])
    return { followers, following }
  }

  /** The store's short name (`memory`, `sqlite:/path`...), for messages and health checks. */
  get storeName(): string {
    return this.#store.name
  }

  /** Resolves once the store is open (stores that open asynchronously expose `ready()`). */
  async ready(): Promise<void> {
    const store = this.#store as Store & { ready?: () => Promise<void> }
    if (typeof store.ready === 'function') await store.ready()
    await this.#queue?.ready?.()
  }

  /** Appends audit-log entries (for changes whose own write could not carry them: users, collections). */
  async #recordAudit(entries: AuditEntry[]): Promise<void> {
    if (this.auditing) await this.#store.audit.append(entries)
  }

  /** The entries to write with a change: `make()`'s when auditing, else none (nothing is built). */
  audited(make: () => AuditEntry[]): AuditEntry[] | undefined {
    return this.auditing ? make() : undefined
  }

  /** A page of the audit log, filtered and paged as Stream's `audit_logs/` (see `audit.ts`). */
  auditLogs(options?: AuditLogOptions): Promise<AuditLogPage> {
    if (!this.auditing) {
      throw inputError(
        'the audit log is off: connect({ auditLog: true }) records it (createServer and eddy serve do by default)',
        false,
        'auditLog',
      )
    }
    return listAuditLogs(this.#store.audit, options)
  }

  /**
   * Takes over fan-out that no live process holds (accepted earlier, or by a crashed process),
   * and from then on keeps checking for such jobs in the background.
   */
  resume(): Promise<void> {
    return this.#localFanout && !this.#queue ? this.#fanout.resume() : Promise.resolve()
  }

  /**
   * Runs as a dedicated fan-out worker until `signal` aborts: consumes the fan-out queue with
   * `concurrency` chunks at a time when there is one (see fanout-queue.ts), else claims jobs
   * from the store (see FanoutRunner.work).
   */
  work(signal: AbortSignal, pollMs?: number, concurrency = 1): Promise<void> {
    if (!this.#queue) return this.#fanout.work(signal, pollMs)
    return workQueue({
      store: this.#store,
      queue: this.#queue,
      chunkSize: this.chunkSize,
      leaseMs: this.#leaseMs,
      reshape: (job) => this.#reshape(job),
      dead: this.#dead,
      concurrency,
      signal,
    })
  }

  /** Prometheus text: the fan-out queue's metrics (when there is a queue) and the dead jobs. */
  async metrics(): Promise<string> {
    const queue = this.#queue ? await this.#queue.metrics() : ''
    return queue + deadJobMetrics((await this.#store.deadFanout(0)).total)
  }

  /** Up to `limit` (default 100) fan-out jobs set aside as dead, oldest first, and how many in all. */
  deadFanout(limit: unknown = 100): Promise<{ total: number; jobs: DeadFanoutJob[] }> {
    return this.#store.deadFanout(intOption(limit, 'limit', 0, 10_000, 100))
  }

  /**
   * Puts dead fan-out jobs back (by id, or `'all'`), failures forgotten: the next claim (a
   * running server's or worker's, within a lease period) delivers them. Resolves with how many.
   */
  retryFanout(ids: string[] | 'all'): Promise<number> {
    if (ids !== 'all' && (!Array.isArray(ids) || ids.some((id) => typeof id !== 'string')))
      throw inputError("ids must be a list of job ids, or 'all'", ids, 'ids')
    return this.#store.retryFanout(ids)
  }

  /** Whether this process is delivering fan-out in the background right now. */
  get deliveringFanout(): boolean {
    return this.#fanout.busy
  }

  /** Resolves once every fan-out this process accepted or claimed has been delivered. */
  flush(): Promise<void> {
    return this.#fanout.idle()
  }

  /** Validates `slug` and `userId`. */
  feed(slug: unknown, userId: unknown): FeedRef {
    return feedRef(this.groups, slug, userId)
  }

  /** Parses a `slug:userId` feed id. */
  parseFeed(value: unknown, field?: string): FeedRef {
    return parseFeedId(this.groups, value, field)
  }

  /** Activities by sort key, parsed (origin null). */
  async loadActivities(sks: string[]): Promise<Map<string, Activity>> {
    const rows = await this.#store.getActivities(sks)
    const out = new Map<string, Activity>()
    for (const [sk, row] of rows) out.set(sk, readActivity(row.body, null))
    return out
  }

  /** Activities by sort key with their stored text, for writes that `expect` it unchanged. */
  async loadStored(sks: string[]): Promise<Map<string, { body: string; activity: Activity }>> {
    const rows = await this.#store.getActivities(sks)
    const out = new Map<string, { body: string; activity: Activity }>()
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
    await this.#store.write({
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
    return this.#store.getEntries(feed.id, sks)
  }

  /** A page of a flat feed as stored (bodies as JSON text), for readers that splice JSON. */
  readFlatRows(feed: FeedRef, page: PageQuery): Promise<FlatEntry[]> {
    return page.limit === 0 ? Promise.resolve([]) : this.#store.readFlat(feed.id, page)
  }

  /**
   * The store's data version (`Store.dataVersion`): taken before reads, an equal value later
   * means nothing they read has changed since. Undefined when the store keeps none.
   */
  dataVersion(): Promise<string> | undefined {
    // The guarded store hands out methods already bound to it.
    const version = this.#store.dataVersion
    return typeof version === 'function' ? version() : undefined
  }

  /**
   * A page of groups with counts and marks as asked (see `Store.readGroups`); when a capped store
   * ran out of groups, the rest of the page is grouped here from what it no longer holds (past-cap.ts).
   */
  async readGroupRows(feed: FeedRef, page: GroupPageQuery, options?: GroupReadOptions): Promise<GroupPage> {
    const read = await this.#store.readGroups(feed.id, page, feed.group.maxActivitiesPerGroup, options)
    return read.pastCap ? withPastCap(this.#store, feed.id, feed.group, page, read) : read
  }

  /**
   * Back-pressure: throws a 503 when the fan-out queue is full (see `FanoutQueue.backlog`), so a
   * write that would fan out is refused before anything is stored; the caller retries later.
   */
  admitFanout(): void {
    const backlog = this.#queue?.backlog?.()
    if (backlog) {
      throw new EddyError(
        'ServiceUnavailableException',
        `the fan-out queue holds ${backlog.queued} waiting chunks, at or over its limit of ${backlog.limit} (maxQueued); nothing was stored, retry once workers catch up`,
      )
    }
  }

  /** Writes `batch` and accepts the given fan-out jobs, queueing what the write left pending. */
  async #write(batch: WriteBatch, jobs: FanoutJob[] = []): Promise<void> {
    if (this.#queue) {
      if (jobs.length > 0) this.admitFanout()
      // Leased like local delivery, so the workers' sweep leaves these to the queue.
      const accepted = await this.#store.write({ ...batch, fanout: jobs, leaseMs: this.#leaseMs })
      await this.#queue.enqueue(accepted)
      return
    }
    // The jobs' first chunks share one chunk's budget: a batch of 100 activities to a feed with
    // 50,000 followers then writes ~chunkSize entries inline, not 100 chunks, and leaves the rest
    // to the background runner, which yields between chunks.
    if (!this.#localFanout) {
      // Accept only: no first chunk here, and no lease, so a worker may claim the jobs at once.
      await this.#store.write({ ...batch, fanout: jobs, leaseMs: 0 })
      return
    }
    const chunkSize = Math.max(1, Math.floor(this.#fanout.chunkSize / Math.max(1, jobs.length)))
    // Set on the batch (each call builds its own): a spread with added keys costs ~0.5-1.5 us on V8 here.
    batch.fanout = jobs
    batch.chunkSize = chunkSize
    batch.leaseMs = this.#leaseMs
    const pending = await this.#store.write(batch)
    this.#fanout.enqueue(pending)
  }

  /** Gives a job accepted by an older version (no shapes) its shapes and accepts it again. */
  async #reshape(job: FanoutJob): Promise<FanoutJob | null> {
    const activity = (await this.loadActivities([job.sk])).get(job.sk)
    // A body that is gone has nothing to deliver: empty shapes finish the job without writes.
    const shapes = activity ? shapesFor(this.groups, job.sk, activity) : {}
    const [pending] = await this.#store.write({ fanout: [{ ...job, shapes }], leaseMs: this.#leaseMs })
    return pending ?? null
  }

  /**
   * Adds activities to `feed`, its `to` targets and (through fan-out) their followers. With
   * `user` (a user acting as themself), each activity's actor must be that user, `to` may name
   * only its own or notification feeds, and re-adding a foreign_id + time replaces an activity
   * only if that user wrote it; the check and the write are one optimistic step. `groupCommit`:
   * this call is one of many concurrent ones, and may share its commit with them (WriteBatch).
   */
  async addActivities(
    feed: FeedRef,
    inputs: unknown[],
    user?: string,
    options: { groupCommit?: boolean } = {},
  ): Promise<Activity[]> {
    if (!Array.isArray(inputs) || inputs.length === 0) {
      throw inputError('activities must be a non-empty list', inputs, 'activities')
    }
    if (inputs.length > MAX_BATCH)
      throw inputError(`at most ${MAX_BATCH} activities per call`, inputs.length, 'activities')
    const checked = user === undefined ? inputs : inputs.map((i) => userActivityInput(this.groups, user, i))
    const prepared = checked.map((input, i) =>
      prepareActivity(this.groups, input, inputs.length > 1 ? i : undefined),
    )
    const byKey = new Map<string, PreparedActivity>()
    for (const p of prepared) byKey.set(p.sk, p) // a repeated foreign_id + time: the last one wins
    const group = options.groupCommit === true
    if (user === undefined) await this.#addPrepared(feed, byKey, undefined, user, group)
    else {
      await untilCommitted(async () => {
        const existing = await this.loadStored([...byKey.keys()])
        for (const { activity } of existing.values()) requireOwnActivity(activity, user)
        const expect = [...byKey.keys()].map((sk) => ({ sk, body: existing.get(sk)?.body ?? null }))
        await this.#addPrepared(feed, byKey, expect, user, group)
      })
    }
    return prepared.map((p) => ({ ...p.activity }))
  }

  async #addPrepared(
    feed: FeedRef,
    byKey: Map<string, PreparedActivity>,
    expect?: WriteBatch['expect'],
    user?: string,
    groupCommit = false,
  ): Promise<void> {
    const add: EntryWrite[] = []
    const jobs: FanoutJob[] = []
    for (const p of byKey.values()) {
      const shapes = shapesFor(this.groups, p.sk, p.activity)
      add.push(entryFor(feed.group, feed.id, p.sk, p.activity, null))
      jobs.push({ id: randomId(), op: 'add', feed: feed.id, sk: p.sk, shapes, cursor: null })
      for (const target of p.to) {
        if (target.id === feed.id) continue
        add.push(entryFor(target.group, target.id, p.sk, p.activity, null))
        jobs.push({ id: randomId(), op: 'add', feed: target.id, sk: p.sk, shapes, cursor: null })
      }
    }
    await this.#write(
      {
        expect,
        groupCommit,
        activities: [...byKey.values()].map((p) => ({
          sk: p.sk,
          body: p.body,
          foreignId: p.activity.foreign_id,
        })),
        add,
        audit: this.audited(() =>
          [...byKey.values()].map((p) =>
            auditEntry('activity', p.activity.id, 'created', user ?? actorUser(p.activity.actor), {
              feed: feed.id,
            }),
          ),
        ),
      },
      jobs,
    )
  }

  /**
   * Removes activities from `feed` and, through fan-out, from its followers, in one write.
   * Removing an activity from the feed it was added to also withdraws it from its `to` targets.
   * Activities the feed does not hold are skipped (as on Stream); resolves with how many it held.
   */
  async removeActivities(feed: FeedRef, sks: string[], user?: string): Promise<number> {
    const entries = await this.#store.getEntries(feed.id, [...new Set(sks)])
    const held = [...entries].map(([sk, { origin }]) => ({ sk, direct: origin === null }))
    if (held.length === 0) return 0
    // Only activities added here directly can carry `to` targets to withdraw: load just those,
    // and expect them unchanged, so a concurrent `to` change is not withdrawn from stale targets.
    await untilCommitted(async () => {
      const stored = await this.loadStored(held.filter((h) => h.direct).map((h) => h.sk))
      await this.#remove(feed, held, stored, user)
    })
    return held.length
  }

  async #remove(
    feed: FeedRef,
    held: { sk: string }[],
    stored: Map<string, { body: string; activity: Activity }>,
    user?: string,
  ): Promise<void> {
    const remove: EntryRemove[] = []
    const jobs: FanoutJob[] = []
    for (const { sk } of held) {
      const to = stored.get(sk)?.activity.to ?? []
      const feeds = to.length > 0 && !to.includes(feed.id) ? [feed.id, ...to] : [feed.id]
      for (const target of feeds) {
        remove.push({ feed: target, sk })
        jobs.push({ id: randomId(), op: 'remove', feed: target, sk, cursor: null })
      }
    }
    const expect = [...stored].map(([sk, { body }]) => ({ sk, body }))
    // Who removed it: the user token's user, else the author when known (a copy's is not loaded).
    const audit = this.audited(() =>
      held.map(({ sk }) =>
        auditEntry(
          'activity',
          skToId(sk),
          'removed_from_feed',
          user ?? actorUser(stored.get(sk)?.activity.actor),
          {
            feed: feed.id,
          },
        ),
      ),
    )
    await this.#write({ expect, remove, audit }, jobs)
  }

  /** Removes every activity with `foreignId` from `feed`, as {@link removeActivities} does. */
  async removeByForeignId(feed: FeedRef, foreignId: string, user?: string): Promise<number> {
    checkText(foreignId, 'foreign_id')
    return this.removeActivities(feed, await this.#store.findByForeignId(feed.id, foreignId), user)
  }

  /**
   * Removes the activity with id `id` from `feed`, as {@link removeActivities} does. Also finds
   * activities stored with an id that is not a valid version-1 UUID (times past 2255 before the
   * time range was enforced): their sort key is the id's digits plus the ones the id dropped.
   */
  async removeById(feed: FeedRef, id: unknown, user?: string, field = 'activity id'): Promise<number> {
    const sk = typeof id === 'string' ? idToSk(id) : undefined
    const removed = sk ? await this.removeActivities(feed, [sk], user) : 0
    if (removed > 0) return removed
    const legacy = legacySks(id)
    if (!sk && legacy.length === 0) requireSk(id, field)
    return legacy.length > 0 ? this.removeActivities(feed, legacy, user) : 0
  }

  /**
   * Makes each `source` follow its `target`, copying the target's newest `copyLimit` activities
   * (default 100, 0–1,000; a pair's own `limit` overrides it). Edges commit before the copies
   * are read, so a concurrent add reaches the new follower through its fan-out or the copy.
   */
  async follow(pairs: FollowPair[], copyLimit?: unknown): Promise<void> {
    // About one fan-out chunk of rows per write, so a long followMany does not hold the store.
    await follow(this.#store, pairs, copyLimit, this.#fanout.chunkSize)
  }

  /** Removes follows; unless `keepHistory`, also the activities that came through them. */
  async unfollow(pairs: { source: FeedRef; target: FeedRef; keepHistory: boolean }[]): Promise<void> {
    await unfollow(this.#store, pairs, Math.max(1, Math.floor(this.#fanout.chunkSize / DEFAULT_COPY_LIMIT)))
  }

  /** Feeds following `feed` (or that it follows), newest follow first; options as Stream's. */
  follows(
    feed: FeedRef,
    direction: 'followers' | 'following',
    options?: FollowListOptions,
  ): Promise<FollowRow[]> {
    return listFollows(this.#store, feed, direction, followQuery(this.groups, options))
  }

  /** Follower and following counts of `feed`, optionally only of some (configured) slugs. */
  followStats(
    feed: FeedRef,
    options?: { followerSlugs?: unknown; followingSlugs?: unknown },
  ): Promise<{ followers: number; following: number }> {
    return followStats(this.#store, feed, options)
  }

  /** Adds one activity to many feeds directly, without fan-out to their followers. */
  async addToMany(input: unknown, feeds: unknown): Promise<Activity> {
    if (!Array.isArray(feeds) || feeds.length === 0)
      throw inputError('feeds must be a non-empty list of feed ids', feeds, 'feeds')
    if (feeds.length > MAX_ADD_TO_MANY)
      throw inputError(`feeds may name at most ${MAX_ADD_TO_MANY} feeds`, feeds.length, 'feeds')
    if (input && typeof input === 'object' && 'to' in input && (input as { to?: unknown }).to !== undefined) {
      throw inputError(
        'addToMany does not accept to; list every feed in feeds',
        (input as { to: unknown }).to,
        'to',
      )
    }
    const p = prepareActivity(this.groups, input)
    const refs = new Map<string, FeedRef>()
    for (const f of feeds) {
      const ref = this.parseFeed(f, 'feeds')
      refs.set(ref.id, ref)
    }
    const add = [...refs.values()].map((ref) => entryFor(ref.group, ref.id, p.sk, p.activity, null))
    await this.#store.write({
      activities: [{ sk: p.sk, body: p.body, foreignId: p.activity.foreign_id }],
      add,
      audit: this.audited(() => [
        auditEntry('activity', p.activity.id, 'created', actorUser(p.activity.actor), { feeds: refs.size }),
      ]),
    })
    return p.activity
  }

  /** Replaces stored bodies (same id, same feeds). `to` may not change. */
  async replaceActivities(prepared: PreparedActivity[]): Promise<void> {
    await untilCommitted(() => this.#replace(prepared))
  }

  async #replace(prepared: PreparedActivity[]): Promise<void> {
    const existing = await this.loadStored(prepared.map((p) => p.sk))
    for (const p of prepared) {
      const old = existing.get(p.sk)?.activity
      // As on Stream, an update of an activity that does not exist creates it (stream-python's
      // suite does so): stored, in no feed, found by getActivities. Its `to` would name feeds it
      // is not in, so a created activity may not have one.
      if (!old && (p.activity.to ?? []).length > 0) {
        throw inputError(
          `an update creates activity foreign_id ${JSON.stringify(p.activity.foreign_id)}, time ${p.activity.time}, which does not exist yet; it cannot have to targets (add it to a feed instead)`,
          p.activity.to,
          'to',
        )
      }
      if (!old) continue
      const before = [...(old.to ?? [])].sort().join(',')
      const after = [...(p.activity.to ?? [])].sort().join(',')
      if (before !== after) {
        throw inputError(
          'to cannot be changed by an update; use updateActivityToTargets',
          p.activity.to ?? [],
          'to',
        )
      }
    }
    await this.writeBodies(prepared.map((p) => ({ prepared: p, previous: existing.get(p.sk)?.body ?? null })))
  }

  /**
   * Changes the `to` targets of an activity: adds it to new targets and withdraws it from old,
   * only if its stored text is still `previous` (else WriteConflict, nothing written).
   */
  async setTargets(
    activity: Activity,
    sk: string,
    added: FeedRef[],
    removed: FeedRef[],
    previous: string,
  ): Promise<void> {
    const add: EntryWrite[] = []
    const remove: EntryRemove[] = []
    const jobs: FanoutJob[] = []
    const shapes = shapesFor(this.groups, sk, activity)
    for (const t of added) {
      add.push(entryFor(t.group, t.id, sk, activity, null))
      jobs.push({ id: randomId(), op: 'add', feed: t.id, sk, shapes, cursor: null })
    }
    for (const t of removed) {
      remove.push({ feed: t.id, sk })
      jobs.push({ id: randomId(), op: 'remove', feed: t.id, sk, cursor: null })
    }
    const body = JSON.stringify({ ...activity, origin: null })
    await this.#write(
      {
        expect: [{ sk, body: previous }],
        activities: [{ sk, body, foreignId: activity.foreign_id }],
        add,
        remove,
        audit: this.audited(() => [
          auditEntry('activity', activity.id, 'updated', actorUser(activity.actor), {
            added_targets: added.map((t) => t.id),
            removed_targets: removed.map((t) => t.id),
          }),
        ]),
      },
      jobs,
    )
  }

  /**
   * Writes `prepared` (when given) and puts it in the `add` feeds, and takes activity `sk` out of
   * the `remove` feeds, each with fan-out to its followers, in one write: how the activity that
   * stands for a reaction in its target feeds follows the reaction (no `to`, no audit entry:
   * the reaction's own entry says it).
   */
  async retarget(
    sk: string,
    prepared: PreparedActivity | undefined,
    add: FeedRef[],
    remove: FeedRef[],
  ): Promise<void> {
    const entries: EntryWrite[] = []
    const removes: EntryRemove[] = []
    const jobs: FanoutJob[] = []
    if (prepared) {
      const shapes = shapesFor(this.groups, sk, prepared.activity)
      for (const t of add) {
        entries.push(entryFor(t.group, t.id, sk, prepared.activity, null))
        jobs.push({ id: randomId(), op: 'add', feed: t.id, sk, shapes, cursor: null })
      }
    }
    for (const t of remove) {
      removes.push({ feed: t.id, sk })
      jobs.push({ id: randomId(), op: 'remove', feed: t.id, sk, cursor: null })
    }
    const activities = prepared ? [{ sk, body: prepared.body, foreignId: prepared.activity.foreign_id }] : []
    await this.#write({ activities, add: entries, remove: removes }, jobs)
  }

  /** Waits for pending fan-out, then closes the store. */
  async close(): Promise<void> {
    try {
      await this.flush()
    } finally {
      this.#fanout.stop()
      await this.#queue?.close()
      await this.#store.close()
    }
  }
}
