/**
 * The storage seam. The engine owns every rule (ids, validation, aggregation keys, fan-out
 * order, response shapes); a store keeps activity bodies once, timelines as compact references,
 * group state for aggregated/notification feeds, follows and fan-out jobs, and offers a few
 * batch-first operations, each atomic.
 *
 * Feeds are named `slug:userId`. Activities are named by their sort key (`sk`, see
 * `engine/ids.ts`): a 31-character lowercase hex string whose string order is time order, so
 * every timeline sorts by `sk` descending (newest first).
 *
 * Every write is idempotent per (feed, sk): adding an entry that exists changes nothing (group
 * counters included) and removing one that is absent changes nothing. That is what makes a
 * fan-out chunk that is retried after a crash, or run by two processes, deliver exactly once.
 *
 * Read-modify-writes of an activity (partial updates, `to` changes, a user re-adding a
 * foreign_id + time) are optimistic: the engine reads the body, decides, and writes with
 * `expect`, which the store checks inside the write's own transaction. A body that changed in
 * between (another request, another process) fails the whole write with {@link WriteConflict}
 * and nothing is applied; the engine reads again and retries. This needs no lock held across
 * calls, so it carries to any backend that can compare a row inside a transaction (SQLite,
 * PostgreSQL) or a script (Redis).
 */

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

/** One timeline entry to add. */
export interface EntryWrite {
  feed: string
  kind: FeedKind
  sk: string
  /** The feed this entry came through (follow copy or fan-out), or null for direct adds and `to`. */
  origin: string | null
  /** Group key, for aggregated and notification feeds only (missing there: the key ''). */
  group?: string
  /** Actor, for aggregated and notification feeds (for `actor_count`; missing: the actor ''). */
  actor?: string
  /**
   * When set, the feed keeps only its newest `maxLength` entries (groups for grouped feeds),
   * trimmed after the batch; when one batch gives a feed several lengths, the smallest applies.
   */
  maxLength?: number
}

/** One timeline entry to remove. Removing updates the entry's group counters. */
export interface EntryRemove {
  feed: string
  sk: string
  /** When a string, the entry is removed only if it came through that origin. */
  origin?: string
}

/** A follow edge: `source` (the follower) receives what is added to `target`. */
export interface FollowEdge {
  source: string
  target: string
}

/** A stored follow edge with its times (ISO strings as Stream returns them). */
export interface FollowRow extends FollowEdge {
  created_at: string
  updated_at: string
}

/**
 * Accepted fan-out work: deliver (`add`) or withdraw (`remove`) activity `sk` to or from every
 * follower of `feed`, in follower order, resuming after `cursor`.
 */
export interface FanoutJob {
  id: string
  op: 'add' | 'remove'
  feed: string
  sk: string
  /** The last follower feed already handled, or null before the first chunk. */
  cursor: string | null
}

/**
 * Turns one chunk of follower feeds into entry writes. Called inside the store's transaction,
 * so it must be synchronous and pure (the engine closes over the activity it fans out).
 */
export type ChunkBuilder = (
  job: FanoutJob,
  followers: string[],
) => { add?: EntryWrite[]; remove?: EntryRemove[] }

/** Fan-out to start inside a write: jobs, how to build their entries and the chunk size. */
export interface FanoutStart {
  jobs: FanoutJob[]
  build: ChunkBuilder
  chunkSize: number
}

/**
 * A follow copy resolved inside the write's transaction, so an activity added to `target` at the
 * same moment is either copied here or fanned out to the new follower, never neither: the newest
 * `limit` activities of `target` (newest first, with bodies) go through `build`, a synchronous pure
 * function from the engine, and the entries it returns are added.
 */
export interface FollowCopy {
  source: string
  target: string
  limit: number
  /** Whether `build` needs bodies (grouped feeds do); without, bodies are passed as ''. */
  withBodies: boolean
  build: (activities: StoredActivity[]) => EntryWrite[]
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
  /** Follow copies, applied after the follow edges and `add`. */
  copies?: FollowCopy[]
  /** Entries to remove when present. */
  remove?: EntryRemove[]
  /** Remove every entry of `feed` that came through `origin` (unfollow without history). */
  removeByOrigin?: { feed: string; origin: string }[]
}

/** Cursor and window for a page of a timeline. Cursors are sort keys (flat) or group ids. */
export interface PageQuery {
  limit: number
  offset: number
  lt?: string
  lte?: string
  gt?: string
  gte?: string
}

/** A flat-feed entry with its body. */
export interface FlatEntry {
  sk: string
  origin: string | null
  body: string
}

