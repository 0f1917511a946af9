/**
 * The feed engine's facade: every use case of Stream's Feeds v1 semantics over a {@link Store},
 * and the only door to them. The getstream-shaped client, the HTTP server and the CLI call these
 * methods; the plumbing they share (the guarded store, the write path, fan-out) stays behind
 * the internal {@link EngineContext} (context.ts), which this class never hands out.
 */

import type { DeadFanoutJob, FollowRow, PageQuery, PendingStorage, StorageAdapter } from '../store/store.js'
import type { Activity } from './activity.js'
import { type FlatPageJson, flatPageJson } from './activity-json.js'
import {
  type AddOptions,
  addActivities,
  addToMany,
  removeActivities,
  removeByForeignId,
  removeById,
} from './activity-writes.js'
import { type AuditLogOptions, type AuditLogPage, listAuditLogs } from './audit.js'
import { Collections } from './collections.js'
import { EngineContext } from './context.js'
import { deadJobMetrics } from './dead-jobs.js'
import { inputError } from './errors.js'
import type { FeedEvents } from './events.js'
import { workQueue } from './fanout-queue.js'
import { type DefinedGroup, type DeletedGroup, FeedGroupDefs } from './feed-group-defs.js'
import type { FeedGroup, FeedGroupOptions, FeedRef } from './feed-groups.js'
import { type FollowSuggestion, followSuggestions } from './follow-suggestions.js'
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
import { idToSk } from './ids.js'
import { markNotifications, type NotificationStatus, notificationStatus } from './notifications.js'
import { type EngineOptions, intOption } from './options.js'
import { Reactions } from './reactions.js'
import { type FeedPage, type GetFeedOptions, pageQuery, type ReadContext, readFeed } from './read.js'
import { type Reader, readableActivities } from './read-policy.js'
import { retarget } from './targets.js'
import {
  getActivitiesByForeignIds,
  getActivitiesByIds,
  partialUpdate,
  type TargetsUpdate,
  updateActivities,
  updateToTargets,
} from './updates.js'
import { UserStanding } from './user-standing.js'
import { Users } from './users.js'
import { type FeedsMove, setActivityFeeds } from './v3-activity-feeds.js'
import { V3Follows } from './v3-follows.js'
import { V3Members } from './v3-members.js'
import { V3Pins } from './v3-pins.js'
import { V3Polls } from './v3-polls.js'
import { V3Records } from './v3-records.js'

export { MAX_ADD_TO_MANY, MAX_BATCH } from './activity-writes.js'
export { DEFAULT_COPY_LIMIT, MAX_COPY_LIMIT } from './follows.js'
export { type EngineOptions, intOption } from './options.js'

/** The engine: configured feed groups over a store, and the use cases on them. */
export class Engine {
  /** Reactions: add, filter, update, delete, and the reaction fields of reads. */
  readonly reactions: Reactions
  /** Users: create, get (with follow counts), update, delete, and the batch calls. */
  readonly users: Users
  /** Users' standing: deactivation (tokens refused) and blocks (user-standing.ts). */
  readonly standing: UserStanding
  /** Collection entries: add, get, update, delete, and the batch upsert, select, deleteMany. */
  readonly collections: Collections
  /** What Feeds V3 keeps beside feeds and activities (feed data, own activity ids; src/v3). */
  readonly v3: V3Records
  /** V3 follows on the engine's edges: requests, accept, reject, update, unfollow (v3-follows.ts). */
  readonly v3Follows: V3Follows
  /** V3 pinned activities of feeds. */
  readonly v3Pins: V3Pins
  /** V3 polls: options, votes and their rules, one document per poll (v3-polls.ts). */
  readonly v3Polls: V3Polls
  /** V3 feed members and invites. */
  readonly v3Members: V3Members
  readonly #ctx: EngineContext
  readonly #defined: FeedGroupDefs

