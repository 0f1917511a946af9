/**
 * V3 reaction, comment and bookmark routes on the engine's reactions (reaction-model.ts says how
 * they map). A user reacts, comments and bookmarks as itself on activities it may read, and
 * changes or deletes only its own; the engine checks ownership again in its own writes.
 */
import type { Activity } from '../engine/activity.js'
import { inputError, notFound } from '../engine/errors.js'
import type { Reaction } from '../engine/reaction-model.js'
import type { ServerContext } from '../server/context.js'
import { notAllowed } from '../server/errors.js'
import { activityResponses, loadActivity, readerOf, requireReadable, writer } from './activities.js'
import { v3Id } from './activity-model.js'
import type { ActivityResponse } from './gen/spec.js'
import { type Caller, type Edge, v3route } from './http.js'
import { notifyComment, notifyCommentReaction, notifyReaction } from './notifications.js'
import { BOOKMARK, bookmarkResponse, COMMENT, commentResponse, reactionResponse } from './reaction-model.js'

/** Largest comment text, in characters. */
const MAX_TEXT = 10_000
const TYPE = /^[\w-]{1,255}$/

function requireType(value: unknown): string {
  if (typeof value !== 'string' || !TYPE.test(value) || value === COMMENT || value === BOOKMARK)
    throw inputError(
      `type must be letters, digits, - or _ (at most 255), and not ${COMMENT} or ${BOOKMARK}`,
      value,
      'type',
    )
  return value
}

function customOf(value: unknown, field: string): Record<string, unknown> | undefined {
  if (value === undefined || value === null) return undefined
  if (typeof value !== 'object' || Array.isArray(value))
    throw inputError(`${field} must be an object`, value, field)
  return value as Record<string, unknown>
}

/** The user's own reactions of `kind` on an activity or under a reaction (newest first). */
async function ownOf(
  ctx: ServerContext,
  place: { activity_id: string } | { reaction_id: string },
  kind: string,
  user: string,
): Promise<Reaction[]> {
  const page = await ctx.engine.reactions.filter({ ...place, kind, filter_user_id: user, limit: 25 }, user)
  return page.results.filter((r) => r.user_id === user)
}

/** The activity a comment (or any reaction) belongs to, readable by `caller`. */
async function activityOfReaction(ctx: ServerContext, caller: Caller, r: Reaction): Promise<Activity> {
  const [activity] = await ctx.engine.getActivities([r.activity_id])
  if (!activity) throw notFound(`the activity of ${r.id} does not exist`)
  await requireReadable(ctx, caller, activity)
  return activity
}

/** Loads a live comment readable by `caller`, with its activity. */
async function loadComment(ctx: ServerContext, caller: Caller, id: unknown) {
  if (typeof id !== 'string' || id === '') throw inputError('id must be a comment id', id, 'id')
  const reaction = await ctx.engine.reactions.get(id, readerOf(caller) ?? '')
  if (reaction.kind !== COMMENT) throw notFound(`comment ${id} does not exist`)
  const activity = await activityOfReaction(ctx, caller, reaction)
  return { reaction, activity }
}

async function shownActivity(
  ctx: ServerContext,
  activity: Activity,
  caller: Caller,
): Promise<ActivityResponse> {
  const [loaded] = await ctx.engine.getActivities([activity.id])
  const [shown] = await activityResponses(ctx, [loaded ?? activity], undefined, readerOf(caller))
  return shown
}

