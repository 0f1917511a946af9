/**
 * The storage seam (v2). The engine owns every rule (ids, validation, aggregation keys, who may
 * write what, fan-out order, response shapes) and hands a store plain data; a store keeps
 * activity bodies once, timelines as compact references, group state for aggregated and
 * notification feeds, follows and fan-out jobs, and offers a few batch-first operations. No
 * store calls back into the engine, and none imports it: data flows engine → store.
 *
 * Feeds are named `slug:userId`. Activities are named by their sort key (`sk`, see
 * `engine/ids.ts`): a 31-character lowercase hex string whose string order is time order, so
 * every timeline sorts by `sk` descending (newest first).
 *
 * ## What every store must guarantee
 *
 * 1. **Atomic writes.** `write` and each `runFanout` chunk apply entirely or not at all, and
 *    resolve only once durable.
 * 2. **Idempotent entries.** Adding an entry that exists changes nothing (group counters
 *    included) and removing one that is absent changes nothing. A retried chunk, a replayed job
 *    or two workers on one job therefore deliver exactly once.
 * 3. **Reads see committed data** (READ COMMITTED is enough); each call reads one snapshot.
 * 4. **A follow and a concurrent add never miss each other, by commit order.** The engine
 *    commits an activity, its direct entries and its fan-out jobs in one `write` before any
 *    follower of the feed is read (`runFanout` reads followers); and it commits a follow edge
 *    before it reads the followed feed for the copy. Whichever of the two commits second sees
 *    the other. A store may run a job's first chunk inside the `write` that accepts it only if
 *    its write transactions are serializable (SQLite's single writer); otherwise it commits the
 *    job and leaves every chunk to `runFanout`.
 *    **An unfollow never leaves entries behind**: a chunk writes entries only to followers whose
 *    edge still exists when it commits, and a copy only while its edge exists; a store without
 *    serializable writes holds the edges it read until the chunk or copy commits (row locks, or
 *    as the PostgreSQL store does, one shared lock per followed feed that an unfollow takes
 *    exclusively), so a concurrent unfollow waits and its removal by origin sees what was written.
 * 5. **Jobs are keyed by (feed, sk) and upserted.** Accepting a job for a key that has one
 *    replaces it (new `id`, cursor reset): the latest intent wins, so a slow add cannot bring
 *    back what a later remove withdrew. The stored row is the truth: `runFanout` runs from the
 *    stored cursor, does nothing for a job whose row is gone or now has another `id`, and writes
 *    a chunk and advances (or deletes) the row in one transaction.
 * 6. **Leases distribute work, they do not guard it.** `claimFanout` hands out jobs whose lease
 *    is free or expired and leases them; a dead worker's jobs come back when the lease expires.
 *    Correctness never depends on a lease (rule 5 does that), so an expired lease held by a slow
 *    worker costs at most a repeated chunk, which rule 2 makes harmless.
 *    **A job that keeps failing is set aside, not retried forever**: `failFanout` counts its
 *    failures and, at the engine's limit, marks it dead; a dead job is never claimed, and stays
 *    (with its reason) until `retryFanout` puts it back or a new intent for its (feed, sk)
 *    replaces it (rule 5: the new job starts with no failures).
 * 7. **Optimistic read-modify-writes.** A `write` with `expect` checks, inside its own
 *    transaction, that each named activity's stored text is still the expected one; otherwise it
 *    throws {@link WriteConflict} and applies nothing. The engine then reads again and retries.
 *    No lock is held across calls, so this carries to any backend that can compare a row inside
 *    a transaction (SQLite, PostgreSQL) or a script (Redis).
 */

import type { AuditEntry, AuditStore, ReactionStore } from './reactions.js'

export type * from './reactions.js'

/** Thrown by `write` when an `expect`ed body is no longer what is stored; nothing was written. */
export class WriteConflict extends Error {
  /** The sort key whose stored body differed. */
  readonly sk: string

  constructor(sk: string) {
    super(`activity ${sk} changed while it was being updated`)
    this.name = 'WriteConflict'
    this.sk = sk
  }
}

/** How a feed stores its entries. Flat feeds list activities; the others group them. */
export type FeedKind = 'flat' | 'aggregated' | 'notification'