  /** `store`: an adapter, or one still loading (`PendingStorage`, from `presets.ts`). */
  constructor(store: StorageAdapter | PendingStorage, options: EngineOptions = {}) {
    const ctx = new EngineContext(store, options)
    this.#ctx = ctx
    this.reactions = new Reactions(
      {
        groups: ctx.groups,
        audited: (make) => ctx.audited(make),
        loadActivities: (sks) => ctx.loadActivities(sks),
        getEntries: (feed, sks) => ctx.getEntries(feed, sks),
        admitFanout: () => ctx.admitFanout(),
        retarget: (sk, prepared, add, remove) => retarget(ctx, sk, prepared, add, remove),
      },
      ctx.store.reactions,
      ctx.store.documents,
    )
    const recordAudit = ctx.recordAudit.bind(ctx)
    this.standing = new UserStanding({
      documents: ctx.store.documents,
      events: ctx.events,
      existing: async (ids) => new Set((await this.users.lookup(ids)).map((u) => u.id)),
    })
    this.users = new Users({
      documents: ctx.store.documents,
      recordAudit,
      followCounts: (id) => this.#userFollowCounts(id),
      forget: (ids) => this.standing.forget(ids),
    })
    this.collections = new Collections({ documents: ctx.store.documents, recordAudit })
    this.v3 = new V3Records(ctx.store.documents)
    this.#defined = new FeedGroupDefs(ctx.groups, ctx.store.documents)
    this.v3Follows = new V3Follows(ctx.store.documents, {
      follow: (pairs) => this.follow(pairs),
      unfollow: (pairs) => this.unfollow(pairs),
      edge: async (source, target) =>
        (await listFollows(ctx.store, source, 'following', { limit: 1, offset: 0, filter: [target.id] }))[0],
    })
    this.v3Pins = new V3Pins(ctx.store.documents)
    this.v3Polls = new V3Polls(ctx.store.documents)
    this.v3Members = new V3Members(ctx.store.documents)
  }

  // ---- Configuration and lifecycle

  /** The configured feed groups, by slug. */
  get groups(): ReadonlyMap<string, FeedGroup> {
    return this.#ctx.groups
  }

  /** Follower feeds written per fan-out transaction. */
  get chunkSize(): number {
    return this.#ctx.chunkSize
  }

  /** Whether changes are recorded in the audit log (the `auditLog` option). */
  get auditing(): boolean {
    return this.#ctx.auditing
  }

  /** Realtime: Stream's message for every change to a listened feed (see events.ts). */
  get events(): FeedEvents {
    return this.#ctx.events
  }

  /** The store's short name (`memory`, `sqlite:/path`...), for messages and health checks. */
  get storeName(): string {
    return this.#ctx.store.name
  }

  /**
   * Resolves once the store is open (PostgreSQL and Redis connect and migrate in the background)
   * and the feed groups defined on it are known.
   */
  async ready(): Promise<void> {
    await this.#ctx.store.open()
    await this.#ctx.queue?.ready?.()
    await this.#defined.load()
  }

  /**
   * Defines feed group `slug` with `options` (the configured groups' options and rules), stored
   * so every engine on the store learns it; an existing group is returned as it is.
   */
  defineFeedGroup(slug: string, options: FeedGroupOptions): Promise<DefinedGroup> {
    return this.#defined.define(slug, options)
  }

  /** Learns the feed groups defined (and forgets those deleted) on the store since the last load; resolves with the new slugs. */
  loadFeedGroups(): Promise<string[]> {
    return this.#defined.load()
  }

  /** Defines feed group `slug` only if no group of that name exists (a 409 otherwise). */
  createFeedGroup(slug: string, options: FeedGroupOptions): Promise<FeedGroup> {
    return this.#defined.define(slug, options, true).then((d) => d.group)
  }

  /**
   * Soft-deletes defined feed group `slug` on every engine of the store (feed-group-defs.ts):
   * its feeds are refused and skipped by fan-out until it is restored; they keep their data.
   */
  deleteFeedGroup(slug: string): Promise<void> {
    return this.#defined.delete(slug)
  }

  /** Restores a soft-deleted feed group as it was. */
  restoreFeedGroup(slug: string): Promise<FeedGroup> {
    return this.#defined.restore(slug)
  }

  /** The soft-deleted feed group `slug` (as last loaded), if it is one. */
  deletedFeedGroup(slug: string): DeletedGroup | undefined {
    return this.#defined.deleted(slug)
  }

  /** Every soft-deleted feed group (as last loaded). */
  deletedFeedGroups(): DeletedGroup[] {
    return this.#defined.allDeleted()
  }

  /** Whether feed group `slug` comes from the server's configuration (not defined at run time). */
  isConfiguredFeedGroup(slug: string): boolean {
    return this.#defined.isConfigured(slug)
  }

