/**
 * V3 feed group routes, the app's token only (the spec serves them server-side): list, create,
 * get-or-create, get, update, soft delete and restore, on the engine's feed groups (configured
 * ones and those defined at run time, the same groups V1 sees). Deleting is Stream's default soft
 * delete (engine/feed-group-defs.ts): the group's feeds are refused until it is restored, and keep
 * everything they held. Hard deletion is not served: it would leave the feeds' timelines behind a
 * name that could be defined again with another kind.
 */
import { requireId } from '../engine/documents.js'
import { inputError } from '../engine/errors.js'
import { notSupported } from './errors.js'
import {
  engineOptions,
  feedGroupResponse,
  groupNotFound,
  knownGroup,
  reloadGroups,
  requireSameEngineOptions,
  settingsOf,
} from './feed-groups.js'
import type { FeedGroupResponse, GetOrCreateFeedGroupRequest } from './gen/spec.js'
import { type Edge, requireApp, v3route } from './http.js'

/** A query flag as the SDKs send it (`true`/`false`). */
const flag = (value: unknown) => value === 'true' || value === true

/** Registers the V3 feed group routes (the app's token only). */
export function feedGroupRoutes(edge: Edge): void {
  const { ctx } = edge
  // Feed routes name their group in the path: one defined on another server is learnt first.
  edge.app.addHook('preHandler', async (request) => {
    const group = (request.params as { feed_group_id?: unknown } | undefined)?.feed_group_id
    if (typeof group === 'string' && group.length <= 255) await knownGroup(ctx, group)
  })

  /** Defines a group from a V3 request; `exclusive` refuses an existing one (CreateFeedGroup). */
  const define = async (id: unknown, input: GetOrCreateFeedGroupRequest, exclusive: boolean) => {
    const slug = requireId(id, 'id')
    const options = engineOptions(input)
    const settings = settingsOf(input)
    await knownGroup(ctx, slug)
    if (ctx.engine.deletedFeedGroup(slug))
      throw inputError(
        `feed group ${slug} was deleted; restore it (RestoreFeedGroup) instead of creating it again`,
        slug,
        'id',
      )
    const { group, created } = exclusive
      ? { group: await ctx.engine.createFeedGroup(slug, options), created: true }
      : await ctx.engine.defineFeedGroup(slug, options)
    // The settings of the first definition stay (insert only); UpdateFeedGroup changes them.
    if (created) await ctx.engine.v3.putFeedGroup(group.slug, settings)
    return { feed_group: await feedGroupResponse(ctx, group), was_created: created }
  }

  v3route(edge, 'GET', '/feeds/feed_groups', async ({ caller, query }) => {
    requireApp(caller)
    await reloadGroups(ctx)
    const groups: Record<string, FeedGroupResponse> = {}
    for (const group of ctx.engine.groups.values()) groups[group.slug] = await feedGroupResponse(ctx, group)
    if (flag(query.include_soft_deleted))
      for (const { group, deletedAt } of ctx.engine.deletedFeedGroups())
        groups[group.slug] = await feedGroupResponse(ctx, group, deletedAt)
    return { groups }
  })

  v3route(
    edge,
    'POST',
    '/feeds/feed_groups',
    async ({ caller, body }) => {
      requireApp(caller)
      const { feed_group } = await define(body.id, body as unknown as GetOrCreateFeedGroupRequest, true)
      return { feed_group }
    },
    201,
  )

  v3route(edge, 'POST', '/feeds/feed_groups/:id', async ({ caller, params, body }) => {
    requireApp(caller)
    return define(params.id, body as GetOrCreateFeedGroupRequest, false)
  })

  v3route(edge, 'GET', '/feeds/feed_groups/:id', async ({ caller, params, query }) => {
    requireApp(caller)
    const group = await knownGroup(ctx, params.id)
    if (group) return { feed_group: await feedGroupResponse(ctx, group) }
    const deleted = ctx.engine.deletedFeedGroup(params.id)
    if (deleted && flag(query.include_soft_deleted))
      return { feed_group: await feedGroupResponse(ctx, deleted.group, deleted.deletedAt) }
    throw groupNotFound(ctx, params.id)
  })

  v3route(
    edge,
    'PUT',
    '/feeds/feed_groups/:id',
    async ({ caller, params, body }) => {
      requireApp(caller)
      const group = await knownGroup(ctx, params.id)
      if (!group) throw groupNotFound(ctx, params.id)
      const input = body as GetOrCreateFeedGroupRequest
      engineOptions(input) // refuses what the engine does not keep (ranking, stories...)
      requireSameEngineOptions(group, input)
      const change = settingsOf(input)
      if (Object.keys(change).length > 0) await ctx.engine.v3.updateFeedGroup(group.slug, change)
      return { feed_group: await feedGroupResponse(ctx, group) }
    },
    201,
  )

  v3route(edge, 'DELETE', '/feeds/feed_groups/:id', async ({ caller, params, query }) => {
    requireApp(caller)
    if (flag(query.hard_delete))
      throw notSupported('hard deletion of feed groups (soft delete and restore are)')
    await knownGroup(ctx, params.id)
    await ctx.engine.deleteFeedGroup(requireId(params.id, 'id'))
    return {}
  })

  v3route(
    edge,
    'POST',
    '/feeds/feed_groups/:feed_group_id/restore',
    async ({ caller, params }) => {
      requireApp(caller)
      const group = await ctx.engine.restoreFeedGroup(requireId(params.feed_group_id, 'feed_group_id'))
      return { feed_group: await feedGroupResponse(ctx, group) }
    },
    201,
  )
}
