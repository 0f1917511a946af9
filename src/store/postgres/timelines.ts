/**
 * The timelines part a PostgreSQL store is composed with: by default its own tables
 * (postgres-timelines.ts); `eddy/redis` plugs in one that keeps them in Redis instead
 * (redis/redis-timelines.ts). Its writes run inside the store's transactions, before COMMIT, so
 * what it writes is covered by the locks the transaction holds (job rows, follow edges, expected
 * bodies) and a failure rolls the whole write back.
 */
import type {
  ActivityStore,
  Capabilities,
  EntryRemove,
  EntryShape,
  EntryWrite,
  TimelineStore,
  WriteBatch,
} from '../store.js'
import type { FeedReads } from './feed-reads.js'
import type { Runner, Session, Sql, Step } from './session.js'

/** A removal of every entry of `feed` that came through `origin`. */
export interface OriginRemove {
  feed: string
  origin: string
}

/**
 * How a fan-out chunk walks a followed feed's followers: `statement` with `values(...)` returns
 * up to `limit` rows `{ source }` after `cursor` (null before the first chunk), in the order the
 * backend wants; the job stores `cursorOf(last source)`.
 */
export interface FollowerWalk {
  statement: Sql
  values(feed: string, cursor: string | null, limit: number): unknown[]
  cursorOf(source: string): string
}

/** What a timelines part gets from the PostgreSQL store it is plugged into. */
export interface PostgresTimelinesContext {
  /** The store's connections and transactions. */
  session: Session
  /** Where page reads are noted, for fan-out priority (`note(feed)` for each page read). */
  feedReads: FeedReads
  /** The store's activity bodies (a part keeping entries elsewhere joins them from here). */
  activities: ActivityStore
}

/**
 * The timelines part of a PostgreSQL store: the seam's reads, plus the writes the store runs
 * inside its transaction `db` (a write's entries, a fan-out chunk's).
 */
export interface PostgresTimelines extends TimelineStore {
  /** Where this part keeps timelines, when elsewhere: shown after the store's name (`+redis://host`). */
  readonly location?: string
  /** What this part changes in the store's capabilities (Redis: smaller fan-out chunks). */
  readonly capabilities?: Partial<Capabilities>
  /** Adds (then copies), removes, removes by origin, then trims feeds given a `maxLength`. */
  apply(db: Runner, add?: EntryWrite[], remove?: EntryRemove[], byOrigin?: OriginRemove[]): Promise<void>
  /**
   * A fan-out chunk's adds: entry `sk` through `origin` into each of `feeds` that has a shape for
   * its slug, as `apply` would with one EntryWrite per feed, without building them (a backend
   * for which a chunk is worth a fast path; optional). With `report`, resolves with the feeds
   * that did not hold the entry yet.
   */
  fanout?(
    db: Runner,
    sk: string,
    origin: string,
    feeds: string[],
    shapes: Record<string, EntryShape>,
    report: boolean,
  ): Promise<string[] | undefined>
  /**
   * Optional: `apply(db, add)` as one statement to send with others (one round trip), when the
   * part can write these entries that way (PostgreSQL's tables: flat entries, no `maxLength`);
   * else undefined, and the store calls `apply`.
   */
  addStep?(add: EntryWrite[]): Step | undefined
  /**
   * Optional: `fanout` as one statement whose rows are `{ feed }` for each feed that gained the
   * entry (none unless `report`), when the part can write this chunk that way; else undefined.
   */
  fanoutStep?(
    sk: string,
    origin: string,
    feeds: string[],
    shapes: Record<string, EntryShape>,
    report: boolean,
  ): Step | undefined
  /** The order chunks walk followers in (default: by follower name, the cursor being the name). */
  readonly followers?: FollowerWalk
  /** Sort keys of the entries of `feed` whose activity has foreign_id `foreignId`, newest first. */
  findByForeignId(feed: string, foreignId: string): Promise<string[]>
  /**
   * Optional: the data version of the timelines (`StorageAdapter.dataVersion`), when the part
   * keeps one that every write moves; the store then offers it.
   */
  dataVersion?(): Promise<string>
  /**
   * Optional: the version of each of `feeds` (`StorageAdapter.feedVersions`), when the part keeps
   * one per feed that every change to the feed moves; the store then offers it.
   */
  feedVersions?(feeds: string[]): Promise<string[]>
  /**
   * Optional: called after each write (with its batch) and fan-out chunk (without) of the store
   * commits (also after one that failed, which may have committed), before it resolves: a part
   * keeping data versions moves them here.
   */
  committed?(batch?: WriteBatch): Promise<void>
  /** Releases what the part holds of its own (the store closes its session itself). */
  close?(): Promise<void>
}

/** The entries a fan-out of `sk` through `origin` writes into `feeds`, each shaped by its slug (none without a shape). */
export function fanoutEntries(
  sk: string,
  origin: string,
  feeds: string[],
  shapes: Record<string, EntryShape>,
): EntryWrite[] {
  const out: EntryWrite[] = []
  for (const feed of feeds) {
    const slug = feed.slice(0, feed.indexOf(':'))
    // Own keys only: a slug such as `constructor` must not find Object's.
    const shape = Object.hasOwn(shapes, slug) ? shapes[slug] : undefined
    if (shape) out.push({ ...shape, feed, sk, origin })
  }
  return out
}

/** The writes of a timelines part that a fan-out chunk needs. */
export type PostgresTimelineWrites = Pick<PostgresTimelines, 'apply' | 'fanout' | 'fanoutStep' | 'followers'>

/**
 * Runs `work` (which commits), then `committed` (a part's data version moving) before resolving
 * with its result; when `work` fails, `committed` still runs (a connection lost at COMMIT may have
 * committed), without the caller waiting for it.
 */
export async function afterCommit<T>(
  work: Promise<T>,
  committed: (() => Promise<void>) | undefined,
): Promise<T> {
  if (!committed) return work
  let result: T
  try {
    result = await work
  } catch (error) {
    committed().catch(() => {})
    throw error
  }
  await committed()
  return result
}