  /**
   * The store's data version (`Store.dataVersion`): taken before reads, an equal value later
   * means nothing they read has changed since. Undefined when the store keeps none.
   */
  dataVersion(): Promise<string> | undefined {
    // The runtime storage hands out a function bound to its adapter, or none.
    const version = this.#ctx.store.dataVersion
    return typeof version === 'function' ? version() : undefined
  }

  /**
   * The store's data version when it moves with every committed write to any part (documents,
   * follows, reactions: `Capabilities.versionsEveryWrite`), else undefined: what a cache of
   * answers built from all of them (the V3 feed page) may check.
   */
  everyWriteVersion(): Promise<string> | undefined {
    return this.#ctx.store.capabilities.versionsEveryWrite === true ? this.dataVersion() : undefined
  }

  /**
   * The data version of each of `feeds`' pages, in order: the store's per-feed versions when it
   * keeps them, else its one data version for every feed; undefined when it keeps none. An
   * equal value later means nothing a page of that feed shows has changed since.
   */
  pageVersions(feeds: string[]): Promise<string[]> | undefined {
    const perFeed = this.#ctx.store.feedVersions
    if (typeof perFeed === 'function') return perFeed(feeds)
    const version = this.dataVersion()
    return version?.then((v) => feeds.map(() => v))
  }

  /**
   * Takes over fan-out that no live process holds (accepted earlier, or by a crashed process),
   * and from then on keeps checking for such jobs in the background.
   */
  resume(): Promise<void> {
    const ctx = this.#ctx
    return ctx.localFanout && !ctx.queue ? ctx.fanout.resume() : Promise.resolve()
  }

  /**
   * Runs as a dedicated fan-out worker until `signal` aborts: consumes the fan-out queue with
   * `concurrency` chunks at a time when there is one (see fanout-queue.ts), else claims jobs
   * from the store (see FanoutRunner.work).
   */
  work(signal: AbortSignal, pollMs?: number, concurrency = 1): Promise<void> {
    const ctx = this.#ctx
    if (!ctx.queue) return ctx.fanout.work(signal, pollMs)
    return workQueue({
      store: ctx.store,
      queue: ctx.queue,
      chunkSize: ctx.chunkSize,
      leaseMs: ctx.leaseMs,
      reshape: (job) => ctx.reshape(job),
      dead: ctx.dead,
      concurrency,
      signal,
    })
  }

