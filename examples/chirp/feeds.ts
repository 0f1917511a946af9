/**
 * Feed groups and feed reads. Every page reads one Eddy feed, enriches the page in one query per
 * model (`Enrich`), and renders each activity with `render_activity`.
 */
import { In } from 'typeorm'
import { type EnrichedActivity, feedManager } from '../../src/django/index.js'
import type { FeedGroupOptions } from '../../src/index.js'
import type { ChirpContext } from './context.js'
import { Chirp } from './entities.js'
import { type DescribedGroup, describe } from './groups.js'

/**
 * `user` and `timeline` are flat (the defaults). The grouped home timeline has one card per chirp,
 * whatever happened to it ("Ada liked, Ben rechirped"; a new like brings the card back to the
 * top), and one per follower and day ("Ada followed Leo, Mara and 2 others"): activities carry
 * that key as `card` (entities.ts). Notifications group by verb, `group_by` and day: "Ada and 3
 * others liked your chirp".
 */
export const TIMELINE_FORMAT = '{{ card }}'
export const NOTIFICATION_FORMAT = '{{ verb }}_{{ group_by }}_{{ time.strftime("%Y-%m-%d") }}'
export const FEED_GROUPS = {
  timeline_aggregated: { type: 'aggregated', aggregationFormat: TIMELINE_FORMAT },
  notification: { type: 'notification', aggregationFormat: NOTIFICATION_FORMAT },
} satisfies Record<string, FeedGroupOptions>

/** Activities (or groups) per page. */
export const PAGE_SIZE = 15
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

export type FeedKind = 'timeline' | 'timeline_aggregated' | 'user' | 'notification'

export interface FeedPage {
  /** Enriched activities (flat feeds) or groups with enriched `activities`. */
  activities: Record<string, unknown>[]
  /** Cursor for the next (older) page, when there is one. */
  older?: string
  unseen?: number
  /** Ids of the chirps on this page the viewer likes. */
  liked: number[]
}

/** True when `value` can be a page cursor (an activity or group id). */
export function isCursor(value: unknown): value is string {
  return typeof value === 'string' && UUID.test(value)
}

/** Reads one page of a feed and enriches it. `before` is the `id_lt` cursor. */
export async function readFeed(
  ctx: ChirpContext,
  kind: FeedKind,
  userId: number,
  viewerId: number,
  options: { before?: string; markSeen?: boolean } = {},
): Promise<FeedPage> {
  const feed =
    kind === 'notification' ? feedManager.getNotificationFeed(userId) : feedManager.getFeed(kind, userId)
  const response = await feed.get({
    limit: PAGE_SIZE,
    ...(options.before ? { id_lt: options.before } : {}),
    ...(options.markSeen ? { mark_seen: true } : {}),
  })
  const results = response.results as Record<string, unknown>[]
  const grouped = kind === 'timeline_aggregated' || kind === 'notification'
  const activities = grouped
    ? await ctx.enrich.enrichAggregatedActivities(results.map((group) => asGroup(group, kind)))
    : await ctx.enrich.enrichActivities(results)
  if (grouped) describe(activities as DescribedGroup[], viewerId, kind === 'timeline_aggregated')
  const inner = grouped
    ? activities.flatMap((g) => (g as { activities: EnrichedActivity[] }).activities)
    : activities
  return {
    activities,
    older: response.next ? (results.at(-1)?.id as string) : undefined,
    unseen: response.unseen,
    liked: await likedChirps(ctx, viewerId, inner as EnrichedActivity[]),
  }
}

/** A group as the feed returns it, before Chirp describes it (its other fields ride along). */
interface FeedGroup {
  activities: object[]
  actor_count: number
  activity_count: number
}

/** A group of an aggregated or notification feed's results, checked to hold what a group holds. */
function asGroup(result: Record<string, unknown>, kind: FeedKind): FeedGroup {
  const { activities, actor_count, activity_count } = result
  if (!Array.isArray(activities) || typeof actor_count !== 'number' || typeof activity_count !== 'number')
    throw new Error(`the ${kind} feed returned a group without activities, actor_count or activity_count`)
  return { ...result, activities, actor_count, activity_count }
}

/** The chirps among these activities' fields that `viewerId` likes (one query). */
export async function likedChirps(
  ctx: ChirpContext,
  viewerId: number,
  activities: Record<string, unknown>[],
): Promise<number[]> {
  const ids = new Set<number>()
  const add = (value: unknown) => {
    if (!(value instanceof Chirp)) return
    ids.add(value.id)
    if (value.rechirpOf) ids.add(value.rechirpOf.id)
  }
  for (const a of activities) for (const field of ['object', 'target']) add(a[field])
  if (ids.size === 0) return []
  const rows = await ctx.likes.find({
    select: { chirpId: true },
    where: { userId: viewerId, chirpId: In([...ids]) },
  })
  return rows.map((r) => r.chirpId)
}

/** Unseen notification groups, for the header badge. */
export async function unseenCount(userId: number): Promise<number> {
  const response = await feedManager.getNotificationFeed(userId).get({ limit: 0 })
  return (response as { unseen?: number }).unseen ?? 0
}

/** Marks one notification group read. */
export async function markRead(userId: number, groupId: string): Promise<void> {
  await feedManager.getNotificationFeed(userId).get({ limit: 0, mark_read: [groupId] })
}

/**
 * Follower and following counts from Eddy's `followStats`. Every user's timelines follow their
 * own user feed (so their chirps show at home); that self-follow is not counted.
 */
export async function followCounts(ctx: ChirpContext, userId: number) {
  const [followers, following] = await Promise.all([
    ctx.client.feed('user', String(userId)).followStats({ followerSlugs: ['timeline'] }),
    ctx.client.feed('timeline', String(userId)).followStats({ followingSlugs: ['user'] }),
  ])
  return {
    followers: Math.max(0, followers.results.followers.count - 1),
    following: Math.max(0, following.results.following.count - 1),
  }
}
