/**
 * The memory store's data, as plain maps, arrays and records: everything the store keeps is
 * reachable from one {@link MemoryState}, so a test can snapshot it and compare it whole (a
 * failed write must leave it exactly as it was). Only the store's own modules change it, and
 * every change goes through the undo log.
 */
import type { DocRow, FanoutJob, StoredAuditEntry, StoredReaction } from '../store.js'

/** An activity body and its foreign_id. */
export interface ActivityRecord {
  body: string
  /** Missing when the activity has none (or ''). */
  foreignId?: string
}

/** One entry of a timeline; `group` and `actor` are set in aggregated and notification feeds. */
export interface EntryRecord {
  origin: string | null
  group?: string
  actor?: string
}

/** A group of an aggregated or notification feed. */
export interface GroupRecord {
  /** The `groupId` of the entry that created the group. */
  id: string
  /** The group key. */
  key: string
  /** Sort keys of its entries, ascending: the first is `firstSk`, the last `lastSk`. */
  sks: string[]
  /** Entries per actor, for an exact `actor_count` under removals. */
  actors: Map<string, number>
}

/** A feed's entries and, for grouped feeds, its groups. */
export interface Timeline {
  entries: Map<string, EntryRecord>
  /** Every sort key of `entries`, ascending. */
  order: string[]
  /** Groups by key. */
  groups: Map<string, GroupRecord>
  /** The groups ascending by newest sort key (unique per feed: an entry is in one group). */
  groupOrder: GroupRecord[]
  /** Group keys by group id (an id repeats only when an activity left a group and started another). */
  byId: Map<string, Set<string>>
  /** Keys of the groups not seen and not read: their sizes are the O(1) unseen/unread counts. */
  unseen: Set<string>
  unread: Set<string>
}

/** A follow edge with its times and creation sequence (the tie-break between equal times). */
export interface FollowRecord {
  source: string
  target: string
  created_at: string
  updated_at: string
  seq: number
}

/** One feed's edges in one direction (its followers, or the feeds it follows). */
export interface FollowSide {
  /** Edges by the feed at the other end. */
  edges: Map<string, FollowRecord>
  /** The other ends, ascending: fan-out reads followers in name order after a cursor. */
  names: string[]
  /** The edges ascending by (created_at, seq): listings read them newest first. */
  byTime: FollowRecord[]
  /** Edges per slug of the other end, for O(1) counts by slug. */
  slugs: Map<string, number>
}

/** An accepted fan-out job and its lease. */
export interface JobRecord {
  job: FanoutJob
  /** When the current lease ends (clock milliseconds); the job is free from then on. */
  leaseUntil: number
  /** How long the job was last leased for: what each chunk renews it by. */
  leaseMs: number
  /** Runs that failed, the last one's reason and time (clock ms), and whether it is set aside. */
  failures?: number
  reason?: string
  failedAt?: number
  dead?: boolean
}

/** Everything a memory store keeps. */
export interface MemoryState {
  activities: Map<string, ActivityRecord>
  /** Sort keys by foreign_id. */
  foreignIds: Map<string, Set<string>>
  timelines: Map<string, Timeline>
  /** Follow edges by target (the target's followers) and by source (what the source follows). */
  followers: Map<string, FollowSide>
  following: Map<string, FollowSide>
  /** Jobs by `feed\u0000sk`, in the order first accepted. */
  jobs: Map<string, JobRecord>
  /** Documents by `kind\u0000id`. */
  docs: Map<string, DocRow>
  /** The last follow sequence number given out. */
  counters: { followSeq: number }
  /** Reactions, their list indexes and counts (see `memory-reactions.ts`). */
  reactions: ReactionState
  /** The audit log, oldest first. */
  audit: StoredAuditEntry[]
}

/** The memory store's reactions: rows, list indexes of live rows, subtrees and counts. */
export interface ReactionState {
  /** Every reaction by id, soft-deleted ones included. */
  rows: Map<string, StoredReaction>
  /** Ascending order keys of live reactions, by list (node, user, kind combinations). */
  lists: Map<string, string[]>
  /** The reaction id of each live order key. */
  byRk: Map<string, string>
  /** Children by parent id, soft-deleted ones included (for subtree removal). */
  children: Map<string, Set<string>>
  /** Live counts by node key, then kind (a kind stays at 0 once counted). */
  counts: Map<string, Map<string, number>>
}

/** An empty state. */
export function createMemoryState(): MemoryState {
  return {
    activities: new Map(),
    foreignIds: new Map(),
    timelines: new Map(),
    followers: new Map(),
    following: new Map(),
    jobs: new Map(),
    docs: new Map(),
    counters: { followSeq: 0 },
    reactions: { rows: new Map(), lists: new Map(), byRk: new Map(), children: new Map(), counts: new Map() },
    audit: [],
  }
}

/** The slug of a feed name (`slug:userId`), or undefined when the name has no colon. */
export function slugOf(feed: string): string | undefined {
  const colon = feed.indexOf(':')
  return colon < 0 ? undefined : feed.slice(0, colon)
}
