/**
 * Follows: edges, copies of the followed feed's history, unfollows, listings and counts.
 *
 * A follow commits its edges first and only then reads the followed feeds for the copies, so an
 * add committed at the same moment reaches the new follower through its fan-out or through the
 * copy, never neither (store.ts rule 4). The copies are written only while their edge still
 * exists, so a follow racing an unfollow leaves nothing behind.
 */
import type { EntryWrite, FollowEdge, FollowQuery, FollowRow, Store } from '../store/store.js'
import { readActivity } from './activity.js'
import { inputError } from './errors.js'
import { entryFor, flatEntryWrite, inSlices, nextTurn } from './fanout.js'
import { type FeedGroup, type FeedRef, parseFeedId } from './feed-groups.js'
import { intOption } from './options.js'

const SLUG = /^[\w-]{1,255}$/

/** Follow copy limit: default and maximum. */
export const DEFAULT_COPY_LIMIT = 100
export const MAX_COPY_LIMIT = 1_000
/** Default and maximum page size of follow listings. */
export const DEFAULT_FOLLOW_LIMIT = 25
export const MAX_FOLLOW_LIMIT = 500
/** Deepest offset of follow listings. */
export const MAX_FOLLOW_OFFSET = 400

/** A follow to make: `limit` overrides the call's copy limit for this pair. */
export interface FollowPair {
  source: FeedRef
  target: FeedRef
  limit?: unknown
}

/** The `activity_copy_limit` option: 0 to {@link MAX_COPY_LIMIT}, default `fallback`. */
export function copyLimitOption(value: unknown, fallback = DEFAULT_COPY_LIMIT): number {
  return intOption(value, 'activity_copy_limit', 0, MAX_COPY_LIMIT, fallback)
}

/** Follow listing options as the official client sends them. */
export interface FollowListOptions {
  limit?: unknown
  offset?: unknown
  /** Only these feeds (ids like `user:42`), as a list or a comma-separated string. */
  filter?: unknown
}

/** Parses follow listing options into a store query. */
export function followQuery(
  groups: ReadonlyMap<string, FeedGroup>,
  options: FollowListOptions = {},
): FollowQuery {
  if (options === null || typeof options !== 'object')
    throw inputError('options must be an object', options, 'options')
  const raw = options.filter
  const filter = raw === undefined || raw === '' ? [] : typeof raw === 'string' ? raw.split(',') : raw
  if (!Array.isArray(filter))
    throw inputError('filter must be a list of feed ids like ["user:42"]', raw, 'filter')
  return {
    limit: intOption(options.limit, 'limit', 0, MAX_FOLLOW_LIMIT, DEFAULT_FOLLOW_LIMIT),
    offset: intOption(options.offset, 'offset', 0, MAX_FOLLOW_OFFSET, 0),
    filter: filter.map((f) => parseFeedId(groups, typeof f === 'string' ? f.trim() : f, 'filter').id),
  }
}

/**
 * A list of feed group names (a list, or a comma-separated string). A well-formed name that no
 * group uses simply counts 0, as on Stream, whose own client tests filter by such slugs.
 */
export function slugsOption(value: unknown, field: string): string[] {
  if (value === undefined || value === null || value === '') return []
  const list = typeof value === 'string' ? value.split(',').map((s) => s.trim()) : value
  if (!Array.isArray(list) || list.length > 50 || list.some((s) => typeof s !== 'string' || !SLUG.test(s))) {
    throw inputError(
      `${field} must be a list of at most 50 feed group names (letters, numbers, _)`,
      value,
      field,
    )
  }
  return list as string[]
}

/** Checks that `source` may follow `target`: only flat feeds are followed, and not by themselves. */
export function checkFollow(source: FeedRef, target: FeedRef): void {
  if (target.group.kind !== 'flat') {
    throw inputError(
      `only flat feeds can be followed; ${target.slug} is ${target.group.kind}`,
      target.id,
      'target',
    )
  }
  if (source.id === target.id) throw inputError('a feed cannot follow itself', target.id, 'target')
}