/** An activity body as stored: the engine's serialized JSON plus the fields a store indexes. */
export interface StoredActivity {
  /** Sort key (the activity id reordered), primary key. */
  sk: string
  /** The activity as JSON text, exactly what reads return (the engine adds `origin`). */
  body: string
  /** The activity's foreign_id ('' when none), indexed for removal by foreign_id. */
  foreignId?: string
}

/**
 * How an activity enters feeds of one kind, all but the feed's name: what the engine computes
 * once per activity and follower slug, so a fan-out chunk needs no engine code.
 */
export interface EntryShape {
  kind: FeedKind
  /** Group key, for aggregated and notification feeds only (missing there: the key ''). */
  group?: string
  /** Actor, for aggregated and notification feeds (for the group's actor count; missing: the actor ''). */
  actor?: string
  /** The activity's public id: the id of a group this entry creates (grouped feeds). */
  groupId?: string
  /**
   * When set, the feed keeps only its newest `maxLength` entries (groups for grouped feeds),
   * trimmed after the batch; when one batch gives a feed several lengths, the smallest applies.
   */
  maxLength?: number
}

/**
 * One timeline entry to add. Adding to a group updates its counters and bounds, and marks it
 * unseen and unread again (notification semantics; aggregated feeds ignore the flags).
 */
export interface EntryWrite extends EntryShape {
  feed: string
  sk: string
  /** The feed this entry came through (follow copy or fan-out), or null for direct adds and `to`. */
  origin: string | null
}

/** One timeline entry to remove. Removing updates the entry's group counters. */
export interface EntryRemove {
  feed: string
  sk: string
  /** When a string, the entry is removed only if it came through that origin. */
  origin?: string
}

/** Receives the follower feeds a fan-out chunk wrote into or withdrew from (see `runFanout`). */
export type FanoutDelivered = (feeds: string[]) => void

/** A follow edge: `source` (the follower) receives what is added to `target`. */
export interface FollowEdge {
  source: string
  target: string
}

/** A stored follow edge with its times (ISO strings). */
export interface FollowRow extends FollowEdge {
  /** When the edge was first created (kept when the follow is made again). */
  createdAt: string
  /** When the follow was last made. */
  updatedAt: string
}

/**
 * Accepted fan-out work: deliver (`add`) or withdraw (`remove`) activity `sk` to or from every
 * follower of `feed`, resuming after `cursor`, in follower-name order unless the store says
 * otherwise (the PostgreSQL and Redis stores first deliver to recently active followers).
 */
export interface FanoutJob {
  /** This version of the job: a new id each time the (feed, sk) job is accepted again. */
  id: string
  op: 'add' | 'remove'
  feed: string
  sk: string
  /**
   * For `add`: the entry each follower feed gets, by the follower's slug. Followers whose slug
   * has no shape are skipped (a feed group that no longer exists).
   */
  shapes?: Record<string, EntryShape>
  /**
   * Where the job stands, as the store wrote it; null before the first chunk. A follower feed
   * name: every follower up to it in name order is handled. A cursor starting with `!` (before
   * every feed name) is the store's own, with no follower handled in name order yet.
   */
  cursor: string | null
}

/** A body a write requires to be stored unchanged: `body` null means no activity has `sk`. */
export interface ExpectedBody {
  sk: string
  body: string | null
}

/** Everything one atomic write may do, applied in this order. */
export interface WriteBatch {
  /** Checked first: when any stored body differs, the write throws {@link WriteConflict}. */
  expect?: ExpectedBody[]
  /** Insert or replace bodies by `sk`. */
  activities?: StoredActivity[]
  /** Follow edges to create (existing ones are kept, with their original `created_at`). */
  follow?: FollowEdge[]
  /** Follow edges to delete. */
  unfollow?: FollowEdge[]
  /** Entries to add when absent. */
  add?: EntryWrite[]
  /**
   * Entries copied through a follow (origin: the edge's target), each batch added only while
   * its edge exists (rule 4), after `follow`, `unfollow` and `add`.
   */
  copies?: { edge: FollowEdge; entries: EntryWrite[] }[]
  /** Entries to remove when present. */
  remove?: EntryRemove[]
  /** Remove every entry of `feed` that came through `origin` (unfollow without history). */
  removeByOrigin?: { feed: string; origin: string }[]
  /** Fan-out jobs to accept, upserted by (feed, sk) (rule 5), leased to the writer. */
  fanout?: FanoutJob[]
  /** Followers a store that runs first chunks inside the write (rule 4) may handle per job. */
  chunkSize?: number
  /** How long the writer's lease on the accepted jobs lasts ({@link DEFAULT_LEASE_MS}). */
  leaseMs?: number
  /** Audit-log entries committed with the write (see `reactions.ts`, R5). */
  audit?: AuditEntry[]
  /**
   * The caller is one of many concurrent requests: a store may hold this write briefly (SQLite:
   * to the end of the current turn of the event loop) to commit it in one transaction with the
   * others. Each write still applies atomically on its own and fails alone (a savepoint), and
   * resolves only once that shared commit is durable (rule 1). Stores may ignore it.
   */
  groupCommit?: boolean
}

