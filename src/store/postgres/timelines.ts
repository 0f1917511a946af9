/**
 * Where a PostgreSQL store keeps timeline entries. By default its own tables
 * ({@link TimelineWriter}); `eddy/redis` passes a backend that keeps them in Redis instead. A
 * backend runs inside the store's transactions, before COMMIT, so what it writes is covered by
 * the locks the transaction holds (job rows, follow edges, expected bodies) and a failure rolls
 * the whole write back.
 */
import type { EntryRemove, EntryShape, EntryWrite } from '../store.js'
import type { Runner, Sql } from './session.js'

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

/** Timeline writes of a PostgreSQL store, applied inside its transaction `db`. */
export interface TimelineBackend {
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
  /** The order chunks walk followers in (default: by follower name, the cursor being the name). */
  readonly followers?: FollowerWalk
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