/**
 * Makes each `source` follow its `target` and copies the target's newest `copyLimit` activities
 * into it. Edges are written in slices of `perWrite`, and copies in writes of about `perWrite`
 * entries, with a turn of the event loop between writes, so a long `followMany` does not hold a
 * synchronous store. The list as a whole is not atomic; following again is idempotent.
 */
export async function follow(
  store: Store,
  pairs: FollowPair[],
  copyLimit: unknown,
  perWrite: number,
): Promise<void> {
  const fallback = copyLimitOption(copyLimit)
  const limits = pairs.map((p) => copyLimitOption(p.limit, fallback))
  for (const { source, target } of pairs) checkFollow(source, target)
  const edges: FollowEdge[] = pairs.map((p) => ({ source: p.source.id, target: p.target.id }))
  await inSlices(edges.length, perWrite, (from, to) => store.write({ follow: edges.slice(from, to) }))
  let batch: { edge: FollowEdge; entries: EntryWrite[] }[] = []
  let size = 0
  for (const [i, { source, target }] of pairs.entries()) {
    if (limits[i] === 0) continue
    const entries = await copyEntries(store, source, target, limits[i])
    if (entries.length === 0) continue
    batch.push({ edge: edges[i], entries })
    size += entries.length
    if (size >= perWrite) {
      await store.write({ copies: batch })
      await nextTurn()
      batch = []
      size = 0
    }
  }
  if (batch.length > 0) await store.write({ copies: batch })
}

/** The entries `source` gets from `target`'s newest `limit` activities (bodies only for grouped feeds). */
async function copyEntries(
  store: Store,
  source: FeedRef,
  target: FeedRef,
  limit: number,
): Promise<EntryWrite[]> {
  const sks = await store.timelines.newestEntries(target.id, limit)
  if (sks.length === 0) return []
  if (source.group.kind === 'flat')
    return sks.map((sk) => flatEntryWrite(source.group, source.id, sk, target.id))
  // Grouped feeds need each activity's group key and actor.
  const bodies = await store.activities.getActivities(sks)
  return sks.flatMap((sk) => {
    const row = bodies.get(sk)
    return row ? [entryFor(source.group, source.id, sk, readActivity(row.body, null), target.id)] : []
  })
}

/** Removes follows in slices; unless `keepHistory`, also the activities that came through them. */
export async function unfollow(
  store: Store,
  pairs: { source: FeedRef; target: FeedRef; keepHistory: boolean }[],
  perWrite: number,
): Promise<void> {
  // Each pair's edge and its history removal stay in one write.
  await inSlices(pairs.length, perWrite, (from, to) => {
    const slice = pairs.slice(from, to)
    return store.write({
      unfollow: slice.map((p) => ({ source: p.source.id, target: p.target.id })),
      removeByOrigin: slice
        .filter((p) => !p.keepHistory)
        .map((p) => ({ feed: p.source.id, origin: p.target.id })),
    })
  })
}

/** Follower or following rows of `feed`, as the store lists them. */
export function listFollows(
  store: Store,
  feed: FeedRef,
  direction: 'followers' | 'following',
  query: FollowQuery,
): Promise<FollowRow[]> {
  return direction === 'followers'
    ? store.follows.followers(feed.id, query)
    : store.follows.following(feed.id, query)
}

/** Follower and following counts of `feed`, optionally only of some slugs (client and server alike). */
export async function followStats(
  store: Store,
  feed: FeedRef,
  options: { followerSlugs?: unknown; followingSlugs?: unknown } = {},
): Promise<{ followers: number; following: number }> {
  const followers = slugsOption(options.followerSlugs, 'followerSlugs')
  const following = slugsOption(options.followingSlugs, 'followingSlugs')
  const counts = await store.follows.countFollows(feed.id, { followers, following })
  return { followers: counts.followers ?? 0, following: counts.following ?? 0 }
}