  /** Prometheus text: the fan-out queue's metrics (when there is a queue) and the dead jobs. */
  async metrics(): Promise<string> {
    const queue = this.#ctx.queue ? await this.#ctx.queue.metrics() : ''
    return queue + deadJobMetrics((await this.#ctx.store.jobs.deadFanout(0)).total)
  }

  /** Up to `limit` (default 100) fan-out jobs set aside as dead, oldest first, and how many in all. */
  deadFanout(limit: unknown = 100): Promise<{ total: number; jobs: DeadFanoutJob[] }> {
    return this.#ctx.store.jobs.deadFanout(intOption(limit, 'limit', 0, 10_000, 100))
  }

  /**
   * Puts dead fan-out jobs back (by id, or `'all'`), failures forgotten: the next claim (a
   * running server's or worker's, within a lease period) delivers them. Resolves with how many.
   */
  retryFanout(ids: string[] | 'all'): Promise<number> {
    if (ids !== 'all' && (!Array.isArray(ids) || ids.some((id) => typeof id !== 'string')))
      throw inputError("ids must be a list of job ids, or 'all'", ids, 'ids')
    return this.#ctx.store.jobs.retryFanout(ids)
  }

  /** Whether this process is delivering fan-out in the background right now. */
  get deliveringFanout(): boolean {
    return this.#ctx.fanout.busy
  }

  /**
   * Whether the store's calls run on this thread (SQLite, memory): a fan-out chunk then holds the
   * event loop, and work waiting for the end of a turn waits behind it.
   */
  get blocksEventLoop(): boolean {
    return this.#ctx.store.capabilities.blocksEventLoop
  }

  /** Resolves once every fan-out this process accepted or claimed has been delivered. */
  flush(): Promise<void> {
    return this.#ctx.fanout.idle()
  }

  /** Waits for pending fan-out, then closes the store. */
  async close(): Promise<void> {
    try {
      await this.flush()
    } finally {
      this.#ctx.fanout.stop()
      await this.#ctx.queue?.close()
      await this.#ctx.store.close()
    }
  }

  // ---- Feeds

  /** Validates `slug` and `userId`. */
  feed(slug: unknown, userId: unknown): FeedRef {
    return this.#ctx.feed(slug, userId)
  }

  /** Parses a `slug:userId` feed id. */
  parseFeed(value: unknown, field?: string): FeedRef {
    return this.#ctx.parseFeed(value, field)
  }

  /**
   * Reads a page of `feed` (flat, aggregated or notification, with the reaction fields the
   * options ask for); notification marks apply after the page is built (see read.ts). The page
   * ends with a cursor, not a URL: `feedResponse` (src/wire) makes Stream's response of it.
   */
  readFeed(feed: FeedRef, options?: GetFeedOptions, context?: ReadContext): Promise<FeedPage> {
    return readFeed(this.#ctx, this.reactions, feed, options, context)
  }

  /** A notification feed's unseen and unread counts and the seen and read ids of its newest groups. */
  notificationStatus(feed: FeedRef, limit?: number): Promise<NotificationStatus> {
    return notificationStatus(this.#ctx, feed, limit)
  }

  /** Marks groups of a notification feed seen and/or read (true for all, or group ids), as a V1 read does. */
  markNotifications(feed: FeedRef, marks: { seen?: unknown; read?: unknown }): Promise<void> {
    return markNotifications(this.#ctx, feed, marks)
  }

  /** Validates a read's paging options (limit, offset, id_* cursors) for `feed`'s kind. */
  pageOf(feed: FeedRef, options: GetFeedOptions): PageQuery {
    return pageQuery(options, feed.group.kind !== 'flat')
  }

  /**
   * A page of a flat feed as JSON text, each activity exactly as `readFeed` + `JSON.stringify`
   * gives it, without parsing stored bodies (the contract is in activity-json.ts); undefined
   * when a body predates that form (then use `readFeed`).
   */
  flatPageJson(feed: FeedRef, page: PageQuery): Promise<FlatPageJson | undefined> {
    return flatPageJson(this.#ctx, feed, page)
  }

  /**
   * Adds activities to `feed`, its `to` targets and their followers. With `user` (a user token),
   * each activity must be that user's (see activity-writes.ts).
   */
  addActivities(feed: FeedRef, inputs: unknown[], user?: string, options?: AddOptions): Promise<Activity[]> {
    return addActivities(this.#ctx, feed, inputs, user, options)
  }

  /** Removes activities (by sort key) from `feed` and its followers; resolves with how many it held. */
  removeActivities(feed: FeedRef, sks: string[], user?: string): Promise<number> {
    return removeActivities(this.#ctx, feed, sks, user)
  }

  /** Removes every activity with `foreignId` from `feed`. */
  removeByForeignId(feed: FeedRef, foreignId: string, user?: string): Promise<number> {
    return removeByForeignId(this.#ctx, feed, foreignId, user)
  }

  /** Removes the activity with id `id` from `feed`. */
  removeById(feed: FeedRef, id: unknown, user?: string, field?: string): Promise<number> {
    return removeById(this.#ctx, feed, id, user, field)
  }

  /** Adds one activity to many feeds directly, without fan-out to their followers. */
  addToMany(input: unknown, feeds: unknown): Promise<Activity> {
    return addToMany(this.#ctx, input, feeds)
  }

  // ---- Activities

  /** Activities by id, in the order asked (at most 100); unknown ids are left out. */
  getActivities(ids: unknown): Promise<Activity[]> {
    return getActivitiesByIds(this.#ctx, ids)
  }

  /** Activities by `{ foreign_id, time }` pairs, in the order asked; unknown pairs are left out. */
  getActivitiesByForeignIds(pairs: unknown): Promise<Activity[]> {
    return getActivitiesByForeignIds(this.#ctx, pairs)
  }

  /** Activities by id for references (`SA:`): ids that are not activity ids are skipped. */
  async lookupActivities(ids: string[]): Promise<Map<string, Activity>> {
    const bySk = new Map<string, string>()
    for (const id of ids) {
      const sk = idToSk(id)
      if (sk) bySk.set(sk, id)
    }
    const found = await this.#ctx.loadActivities([...bySk.keys()])
    return new Map([...found].map(([sk, activity]) => [bySk.get(sk) as string, activity]))
  }

  /** The activities of `activities` that `reader` may read, in order (all without a reader; read-policy.ts). */
  readable<T extends Pick<Activity, 'id' | 'actor' | 'to'>>(
    reader: Reader | undefined,
    activities: T[],
  ): Promise<T[]> {
    return readableActivities(this.#ctx, reader, activities)
  }

  /** Replaces whole activities, identified by foreign_id + time. */
  updateActivities(activities: unknown): Promise<void> {
    return updateActivities(this.#ctx, activities)
  }

  /** Applies set/unset changes to activities by id or foreign_id + time; with `user`, only its own. */
  partialUpdate(changes: unknown, user?: string): Promise<Activity[]> {
    return partialUpdate(this.#ctx, changes, user)
  }

  /** Replaces or edits the `to` targets of the activity with foreign_id + time in `feed`. */
  updateToTargets(
    feed: FeedRef,
    foreignId: unknown,
    time: unknown,
    options: { new_targets?: unknown; added_targets?: unknown; removed_targets?: unknown },
    user?: string,
  ): Promise<TargetsUpdate> {
    return updateToTargets(this.#ctx, feed, foreignId, time, options, user)
  }

  /**
   * Makes a V3 activity (by sort key) be in exactly `feeds`: enters the new ones, leaves the
   * others with their fan-out copies, in one write (v3-activity-feeds.ts); with `user`, only its own.
   */
  setActivityFeeds(sk: string, feeds: FeedRef[], user?: string): Promise<FeedsMove> {
    return setActivityFeeds(this.#ctx, sk, feeds, user)
  }

  // ---- Follows

  /**
   * Makes each `source` follow its `target`, copying the target's newest `copyLimit` activities
   * (default 100, 0–1,000; a pair's own `limit` overrides it). Edges commit before the copies
   * are read, so a concurrent add reaches the new follower through its fan-out or the copy.
   */
  async follow(pairs: FollowPair[], copyLimit?: unknown): Promise<void> {
    // About one fan-out chunk of rows per write, so a long followMany does not hold the store.
    await follow(this.#ctx.store, pairs, copyLimit, this.#ctx.fanout.chunkSize)
  }

  /** Removes follows; unless `keepHistory`, also the activities that came through them. */
  async unfollow(pairs: { source: FeedRef; target: FeedRef; keepHistory: boolean }[]): Promise<void> {
    const perWrite = Math.max(1, Math.floor(this.#ctx.fanout.chunkSize / DEFAULT_COPY_LIMIT))
    await unfollow(this.#ctx.store, pairs, perWrite)
  }

  /** Feeds following `feed` (or that it follows), newest follow first; options as Stream's. */
  follows(
    feed: FeedRef,
    direction: 'followers' | 'following',
    options?: FollowListOptions,
  ): Promise<FollowRow[]> {
    return listFollows(this.#ctx.store, feed, direction, followQuery(this.#ctx.groups, options))
  }

  /** Feeds of group `slug` to suggest `userId` follows (friends of friends, bounded; follow-suggestions.ts). */
  followSuggestions(userId: string, slug: string): Promise<FollowSuggestion[]> {
    const store = this.#ctx.store
    return followSuggestions(
      {
        groups: this.#ctx.groups,
        follows: (feed, direction, { limit }) =>
          listFollows(store, feed, direction, { limit, offset: 0, filter: [] }),
      },
      userId,
      slug,
    )
  }

  /** Follower and following counts of `feed`, optionally only of some (configured) slugs. */
  followStats(
    feed: FeedRef,
    options?: { followerSlugs?: unknown; followingSlugs?: unknown },
  ): Promise<{ followers: number; following: number }> {
    return followStats(this.#ctx.store, feed, options)
  }

  // ---- Audit log

  /** A page of the audit log, filtered and paged as Stream's `audit_logs/` (see `audit.ts`). */
  auditLogs(options?: AuditLogOptions): Promise<AuditLogPage> {
    if (!this.#ctx.auditing) {
      throw inputError(
        'the audit log is off: connect({ auditLog: true }) records it (createServer and eddy serve do by default)',
        false,
        'auditLog',
      )
    }
    return listAuditLogs(this.#ctx.store.audit, options)
  }

  /** Stream counts followers of user:<id> and follows of timeline:<id> (stream-api.md §3.5). */
  async #userFollowCounts(id: string): Promise<{ followers: number; following: number }> {
    const stats = (slug: string) =>
      this.#ctx.groups.has(slug)
        ? this.followStats(this.feed(slug, id))
        : Promise.resolve({ followers: 0, following: 0 })
    const [followers, following] = await Promise.all([
      stats('user').then((s) => s.followers),
      stats('timeline').then((s) => s.following),
    ])
    return { followers, following }
  }
}
