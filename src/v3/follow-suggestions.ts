/**
 * GetFollowSuggestions: feeds of a group to follow, from the engine's follow graph (friends of
 * friends, engine/follow-suggestions.ts), shown only where v3-access.ts's rule lets the caller
 * see them. A user token asks for itself; the app names the user in `user_id`.
 */

import { inputError } from '../engine/errors.js'
import { feedRefOf, feedResponses, loadFeeds, mayRead } from './feeds.js'
import type { FeedSuggestionResponse } from './gen/spec.js'
import { actingUser, type Edge, requireSelf, v3route } from './http.js'

/** Most suggestions one call returns. */
const MAX_LIMIT = 100
const DEFAULT_LIMIT = 10
/** Most ranked candidates whose feed data is read (the best ones; the rest are left). */
const MAX_CANDIDATES = 200

/** Registers GetFollowSuggestions. */
export function followSuggestionRoutes(edge: Edge): void {
  const { ctx } = edge
  v3route(
    edge,
    'GET',
    '/feeds/feed_groups/:feed_group_id/follow_suggestions',
    async ({ caller, params, query }) => {
      const acting = actingUser(caller)
      const asked = query.user_id
      if (asked !== undefined && typeof asked !== 'string')
        throw inputError('user_id must be a string', asked, 'user_id')
      // A user token naming another user is refused, not quietly answered for itself.
      const userId = asked ?? acting
      if (userId === undefined) throw inputError('user_id is required with a server token', asked, 'user_id')
      requireSelf(caller, userId)
      const limit = query.limit === undefined ? DEFAULT_LIMIT : Number(query.limit)
      if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT)
        throw inputError(`limit must be an integer from 1 to ${MAX_LIMIT}`, query.limit, 'limit')
      // Validates the group and the user id as a feed id.
      feedRefOf(ctx, params.feed_group_id, userId, 'feed_group_id')
      const ranked = (await ctx.engine.followSuggestions(userId, params.feed_group_id)).slice(
        0,
        MAX_CANDIDATES,
      )
      const feeds = await loadFeeds(
        ctx,
        ranked.map((s) => ctx.engine.feed(params.feed_group_id, s.fid.slice(s.fid.indexOf(':') + 1))),
      )
      const shown = ranked
        .map((s) => ({ ...s, feed: feeds.get(s.fid) }))
        .filter(
          (s) =>
            s.feed !== undefined &&
            !s.feed.data.deleted_at &&
            s.feed.data.created_by !== userId &&
            // Not a follower: a feed the user follows is never a candidate.
            mayRead({ kind: 'user', userId }, s.feed, false),
        )
        .slice(0, limit)
      const responses = await feedResponses(
        ctx,
        shown.flatMap((s) => (s.feed ? [s.feed] : [])),
        caller,
      )
      const suggestions: FeedSuggestionResponse[] = responses.map((r, i) => ({
        ...r,
        reason: `followed by ${shown[i].mutual} of the feeds you follow`,
        recommendation_score: shown[i].mutual,
        algorithm_scores: { friends_of_friends: shown[i].mutual },
      }))
      return { suggestions, algorithm_used: 'friends_of_friends' }
    },
  )
}
