/**
 * V3 reactions on activities and on comments, on the engine's reactions (reaction-model.ts says
 * how they map). A user reacts as itself on what it may read, once per type: the engine's own
 * reactions (`reactions.putOwn`) give each user, node and type one id, so concurrent adds leave
 * one, and `enforce_unique` replaces the user's other types in the same store batch.
 */
import type { Activity } from '../engine/activity.js'
import { inputError, notFound } from '../engine/errors.js'
import type { Reaction, ReactionRecord } from '../engine/reaction-model.js'
import type { ServerContext } from '../server/context.js'
import { loadActivity, readerOf, requireReadable, writer } from './activities.js'
import { v3Id } from './activity-model.js'
import type { ActivityResponse, FeedsReactionResponse } from './gen/spec.js'
import { type Caller, type Edge, v3route } from './http.js'
import type { Hub } from './hub.js'
import { notifyCommentReaction, notifyReaction } from './notify.js'
import {
  announce,
  cursorOf,
  customOf,
  limitOf,
  loadComment,
  reactionPage,
  requireType,
  shownActivity,
} from './reaction-access.js'
import { BOOKMARK, COMMENT, commentResponse, reactionResponse } from './reaction-model.js'

/** Largest page of a reaction query. */
const MAX_QUERY_LIMIT = 25
/** Kinds an activity's `enforce_unique` leaves alone: they are not V3 reactions. */
const NOT_REACTIONS = [COMMENT, BOOKMARK]

/** A replaced reaction's stored record, shaped as the engine shows reactions (user by id only). */
const recordAsReaction = (r: ReactionRecord): Reaction => ({
  ...r,
  user: {},
  latest_children: {},
  children_counts: {},
})

/** A reaction query's filter: `reaction_type` and `user_id`, nothing else. */
function queryFilter(value: unknown): { kind?: string; user?: string } {
  if (value === undefined || value === null) return {}
  if (typeof value !== 'object' || Array.isArray(value))
    throw inputError('filter must be an object', value, 'filter')
  const out: { kind?: string; user?: string } = {}
  for (const [key, v] of Object.entries(value)) {
    const wanted = v !== null && typeof v === 'object' && !Array.isArray(v) && '$eq' in v ? v.$eq : v
    if (key === 'reaction_type') out.kind = requireType(wanted, 'filter.reaction_type')
    else if (key === 'user_id') {
      if (typeof wanted !== 'string' || !/^[\w-]{1,255}$/.test(wanted))
        throw inputError('filter.user_id must be a user id', wanted, 'filter.user_id')
      out.user = wanted
    } else throw inputError('reactions filter by reaction_type and user_id only', key, `filter.${key}`)
  }
  return out
}

/** A page of V3 reactions under a node (an activity's top level or a comment). */
async function queryReactions(
  ctx: ServerContext,
  caller: Caller,
  place: { activity_id: string } | { reaction_id: string },
  activityId: string,
  body: Record<string, unknown>,
): Promise<{ reactions: FeedsReactionResponse[]; next?: string }> {
  const { kind, user } = queryFilter(body.filter)
  const limit = limitOf(body.limit, MAX_QUERY_LIMIT, MAX_QUERY_LIMIT)
  const next = cursorOf(body.next, 'next')
  const page = await reactionPage(
    ctx,
    { ...place, kind, limit, ...(user ? { filter_user_id: user } : {}), ...(next ? { id_lt: next } : {}) },
    readerOf(caller),
  )
  // Comments and bookmarks hang from the same node; they are not reactions in V3.
  const shown = page.results.filter((r) => !NOT_REACTIONS.includes(r.kind))
  return {
    reactions: shown.map((r) => reactionResponse(r, activityId)),
    ...(page.next ? { next: page.next } : {}),
  }
}

