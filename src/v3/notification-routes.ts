/** The V3 MarkActivity route: marks a notification feed's groups read and seen (notifications.ts). */
import { requireId } from '../engine/documents.js'
import { feedRefOf, loadFeed } from './feeds.js'
import type { MarkActivityRequest } from './gen/spec.js'
import { type Edge, v3route } from './http.js'
import type { Hub } from './hub.js'
import { markActivity } from './notifications.js'

/** Registers MarkActivity; its events reach the feed's watchers on every server. */
export function notificationRoutes(edge: Edge, hub: Hub): void {
  const { ctx } = edge
  v3route(
    edge,
    'POST',
    '/feeds/feed_groups/:feed_group_id/feeds/:feed_id/activities/mark/batch',
    async ({ caller, params, body }) => {
      const ref = feedRefOf(ctx, params.feed_group_id, requireId(params.feed_id, 'feed_id'))
      const feed = await loadFeed(ctx, ref)
      hub.publish(ref.id, await markActivity(ctx, caller, feed, body as MarkActivityRequest))
      return {}
    },
  )
}
