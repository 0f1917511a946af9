/**
 * The timelines part: flat feeds as lists of entries, aggregated and notification feeds as
 * groups with their counters and flags, read in pages (store.ts rules 2–3).
 */
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
   * engine then groups the entries {@link TimelineStore.readPastCap} returns (see engine/past-cap-groups.ts).
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

/** The timelines part: entries and groups of each feed, read in pages. */
export interface TimelineStore {
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
}