/** Registers the V3 reaction routes (on activities and on comments). */
export function reactionRoutes(edge: Edge, hub: Hub): void {
  const { ctx } = edge
  const reactions = ctx.engine.reactions
  const activityEvent = async (activity: Activity, type: string, reaction: FeedsReactionResponse) =>
    announce(hub, activity, type, { activity: await shownActivity(ctx, activity, undefined), reaction })

  v3route(
    edge,
    'POST',
    '/feeds/activities/:activity_id/reactions',
    async ({ caller, params, body }) => {
      const user = writer(caller, body)
      const type = requireType(body.type)
      const activity = await loadActivity(ctx, params.activity_id, 'activity_id')
      await requireReadable(ctx, caller, activity)
      const custom = customOf(body.custom, 'custom')
      const unique = body.enforce_unique === true
      const { reaction, created, replaced } = await reactions.putOwn(
        { kind: type, activity_id: activity.id, parent: '', user_id: user, data: custom ? { custom } : {} },
        unique ? { update: true, exclusive: { keep: NOT_REACTIONS } } : {},
      )
      if (created && body.create_notification_activity === true)
        await notifyReaction(ctx, user, activity, type)
      const id = v3Id(activity)
      for (const old of replaced)
        await activityEvent(
          activity,
          'feeds.activity.reaction.deleted',
          reactionResponse(recordAsReaction(old), id),
        )
      const shown = reactionResponse(reaction, id)
      if (created || unique)
        await activityEvent(
          activity,
          created ? 'feeds.activity.reaction.added' : 'feeds.activity.reaction.updated',
          shown,
        )
      return { activity: await shownActivity(ctx, activity, readerOf(caller)), reaction: shown }
    },
    201,
  )

  v3route(
    edge,
    'DELETE',
    '/feeds/activities/:activity_id/reactions/:type',
    async ({ caller, params, query }) => {
      const user = writer(caller, { user_id: query.user_id })
      const activity = await loadActivity(ctx, params.activity_id, 'activity_id')
      const type = requireType(params.type)
      const reaction = await reactions.getOwn(user, { activity_id: activity.id }, type)
      if (!reaction) throw notFound(`${user} has no ${type} reaction on ${params.activity_id}`)
      await reactions.delete(reaction.id, false, user)
      const shown = reactionResponse(reaction, v3Id(activity))
      await activityEvent(activity, 'feeds.activity.reaction.deleted', shown)
      return { activity: await shownActivity(ctx, activity, readerOf(caller)), reaction: shown }
    },
  )

  v3route(
    edge,
    'POST',
    '/feeds/activities/:activity_id/reactions/query',
    async ({ caller, params, body }) => {
      const activity = await loadActivity(ctx, params.activity_id, 'activity_id')
      await requireReadable(ctx, caller, activity)
      return queryReactions(ctx, caller, { activity_id: activity.id }, v3Id(activity), body)
    },
  )

  // ---- Reactions on comments

  const commentEvent = async (
    activity: Activity,
    commentId: string,
    type: string,
    reaction: FeedsReactionResponse,
  ): Promise<ActivityResponse> => {
    const fresh = await reactions.get(commentId)
    const comment = commentResponse(fresh, v3Id(activity))
    const shown = await shownActivity(ctx, activity, undefined)
    announce(hub, activity, type, { activity: shown, comment, reaction })
    return shown
  }

  v3route(
    edge,
    'POST',
    '/feeds/comments/:id/reactions',
    async ({ caller, params, body }) => {
      const user = writer(caller, body)
      const type = requireType(body.type)
      const { reaction: comment, activity } = await loadComment(ctx, caller, params.id)
      const custom = customOf(body.custom, 'custom')
      const unique = body.enforce_unique === true
      const { reaction, created, replaced } = await reactions.putOwn(
        {
          kind: type,
          activity_id: comment.activity_id,
          parent: comment.id,
          user_id: user,
          data: custom ? { custom } : {},
        },
        unique ? { update: true, exclusive: { keep: NOT_REACTIONS } } : {},
      )
      if (created && body.create_notification_activity === true)
        await notifyCommentReaction(ctx, user, comment, activity, type)
      const id = v3Id(activity)
      for (const old of replaced)
        await commentEvent(
          activity,
          comment.id,
          'feeds.comment.reaction.deleted',
          reactionResponse(recordAsReaction(old), id),
        )
      const shown = reactionResponse(reaction, id)
      if (created || unique)
        await commentEvent(
          activity,
          comment.id,
          created ? 'feeds.comment.reaction.added' : 'feeds.comment.reaction.updated',
          shown,
        )
      const fresh = await reactions.get(comment.id, user)
      return { comment: commentResponse(fresh, id), reaction: shown }
    },
    201,
  )

  v3route(edge, 'DELETE', '/feeds/comments/:id/reactions/:type', async ({ caller, params, query }) => {
    const user = writer(caller, { user_id: query.user_id })
    const { reaction: comment, activity } = await loadComment(ctx, caller, params.id)
    const type = requireType(params.type)
    const reaction = await reactions.getOwn(
      user,
      { activity_id: comment.activity_id, parent: comment.id },
      type,
    )
    if (!reaction) throw notFound(`${user} has no ${type} reaction on comment ${params.id}`)
    await reactions.delete(reaction.id, false, user)
    const shown = reactionResponse(reaction, v3Id(activity))
    await commentEvent(activity, comment.id, 'feeds.comment.reaction.deleted', shown)
    const fresh = await reactions.get(comment.id, user)
    return { comment: commentResponse(fresh, v3Id(activity)), reaction: shown }
  })

  v3route(edge, 'POST', '/feeds/comments/:id/reactions/query', async ({ caller, params, body }) => {
    const { reaction: comment, activity } = await loadComment(ctx, caller, params.id)
    return queryReactions(ctx, caller, { reaction_id: comment.id }, v3Id(activity), body)
  })
}