/**
 * The lease a writer gets on the jobs it accepted, and that `runFanout` renews by each chunk:
 * long enough for a chunk on a busy machine, short enough that a crashed writer's fan-out is
 * picked up by another process soon.
 */
export const DEFAULT_LEASE_MS = 30_000

/** Cursor and window for a page of a flat timeline. Cursors are sort keys. */
export interface PageQuery {
  limit: number
  offset: number
  lt?: string
  lte?: string
  gt?: string
  gte?: string
}

/**
 * A cursor on a group page: a group id, and the sort key to use when no group of the feed has
 * that id (the engine reads an unknown id as an activity id).
 */
export interface GroupCursor {
  id: string
  sk: string
}

/** Cursor and window for a page of groups, by newest activity. */
export interface GroupPageQuery {
  limit: number
  offset: number
  lt?: GroupCursor
  lte?: GroupCursor
  gt?: GroupCursor
  gte?: GroupCursor
}

/** A flat-feed entry with its body ('null' when the body is gone). */
export interface FlatEntry {
  sk: string
  origin: string | null
  body: string
}

/** An aggregated or notification group with its newest activities. */
export interface GroupRow {
  /** Stable opaque id: the `groupId` of the entry that created the group. */
  id: string
  /** The group key the engine computed. */
  group: string
  /** Sort key of the oldest and newest activity in the group (the engine derives times). */
  firstSk: string
  lastSk: string
  /** How many activities the group holds (all of them, not only those returned). */
  activityCount: number
  /** How many distinct actors those activities have. */
  actorCount: number
  /** Notification flags (aggregated feeds ignore them). */
  seen: boolean
  read: boolean
  /** The newest activities, newest first, at most the `perGroup` asked for. */
  activities: FlatEntry[]
}

/** Which groups to mark: all of them, or the listed group ids. */
export type MarkTarget = true | string[]

/** What a group read also does: unseen/unread counts, and marks applied after the read. */
export interface GroupReadOptions {
  /** Return the feed's unseen and unread group counts (as before the marks). */
  counts?: boolean
  seen?: MarkTarget
  read?: MarkTarget
}

/** A page of groups, with counts when asked for. */
export interface GroupPage {
  groups: GroupRow[]
  unseen?: number
  unread?: number
  /**
   * Set by a store that keeps only a feed's newest groups (Redis's cap) when a page came back
   * short in a feed that reached that cap: older groups may exist that it no longer holds. The
   * engine then groups the entries {@link Store.readPastCap} returns (see engine/past-cap-groups.ts).
   */
  pastCap?: PastCapBound
}

/** Where a capped store's groups end, for a page that ran past them. */
export interface PastCapBound {
  /** Newest sort key of the oldest group held: every entry not held that is older belongs past the cap. */
  oldest: string
  /** How many held groups lie within the page's cursors (the page's offset skips them first). */
  within: number
  /** Each cursor of the page as the sort key it stood for (a held group's newest activity, else its own). */
  bounds: { lt?: string; lte?: string; gt?: string; gte?: string }
}

/** A slice of the entries a capped feed no longer holds, newest first. */
export interface PastCapSlice {
  /** Entries with bodies (entries still held, or whose body is gone, are left out). */
  entries: FlatEntry[]
  /** Where the next slice starts (exclusive), or undefined when nothing older is left. */
  next?: string
}

/** A page of followers or following. */
export interface FollowQuery {
  limit: number
  offset: number
  /** Only edges whose other end is one of these feeds (an empty list filters nothing). */
  filter?: string[]
}