/** Registers the V3 reaction, comment and bookmark routes. */
export function reactionRoutes(edge: Edge): void {
  const { ctx } = edge
  const reactions = ctx.engine.reactions

  // ---- Reactions on activities

  v3route(
    edge,
    'POST',
    '/feeds/activities/:activity_id/reactions',
    async ({ caller, params, body }) => {
      const user = writer(caller, body)
      const type = requireType(body.type)
      const activity = await loadActivity(ctx, params.activity_id, 'activity_id')
      await requireReadable(ctx, caller, activity)
      const place = { activity_id: activity.id }
      const existing = await ownOf(ctx, place, type, user)
      if (body.enforce_unique === true) {
        // One reaction per user on the activity: the user's reactions of other types go.
        const page = await reactions.filter(
          { activity_id: activity.id, filter_user_id: user, limit: 25 },
          user,
        )
        for (const r of page.results)
          if (
            r.user_id === user &&
            r.kind !== type &&
            r.parent === '' &&
            r.kind !== COMMENT &&
            r.kind !== BOOKMARK
          )
            await reactions.delete(r.id, false, user)
      }
      const custom = customOf(body.custom, 'custom')
      const reaction =
        existing[0] ??
        (await reactions.add(
          { kind: type, activity_id: activity.id, user_id: user, data: custom ? { custom } : {} },
          undefined,
        ))
      if (!existing[0] && body.create_notification_activity === true)
        await notifyReaction(ctx, user, activity, type)
      return {
        activity: await shownActivity(ctx, activity, caller),
        reaction: reactionResponse(reaction, v3Id(activity)),
      }
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
      const [reaction] = await ownOf(ctx, { activity_id: activity.id }, requireType(params.type), user)
      if (!reaction) throw notFound(`${user} has no ${params.type} reaction on ${params.activity_id}`)
      await reactions.delete(reaction.id, false, user)
      return {
        activity: await shownActivity(ctx, activity, caller),
        reaction: reactionResponse(reaction, v3Id(activity)),
      }
    },
  )

  v3route(
    edge,
    'POST',
    '/feeds/activities/:activity_id/reactions/query',
    async ({ caller, params, body }) => {
      const activity = await loadActivity(ctx, params.activity_id, 'activity_id')
      await requireReadable(ctx, caller, activity)
      const filter = (body.filter ?? {}) as { reaction_type?: unknown }
      const kind = typeof filter.reaction_type === 'string' ? requireType(filter.reaction_type) : undefined
      const page = await reactions.filter({ activity_id: activity.id, kind, limit: 25 }, readerOf(caller))
      const shown = page.results.filter((r) => r.parent === '' && r.kind !== COMMENT && r.kind !== BOOKMARK)
      return { reactions: shown.map((r) => reactionResponse(r, v3Id(activity))) }
    },
  )

  // ---- Comments

  v3route(
    edge,
    'POST',
    '/feeds/comments',
    async ({ caller, body }) => {
      const user = writer(caller, body)
      const text = body.comment
      if (text !== undefined && (typeof text !== 'string' || text.length > MAX_TEXT))
        throw inputError(`comment must be text of at most ${MAX_TEXT} characters`, text, 'comment')
      if (text === undefined && body.attachments === undefined)
        throw inputError('a comment needs comment text or attachments', body, 'comment')
      const data: Record<string, unknown> = {}
      if (text !== undefined) data.text = text
      const custom = customOf(body.custom, 'custom')
      if (custom) data.custom = custom
      if (Array.isArray(body.attachments)) data.attachments = body.attachments
      if (Array.isArray(body.mentioned_user_ids)) data.mentioned_user_ids = body.mentioned_user_ids
      let reaction: Reaction
      let activity: Activity
      if (typeof body.parent_id === 'string' && body.parent_id !== '') {
        const parent = await loadComment(ctx, caller, body.parent_id)
        activity = parent.activity
        reaction = await reactions.add({ kind: COMMENT, parent: parent.reaction.id, user_id: user, data })
      } else {
        if (body.object_type !== undefined && body.object_type !== 'activity')
          throw inputError('object_type must be activity', body.object_type, 'object_type')
        activity = await loadActivity(ctx, body.object_id, 'object_id')
        await requireReadable(ctx, caller, activity)
        reaction = await reactions.add({ kind: COMMENT, activity_id: activity.id, user_id: user, data })
      }
      if (body.create_notification_activity === true) await notifyComment(ctx, user, activity, reaction)
      return { comment: commentResponse(reaction, v3Id(activity)) }
    },
    201,
  )

  v3route(edge, 'GET', '/feeds/comments', async ({ caller, query }) => {
    const activity = await loadActivity(ctx, query.object_id, 'object_id')
    await requireReadable(ctx, caller, activity)
    const limit = query.limit === undefined ? 25 : Number(query.limit)
    if (!Number.isInteger(limit) || limit < 1 || limit > 25)
      throw inputError('limit must be 1 to 25', query.limit, 'limit')
    const sort = typeof query.sort === 'string' ? query.sort : 'last'
    const options: Record<string, unknown> = { activity_id: activity.id, kind: COMMENT, limit }
    if (typeof query.next === 'string') options.id_lt = query.next
    const page = await reactions.filter(options, readerOf(caller))
    // Newest first (`last`); `first` shows the page oldest first. Other sorts (top, best,
    // controversial) need scores the engine does not keep: they read as `last`.
    const top = page.results.filter((r) => r.parent === '')
    if (sort === 'first') top.reverse()
    const out: Record<string, unknown> = {
      comments: top.map((r) => commentResponse(r, v3Id(activity))),
      sort,
    }
    if (page.next && page.results.length === limit) out.next = page.results.at(-1)?.id
    return out
  })

  v3route(edge, 'GET', '/feeds/comments/:id', async ({ caller, params }) => {
    const { reaction, activity } = await loadComment(ctx, caller, params.id)
    return { comment: commentResponse(reaction, v3Id(activity)) }
  })

  v3route(edge, 'GET', '/feeds/comments/:id/replies', async ({ caller, params }) => {
    const { reaction, activity } = await loadComment(ctx, caller, params.id)
    const page = await reactions.filter(
      { reaction_id: reaction.id, kind: COMMENT, limit: 25 },
      readerOf(caller),
    )
    return { comments: page.results.map((r) => commentResponse(r, v3Id(activity))), sort: 'last' }
  })

  v3route(edge, 'PATCH', '/feeds/comments/:id', async ({ caller, params, body }) => {
    const { reaction, activity } = await loadComment(ctx, caller, params.id)
    const user = readerOf(caller)
    if (caller.kind !== 'server' && reaction.user_id !== user) throw notAllowed()
    const data = { ...reaction.data }
    if (body.comment !== undefined) {
      if (typeof body.comment !== 'string' || body.comment.length > MAX_TEXT)
        throw inputError(`comment must be text of at most ${MAX_TEXT} characters`, body.comment, 'comment')
      data.text = body.comment
      data.edited_at = new Date().toISOString()
    }
    const custom = customOf(body.custom, 'custom')
    if (custom) data.custom = custom
    const updated = await reactions.update(reaction.id, { data, target_feeds: reaction.target_feeds }, user)
    return { comment: commentResponse(updated, v3Id(activity)) }
  })

  v3route(edge, 'DELETE', '/feeds/comments/:id', async ({ caller, params }) => {
    const { reaction, activity } = await loadComment(ctx, caller, params.id)
    const user = readerOf(caller)
    if (caller.kind !== 'server' && reaction.user_id !== user) throw notAllowed()
    await reactions.delete(reaction.id, false, user)
    return {
      comment: commentResponse(reaction, v3Id(activity)),
      activity: await shownActivity(ctx, activity, caller),
    }
  })

  v3route(
    edge,
    'POST',
    '/feeds/comments/:id/reactions',
    async ({ caller, params, body }) => {
      const user = writer(caller, body)
      const type = requireType(body.type)
      const { reaction: comment, activity } = await loadComment(ctx, caller, params.id)
      const [existing] = await ownOf(ctx, { reaction_id: comment.id }, type, user)
      const custom = customOf(body.custom, 'custom')
      const reaction =
        existing ??
        (await reactions.add({
          kind: type,
          parent: comment.id,
          user_id: user,
          data: custom ? { custom } : {},
        }))
      if (!existing && body.create_notification_activity === true)
        await notifyCommentReaction(ctx, user, comment, activity, type)
      const fresh = await reactions.get(comment.id, user)
      return {
        comment: commentResponse(fresh, v3Id(activity)),
        reaction: reactionResponse(reaction, v3Id(activity)),
      }
    },
    201,
  )

  v3route(edge, 'DELETE', '/feeds/comments/:id/reactions/:type', async ({ caller, params, query }) => {
    const user = writer(caller, { user_id: query.user_id })
    const { reaction: comment, activity } = await loadComment(ctx, caller, params.id)
    const [reaction] = await ownOf(ctx, { reaction_id: comment.id }, requireType(params.type), user)
    if (!reaction) throw notFound(`${user} has no ${params.type} reaction on comment ${params.id}`)
    await reactions.delete(reaction.id, false, user)
    const fresh = await reactions.get(comment.id, user)
    return {
      comment: commentResponse(fresh, v3Id(activity)),
      reaction: reactionResponse(reaction, v3Id(activity)),
    }
  })

  // ---- Bookmarks

  const bookmark = async (
    caller: Caller,
    activityId: string,
    body: Record<string, unknown>,
    mode: 'add' | 'update',
  ) => {
    const user = writer(caller, body)
    const activity = await loadActivity(ctx, activityId, 'activity_id')
    await requireReadable(ctx, caller, activity)
    // One bookmark per user and folder (no folder is its own): V3 files an activity in several folders.
    const folder = typeof body.folder_id === 'string' ? body.folder_id : undefined
    const mine = await ownOf(ctx, { activity_id: activity.id }, BOOKMARK, user)
    const existing =
      mode === 'add'
        ? mine.find((r) => r.data.folder_id === folder)
        : (mine.find((r) => r.data.folder_id === folder) ?? mine[0])
    const custom = customOf(body.custom, 'custom')
    const data: Record<string, unknown> = { ...(existing?.data ?? {}) }
    if (custom) data.custom = custom
    if (typeof body.folder_id === 'string') data.folder_id = body.folder_id
    let reaction: Reaction
    if (mode === 'add') {
      if (existing)
        throw inputError(
          `${activityId} is bookmarked already${folder ? ` in folder ${folder}` : ''}`,
          activityId,
          'activity_id',
        )
      reaction = await reactions.add({ kind: BOOKMARK, activity_id: activity.id, user_id: user, data })
    } else {
      if (!existing) throw notFound(`${user} has no bookmark on ${activityId}`)
      reaction = await reactions.update(existing.id, { data, target_feeds: existing.target_feeds }, user)
    }
    return { bookmark: bookmarkResponse(reaction, await shownActivity(ctx, activity, caller)) }
  }
  v3route(
    edge,
    'POST',
    '/feeds/activities/:activity_id/bookmarks',
    async ({ caller, params, body }) => bookmark(caller, params.activity_id, body, 'add'),
    201,
  )
  v3route(edge, 'PATCH', '/feeds/activities/:activity_id/bookmarks', async ({ caller, params, body }) =>
    bookmark(caller, params.activity_id, body, 'update'),
  )
  v3route(edge, 'DELETE', '/feeds/activities/:activity_id/bookmarks', async ({ caller, params, query }) => {
    const user = writer(caller, { user_id: query.user_id })
    const activity = await loadActivity(ctx, params.activity_id, 'activity_id')
    const [existing] = await ownOf(ctx, { activity_id: activity.id }, BOOKMARK, user)
    if (!existing) throw notFound(`${user} has no bookmark on ${params.activity_id}`)
    await reactions.delete(existing.id, false, user)
    return { bookmark: bookmarkResponse(existing, await shownActivity(ctx, activity, caller)) }
  })
}
