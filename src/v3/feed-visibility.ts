/**
 * ChangeFeedVisibility: the feed's owner (or the app) moves it to another level, and its follows
 * are made to fit the new level by v3-access.ts's rule. The new level is written first (one
 * versioned write), so no follow the new level refuses can start meanwhile; then, before the
 * answer (Stream does this in the background), pending requests of a feed leaving `followers` are
 * approved (`pending_follows_action` `auto_approve`, the default) or rejected, and accepted
 * follows the new level would refuse are removed with what they delivered (`keepsFollow`).
 * Members stay: the level decides what they may do. A feed with more than
 * {@link MAX_RECONCILED} followers cannot become `members` or `private` (400, nothing changes).
 */
import { requireId } from '../engine/documents.js'
import { inputError } from '../engine/errors.js'
import { keepsFollow, VISIBILITIES, type Visibility } from '../engine/v3-access.js'
import { conflict } from '../server/errors.js'
import {
  type FeedData,
  feedOf,
  feedRefOf,
  feedResponses,
  loadFeed,
  loadFeeds,
  requireExisting,
  requireOwner,
} from './feeds.js'
import type { ChangeFeedVisibilityRequest } from './gen/spec.js'
import { type Edge, v3route } from './http.js'
import { type Hub, v3Event } from './hub.js'
import { known } from './known.js'

/** Most followers a change to `members` or `private` checks (one page of the engine's follow list). */
export const MAX_RECONCILED = 500

/** Registers ChangeFeedVisibility. */
export function feedVisibilityRoutes(edge: Edge, hub: Hub): void {
  const { ctx } = edge
  v3route(
    edge,
    'POST',
    '/feeds/feed_groups/:feed_group_id/feeds/:feed_id/change_visibility',
    async ({ caller, params, body }) => {
      const input = body as unknown as ChangeFeedVisibilityRequest
      const level = VISIBILITIES.find((v) => v === input.visibility)
      if (!level)
        throw inputError(
          `visibility must be one of ${VISIBILITIES.join(', ')}`,
          input.visibility,
          'visibility',
        )
      const action = input.pending_follows_action ?? 'auto_approve'
      if (action !== 'auto_approve' && action !== 'reject')
        throw inputError(
          'pending_follows_action must be auto_approve or reject',
          action,
          'pending_follows_action',
        )
      const ref = feedRefOf(ctx, params.feed_group_id, requireId(params.feed_id, 'feed_id'))
      const feed = await loadFeed(ctx, ref)
      const doc = requireExisting(feed)
      requireOwner(caller, feed)
      // Only members and private feeds refuse follows other levels allow: those followers are checked.
      const tightens = level === 'members' || level === 'private'
      const stats = await ctx.engine.followStats(ref)
      if (tightens && stats.followers > MAX_RECONCILED)
        throw inputError(
          `a feed with more than ${MAX_RECONCILED} followers cannot become ${level} here (its follows could not all be checked)`,
          stats.followers,
          'visibility',
        )
      const before: Visibility = feed.data.visibility
      const data: FeedData = { ...feed.data, visibility: level }
      const written = await ctx.engine.v3.putFeed(
        ref.id,
        data as unknown as Record<string, unknown>,
        'update',
        doc.updatedAt,
      )
      if (!written) throw conflict(`feed ${ref.id} changed meanwhile; retry`)
      const changed = { ...feed, data, doc: written }

      // Requests wait only on followers feeds: leaving that level answers them.
      if (before === 'followers' && level !== 'followers') {
        const approve = action === 'auto_approve' && (level === 'public' || level === 'visible')
        for (const request of await ctx.engine.v3Follows.pending(ref.id, 1_000)) {
          const source = feedOf(ctx, request.source, 'source')
          if (approve) await ctx.engine.v3Follows.accept(source, ref)
          else await ctx.engine.v3Follows.reject(source, ref)
        }
      }
      // Accepted follows the new level would refuse go, with what they delivered.
      const members = new Set(
        ((await ctx.engine.v3Members.members([ref.id])).get(ref.id) ?? [])
          .filter((m) => m.status === 'member')
          .map((m) => m.user_id),
      )
      const rows = tightens ? await ctx.engine.follows(ref, 'followers', { limit: MAX_RECONCILED }) : []
      const sources = await loadFeeds(
        ctx,
        rows.map((r) => feedOf(ctx, r.source, 'source')),
      )
      const refused = rows.flatMap((row) => {
        const source = known(sources, row.source)
        const user = source.data.created_by
        const standing = {
          app: false,
          user,
          owner: user === data.created_by,
          follower: true,
          member: members.has(user),
        }
        return keepsFollow(level, standing) ? [] : [{ source: source.ref, target: ref, keepHistory: false }]
      })
      if (refused.length > 0) await ctx.engine.v3Follows.removeMany(refused)

      const [shown] = await feedResponses(ctx, [changed], caller)
      hub.publish(ref.id, [v3Event('feeds.feed.updated', { fid: ref.id, feed: shown })])
      return { feed: shown }
    },
    201,
  )
}