/** Which follow counts to take: undefined skips a side, an empty list counts every slug. */
export interface FollowCountQuery {
  /** Count followers of the feed whose slug is one of these (`[]`: all). */
  followers?: string[]
  /** Count feeds the feed follows whose slug is one of these (`[]`: all). */
  following?: string[]
}

/** A failed run of a fan-out job, as {@link Store.failFanout} records it. */
export interface FanoutFailure {
  /** What went wrong (the error's message), kept with the job. */
  reason: string
  /** Failures at which the job is set aside as dead. */
  maxFailures: number
  /** How long the job waits before it may be claimed again, when it is not dead. */
  retryMs: number
}

/** A fan-out job set aside after failing `failures` times (see {@link Store.deadFanout}). */
export interface DeadFanoutJob {
  id: string
  op: 'add' | 'remove'
  feed: string
  sk: string
  /** How many runs failed. */
  failures: number
  /** The last failure's reason. */
  reason: string
  /** When the last failure was recorded (ISO 8601). */
  failedAt: string
}

/** Options for {@link Store.claimFanout}. */
export interface ClaimOptions {
  /** Most jobs to claim. */
  limit: number
  /** How long the claim holds before another worker may take the job. */
  leaseMs: number
}

/** Free-form documents for the server's users and collections. */
export interface DocRow {
  kind: string
  id: string
  data: Record<string, unknown>
  createdAt: string
  /** Moves forward on every write: the version `putDoc`'s `ifUpdatedAt` compares. */
  updatedAt: string
}

/** Documents (users, collection entries): a seam of their own, beside the feed storage. */
export interface DocumentStore {
  /** Gets documents by kind and ids, in the order asked (a repeated id comes back repeated). */
  getDocs(kind: string, ids: string[]): Promise<DocRow[]>

  /**
   * Writes a document. `insert` fails (resolves undefined) when the id exists, `update` when it
   * does not; `upsert` always writes. `created_at` is kept on update, and `updated_at` strictly
   * increases with every write of a document (bumped by 1 ms when the clock has not moved), so
   * it serves as a version: with `ifUpdatedAt`, an update applies only if the stored
   * `updated_at` is still that value (else undefined), checked inside the write's transaction.
   */
  putDoc(
    kind: string,
    id: string,
    data: Record<string, unknown>,
    mode: 'insert' | 'update' | 'upsert',
    ifUpdatedAt?: string,
  ): Promise<DocRow | undefined>

  /** Deletes documents; resolves with how many existed. */
  deleteDocs(kind: string, ids: string[]): Promise<number>
}

/** How a store behaves under load, so the engine can schedule fan-out around it. */
export interface StoreTraits {
  /**
   * Whether a call holds the JavaScript thread while it works (better-sqlite3 and the memory
   * store do; a network store does not). The engine then keeps each fan-out chunk short.
   */
  blocksEventLoop: boolean
  /** Follower feeds per fan-out transaction that suit this store (the engine's upper bound). */
  fanoutChunkSize: number
}

/** The feed storage seam every backend implements; see the module comment for the rules. */
export interface Store {
  /** A short name for messages: `memory`, `sqlite:/path`, `postgres://host/db`. */
  readonly name: string

  /** How the store behaves under load (assumed: blocks the event loop, chunks of 500). */
  readonly traits?: StoreTraits

  /** Users and collections of this backend. */
  readonly documents: DocumentStore

  /** Reactions of this backend (`reactions.ts`). */
  readonly reactions: ReactionStore

  /** The audit log of this backend (`reactions.ts`). */
  readonly audit: AuditStore

  /**
   * Applies `batch` atomically and resolves once durable, with the accepted fan-out jobs still
   * to run (leased to the caller), for `runFanout`: every accepted job, or, for a store that ran
   * first chunks inside the write (rule 4), those with followers left.
   */
  write(batch: WriteBatch): Promise<FanoutJob[]>

