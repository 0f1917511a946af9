/**
 * Notification feeds' marks and status as use cases of their own. V1 marks groups only as part
 * of a read (`mark_seen`/`mark_read` on `readFeed`); Feeds V3 marks them with a call of its own
 * and shows, beside the unseen and unread counts, which of the newest groups are seen and read.
 * Both take the same store call as a V1 read (group state rule G5), so the rules stay in one place.
 */
import type { EngineContext } from './context.js'
import { inputError } from './errors.js'
import type { FeedRef } from './feed-groups.js'
import { markTarget } from './read.js'

/** Most groups whose seen and read flags a status lists. */
export const MAX_STATUS_GROUPS = 100

/** A notification feed's status: unseen and unread group counts, and the seen and read ids among its newest groups. */
export interface NotificationStatus {
  unseen: number
  unread: number
  /** Ids of the seen (read) groups among the newest `limit`, newest first. */
  seen: string[]
  read: string[]
}

function requireNotification(feed: FeedRef): void {
  if (feed.group.kind !== 'notification')
    throw inputError(`feed group ${feed.slug} is not a notification feed group`, feed.slug, 'feed_group_id')
}

/** The status of notification feed `feed` over its newest `limit` groups (at most {@link MAX_STATUS_GROUPS}). */
export async function notificationStatus(
  ctx: EngineContext,
  feed: FeedRef,
  limit = MAX_STATUS_GROUPS,
): Promise<NotificationStatus> {
  requireNotification(feed)
  const size = Math.max(0, Math.min(MAX_STATUS_GROUPS, Math.floor(limit)))
  // One activity per group: only the flags are wanted.
  const narrow: FeedRef = { ...feed, group: { ...feed.group, maxActivitiesPerGroup: 1 } }
  const page = await ctx.readGroupRows(narrow, { limit: size, offset: 0 }, { counts: true })
  return {
    unseen: page.unseen ?? 0,
    unread: page.unread ?? 0,
    seen: page.groups.filter((g) => g.seen).map((g) => g.id),
    read: page.groups.filter((g) => g.read).map((g) => g.id),
  }
}

/**
 * Marks groups of notification feed `feed` seen and/or read: `true` (or any spelling V1 takes)
 * for every group, else a list of group ids (unknown ids are ignored, as on a V1 read).
 */
export async function markNotifications(
  ctx: EngineContext,
  feed: FeedRef,
  marks: { seen?: unknown; read?: unknown },
): Promise<void> {
  requireNotification(feed)
  const seen = markTarget(marks.seen, 'mark_seen')
  const read = markTarget(marks.read, 'mark_read')
  if (seen === undefined && read === undefined) return
  await ctx.readGroupRows(feed, { limit: 0, offset: 0 }, { seen, read })
}
