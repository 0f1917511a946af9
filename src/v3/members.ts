/**
 * V3 feed members: UpdateFeedMembers (the feed owner adds, invites, updates and removes
 * members), QueryFeedMembers, and the invited user's AcceptFeedMemberInvite /
 * RejectFeedMemberInvite (`engine.v3Members`). Members are what the `members` visibility level
 * and member capabilities read (v3-access.ts). The feed's watchers hear `feeds.feed_member.*`.
 */
import { requireId } from '../engine/documents.js'
import { inputError } from '../engine/errors.js'
import { memberInputs } from '../engine/v3-member-model.js'
import { notAllowed } from '../server/errors.js'
import { writer } from './activities.js'
import { memberResponses } from './feed-extras.js'
import { capabilities, feedRefOf, loadFeed, standing } from './feeds.js'
import { type Edge, v3route } from './http.js'
import { type Hub, v3Event } from './hub.js'

/** Most members one query returns. */
const MAX_QUERY = 100

/** Registers the V3 member routes. */
export function memberRoutes(edge: Edge, hub: Hub): void {
  const { ctx } = edge
  const path = '/feeds/feed_groups/:feed_group_id/feeds/:feed_id/members'
  const feedOfCall = async (params: Record<string, string>) =>
    loadFeed(ctx, feedRefOf(ctx, params.feed_group_id, requireId(params.feed_id, 'feed_id')))
  /** Throws 403 unless the caller has `capability` on the feed. */
  const require = async (
    caller: Parameters<typeof capabilities>[0],
    params: Record<string, string>,
    capability: string,
  ) => {
    const feed = await feedOfCall(params)
    const s = await standing(ctx, caller, feed)
    if (!capabilities(caller, feed, s.follower, s.member).includes(capability as never)) throw notAllowed()
    return feed
  }

  v3route(edge, 'PATCH', path, async ({ caller, params, body }) => {
    const feed = await require(caller, params, 'update-feed-members')
    const changes = await ctx.engine.v3Members.update(feed.fid, body.operation, memberInputs(body.members))
    const [added, updated] = await Promise.all([
      memberResponses(ctx, changes.added),
      memberResponses(ctx, changes.updated),
    ])
    const fid = feed.fid
    hub.publish(fid, [
      ...added.map((member) => v3Event('feeds.feed_member.added', { fid, member })),
      ...updated.map((member) => v3Event('feeds.feed_member.updated', { fid, member })),
      ...changes.removed_ids.map((id) => v3Event('feeds.feed_member.removed', { fid, member_id: id })),
    ])
    return { added, updated, removed_ids: changes.removed_ids }
  })

  v3route(
    edge,
    'POST',
    `${path}/query`,
    async ({ caller, params, body }) => {
      const feed = await require(caller, params, 'query-feed-members')
      const limit = body.limit ?? 25
      if (!Number.isInteger(limit) || (limit as number) < 0 || (limit as number) > MAX_QUERY)
        throw inputError(`limit must be an integer from 0 to ${MAX_QUERY}`, limit, 'limit')
      const filter = (body.filter ?? {}) as Record<string, unknown>
      if (typeof filter !== 'object' || Array.isArray(filter))
        throw inputError('filter must be an object', filter, 'filter')
      const matches = (value: string, condition: unknown) => {
        if (condition === undefined) return true
        if (typeof condition === 'string') return value === condition
        const op = condition as { $eq?: unknown; $in?: unknown }
        if (op && typeof op.$eq === 'string') return value === op.$eq
        if (op && Array.isArray(op.$in)) return op.$in.includes(value)
        throw inputError('a member filter is a value, $eq or $in', condition, 'filter')
      }
      const members = ((await ctx.engine.v3Members.members([feed.fid])).get(feed.fid) ?? []).filter(
        (m) =>
          matches(m.user_id, filter.user_id) &&
          matches(m.role, filter.role) &&
          matches(m.status, filter.status),
      )
      return { members: await memberResponses(ctx, members.slice(0, limit as number)) }
    },
    201,
  )

  const answer = async (
    caller: Parameters<typeof writer>[0],
    params: Record<string, string>,
    body: Record<string, unknown>,
    accept: boolean,
  ) => {
    const feed = await feedOfCall(params)
    // The invited user answers for itself (the app names it with user_id).
    const user = writer(caller, body)
    const member = await ctx.engine.v3Members.answer(feed.fid, user, accept)
    const [shown] = await memberResponses(ctx, [member])
    hub.publish(feed.fid, [v3Event('feeds.feed_member.updated', { fid: feed.fid, member: shown })])
    return { member: shown }
  }
  v3route(
    edge,
    'POST',
    `${path}/accept`,
    async ({ caller, params, body }) => answer(caller, params, body, true),
    201,
  )
  v3route(
    edge,
    'POST',
    `${path}/reject`,
    async ({ caller, params, body }) => answer(caller, params, body, false),
    201,
  )
}
