/**
 * Stream v1's response shapes, for the embedded client and the server alike: the engine returns
 * pages and results; these add what the wire carries on top (`next` URLs and `duration`), in the
 * key order Stream sends (the server's spliced fast path must give the same bytes).
 */
import type { Activity } from '../engine/activity.js'
import type { AggregatedGroup, FeedPage, NotificationGroup } from '../engine/read.js'
import { duration } from './duration.js'
import { type FeedLinkOptions, feedNextLink } from './links.js'

/** Stream's `{ duration }` envelope, on every response. */
export interface APIResponse {
  duration: string
}

/** A page of a flat feed (`A`: the activity type, with custom fields). */
export interface FlatFeedResponse<A extends Activity = Activity> {
  results: A[]
  next: string
  duration: string
}

/** A page of an aggregated feed. */
export interface AggregatedFeedResponse<A extends Activity = Activity> {
  results: AggregatedGroup<A>[]
  next: string
  duration: string
}

/** A page of a notification feed, with counts taken before any marking. */
export interface NotificationFeedResponse<A extends Activity = Activity> {
  results: NotificationGroup<A>[]
  next: string
  unseen: number
  unread: number
  duration: string
}

/**
 * Any feed read's response, typed as the official client types it: results of the feed's kind,
 * and `unseen`/`unread` on notification feeds. The client narrows it by feed group.
 */
export interface FeedResponse<A extends Activity = Activity> {
  results: A[] | AggregatedGroup<A>[] | NotificationGroup<A>[]
  next: string
  duration: string
  unseen?: number
  unread?: number
}

/** A feed read's response without its `duration` (for responses serialized in two parts). */
export type FeedResponseHead = Omit<FeedResponse, 'duration'>

/** The response of a feed page, up to `duration`: results, `next`, and the notification counts. */
export function feedResponseHead(
  page: FeedPage,
  feed: { slug: string; userId: string },
  options?: FeedLinkOptions,
): FeedResponseHead {
  const head: FeedResponseHead = { results: page.results, next: feedNextLink(feed, page.next, options) }
  if (page.unseen !== undefined) head.unseen = page.unseen
  if (page.unread !== undefined) head.unread = page.unread
  return head
}

/** Stream's response for a feed page, its `duration` measured from `startMs`. */
export function feedResponse(
  page: FeedPage,
  feed: { slug: string; userId: string },
  startMs: number,
  options?: FeedLinkOptions,
): FeedResponse {
  return Object.assign(feedResponseHead(page, feed, options), { duration: duration(startMs) })
}