  /**
   * Runs the next chunk of `job` (at most `chunkSize` followers after the stored cursor) in one
   * transaction: writes their entries (`shapes`, or removals through `job.feed`) and advances or
   * deletes the row, renewing its lease for as long as it was last leased. Resolves with the job
   * as advanced, or null when it is finished, superseded or gone (rule 5). A full chunk may be
   * the last: the next run then finds no follower and finishes the job.
   *
   * `delivered`, when given, is called before the chunk commits with the follower feeds it
   * wrote the entry into (or withdrew it from), by stores that have them at hand: only those
   * that did not hold the entry yet where the store can tell (a priority pass delivers twice).
   * Act on them once the returned promise resolves (a rejected chunk committed nothing). A store
   * that never calls it walks followers by name, its cursors being the last name (realtime then
   * reads the listened followers between the cursors).
   */
  runFanout(job: FanoutJob, chunkSize: number, delivered?: FanoutDelivered): Promise<FanoutJob | null>

  /** Leases up to `limit` accepted jobs that no live lease holds, oldest first (rule 6). */
  claimFanout(options: ClaimOptions): Promise<FanoutJob[]>

  /**
   * Records that a run of `job` failed (rule 6): counts the failure with its reason and, at
   * `maxFailures` failures in a row (a chunk that commits resets the count), sets the job aside
   * as dead (never claimed); else leases it for `retryMs`, so other jobs are claimed first. Resolves `gone` (nothing recorded) when the job is finished or
   * superseded (rule 5).
   */
  failFanout(job: FanoutJob, failure: FanoutFailure): Promise<'retry' | 'dead' | 'gone'>

  /** Up to `limit` dead jobs, oldest first, and how many there are in all. */
  deadFanout(limit: number): Promise<{ total: number; jobs: DeadFanoutJob[] }>

  /**
   * Puts dead jobs back, failures forgotten and claimable at once: those with the given ids, or
   * every one for `'all'`. Resolves with how many were dead and now are not.
   */
  retryFanout(ids: string[] | 'all'): Promise<number>

  /** Bodies for the given sort keys; missing ones are absent from the map. */
  getActivities(sks: string[]): Promise<Map<string, StoredActivity>>

  /** Sort keys of the activities in `feed` whose foreign_id is `foreignId`, newest first. */
  findByForeignId(feed: string, foreignId: string): Promise<string[]>

  /** Which of `sks` `feed` holds, with the origin each came through. */
  getEntries(feed: string, sks: string[]): Promise<Map<string, { origin: string | null }>>

  /** A page of a flat feed, newest first. */
  readFlat(feed: string, page: PageQuery): Promise<FlatEntry[]>

  /** The newest `limit` sort keys of a feed (for follow copies). */
  newestEntries(feed: string, limit: number): Promise<string[]>

  /**
   * A page of groups by newest activity, each with its `perGroup` newest activities; with
   * `options`, the unseen/unread counts and the marks, all in one snapshot and transaction.
   */
  readGroups(
    feed: string,
    page: GroupPageQuery,
    perGroup: number,
    options?: GroupReadOptions,
  ): Promise<GroupPage>

  /**
   * Optional, for stores that report {@link GroupPage.pastCap}: up to `limit` entries of `feed`
   * older than `below` and not older than `floor` (when given), newest first, that its timeline
   * no longer holds, read from the durable record. The engine groups them with the feed's rules.
   */
  readPastCap?(feed: string, below: string, limit: number, floor?: string): Promise<PastCapSlice>

  /** Feeds following `feed`, newest follow first (same `created_at`: the later edge first). */
  followers(feed: string, query: FollowQuery): Promise<FollowRow[]>

  /** Feeds `feed` follows, newest follow first. */
  following(feed: string, query: FollowQuery): Promise<FollowRow[]>

  /** Follower and following counts of `feed`, by slug, in one call. */
  countFollows(feed: string, query: FollowCountQuery): Promise<{ followers?: number; following?: number }>

  /**
   * Optional: a value that differs from every earlier one once committed data may have changed,
   * by this process or any other, so a reader may reuse what it built from reads it made *after*
   * taking an equal value (the server's page cache). Extra changes are harmless (a reuse lost);
   * a missed change is not. SQLite: `PRAGMA data_version` (other connections' commits) with the
   * connection's own change count. A PostgreSQL or Redis store could keep a counter that every
   * write transaction or script bumps (one round trip per read to check it, and a row every
   * PostgreSQL writer updates); a store without this method simply gets no caching.
   */
  dataVersion?(): Promise<string>

  /** Releases files and connections; any later call fails with a clear error. */
  close(): Promise<void>
}
