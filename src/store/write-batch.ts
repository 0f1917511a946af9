/**
 * What the engine hands a store to write: activity bodies, timeline entries, follow edges and
 * fan-out jobs, applied by `StorageAdapter.write` as one atomic unit (store.ts, rules 1–7).
 */
import type { AuditEntry } from './audit-store.js'

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

/** A follow edge: `source` (the follower) receives what is added to `target`. */
export interface FollowEdge {
  source: string
  target: string
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
  /** Audit-log entries committed with the write (see `reaction-store.ts`, R5). */
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