/** An aggregated or notification group with its newest activities. */
export interface GroupRow {
  /** Stable opaque id: the id (UUID) of the activity that created the group. */
  id: string
  /** The group key the engine computed. */
  group: string
  /** Sort key of the oldest and newest activity in the group (the engine derives times). */
  firstSk: string
  lastSk: string
  activity_count: number
  actor_count: number
  is_seen: boolean
  is_read: boolean
  /** The newest activities, newest first, at most the `perGroup` asked for. */
  activities: FlatEntry[]
}

/** Which groups to mark: all of them, or the listed group ids. */
export type MarkTarget = true | string[]

/** A page of followers or following. */
export interface FollowQuery {
  limit: number
  offset: number
  /** Only edges whose other end is one of these feeds (an empty list filters nothing). */
  filter?: string[]
}

/** Free-form documents for the server's users and collections. */
export interface DocRow {
  kind: string
  id: string
  data: Record<string, unknown>
  created_at: string
  updated_at: string
}

/** The storage seam every backend implements; see the module comment for the rules. */
export interface Store {
  /** A short name for messages: `memory`, `sqlite:/path`. */
  readonly name: string

  /**
   * Applies `batch` atomically; with `fanout`, in the same transaction, handles the first chunk
   * of each job and persists those that have followers left. Resolves once durable, with the
   * jobs still pending (their cursors advanced). A throw (a chunk builder's too) leaves nothing.
   *
   * Starting a job cancels pending jobs for the same `feed` and `sk`: the new job reaches every
   * follower again, so the latest intent wins and a slow `add` cannot bring back what a later
   * `remove` withdrew.
   */
  write(batch: WriteBatch, fanout?: FanoutStart): Promise<FanoutJob[]>

  /**
   * Handles the next chunk of `job` (followers after its cursor) in one transaction: builds and
   * writes its entries and advances or deletes the job. Resolves with the advanced job, or null
   * when it is finished.
   *
   * The persisted job is the truth: its stored cursor wins over the caller's copy (a worker
   * holding a stale copy runs the next chunk, not one already done), and a job with a cursor
   * whose row is gone (finished or cancelled) does nothing and resolves null. A job that was
   * never persisted (null cursor, no row) is started as `write` would.
   */
  runFanout(job: FanoutJob, build: ChunkBuilder, chunkSize: number): Promise<FanoutJob | null>

  /** Fan-out jobs accepted but not finished, oldest first (what a restart must resume). */
  pendingFanout(): Promise<FanoutJob[]>

  /** Bodies for the given sort keys; missing ones are absent from the map. */
  getActivities(sks: string[]): Promise<Map<string, StoredActivity>>

  /** Sort keys of the activities in `feed` whose foreign_id is `foreignId`, newest first. */
  findByForeignId(feed: string, foreignId: string): Promise<string[]>

  /** Whether `feed` holds `sk`, and through which origin (undefined when absent). */
  getEntry(feed: string, sk: string): Promise<{ origin: string | null } | undefined>

  /** A page of a flat feed, newest first. */
  readFlat(feed: string, page: PageQuery): Promise<FlatEntry[]>

  /** The newest `limit` sort keys of a flat feed (for follow copies). */
  newestEntries(feed: string, limit: number): Promise<string[]>

  /** A page of groups, by newest activity descending; each with its `perGroup` newest activities. */
  readGroups(feed: string, page: PageQuery, perGroup: number): Promise<GroupRow[]>

  /** Unseen and unread group counts of a notification feed. */
  groupCounts(feed: string): Promise<{ unseen: number; unread: number }>

  /** Marks groups of a notification feed seen and/or read. */
  markGroups(feed: string, seen?: MarkTarget, read?: MarkTarget): Promise<void>

  /** Feeds following `feed`, newest follow first (same `created_at`: the later edge first). */
  followers(feed: string, query: FollowQuery): Promise<FollowRow[]>

  /** Feeds `feed` follows, newest follow first. */
  following(feed: string, query: FollowQuery): Promise<FollowRow[]>

  /**
   * How many feeds follow `feed` (or that `feed` follows), optionally only those whose other
   * end has one of these slugs (`slug:`...; an empty list filters nothing).
   */
  countFollows(feed: string, direction: 'followers' | 'following', slugs?: string[]): Promise<number>

  /** Gets documents (users, collection entries) by kind and ids. */
  getDocs(kind: string, ids: string[]): Promise<DocRow[]>

  /**
   * Writes a document. `insert` fails (resolves undefined) when the id exists, `update` when it
   * does not; `upsert` always writes. `created_at` is kept on update.
   */
  putDoc(
    kind: string,
    id: string,
    data: Record<string, unknown>,
    mode: 'insert' | 'update' | 'upsert',
  ): Promise<DocRow | undefined>

  /** Deletes documents; resolves with how many existed. */
  deleteDocs(kind: string, ids: string[]): Promise<number>

  /** Releases files and connections. */
  close(): Promise<void>
}
