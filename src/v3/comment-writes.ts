/**
 * V3 comment writes on the engine's reactions: AddComment and AddCommentsBatch (every comment
 * checked before any is added, so a batch adds all or none), UpdateComment and
 * UpdateCommentPartial (one optimistic read-modify-write of the comment's data,
 * engine.reactions.patch), DeleteComment. A user token writes as its own user and changes only
 * its own comments; the app names the user. Changes reach the activity's watchers as
 * `feeds.comment.*` events.
 */
import type { Activity } from '../engine/activity.js'
import { inputError } from '../engine/errors.js'
import type { Reaction } from '../engine/reaction-model.js'
import type { ServerContext } from '../server/context.js'
import { notAllowed } from '../server/errors.js'
import { loadActivity, readerOf, requireReadable, writer } from './activities.js'
import { v3Id } from './activity-model.js'
import { notSupported } from './errors.js'
import type { CommentResponse } from './gen/spec.js'
import { type Caller, type Edge, v3route } from './http.js'
import type { Hub } from './hub.js'
import { notifyComment } from './notify.js'
import { announce, customOf, loadComment, shownActivity } from './reaction-access.js'
import { COMMENT, commentResponse } from './reaction-model.js'

/** Largest comment text, in characters. */
const MAX_TEXT = 10_000
/** Most comments one AddCommentsBatch adds. */
export const MAX_COMMENT_BATCH = 100
/** Most users a comment mentions. */
const MAX_MENTIONS = 100
/** Fields UpdateCommentPartial sets, and those it unsets (`custom.<name>` too, for both). */
const SETTABLE = new Set(['text', 'attachments', 'custom', 'mentioned_user_ids'])
const UNSETTABLE = new Set(['custom', 'attachments', 'mentioned_user_ids'])

function textOf(value: unknown, field = 'comment'): string | undefined {
  if (value === undefined) return undefined
  if (typeof value !== 'string' || value.length > MAX_TEXT)
    throw inputError(`${field} must be text of at most ${MAX_TEXT} characters`, value, field)
  return value
}

function mentionsOf(value: unknown, field: string): string[] {
  if (!Array.isArray(value) || value.length > MAX_MENTIONS || value.some((v) => typeof v !== 'string'))
    throw inputError(`${field} must list at most ${MAX_MENTIONS} user ids`, value, field)
  return value as string[]
}

function attachmentsOf(value: unknown, field: string): unknown[] {
  if (!Array.isArray(value)) throw inputError(`${field} must be a list of attachments`, value, field)
  return value
}

/** A checked new comment: who writes it, its data, and where it hangs. */
interface NewComment {
  user: string
  data: Record<string, unknown>
  activity: Activity
  parent?: Reaction
  notify: boolean
}

/** Checks one AddComment body (`where` prefixes its fields in errors) without writing anything. */
async function checkComment(
  ctx: ServerContext,
  caller: Caller,
  body: Record<string, unknown>,
  where = '',
): Promise<NewComment> {
  const user = writer(caller, body)
  const text = textOf(body.comment, `${where}comment`)
  if (text === undefined && body.attachments === undefined)
    throw inputError('a comment needs comment text or attachments', body, `${where}comment`)
  const data: Record<string, unknown> = {}
  if (text !== undefined) data.text = text
  const custom = customOf(body.custom, `${where}custom`)
  if (custom) data.custom = custom
  if (body.attachments !== undefined)
    data.attachments = attachmentsOf(body.attachments, `${where}attachments`)
  if (body.mentioned_user_ids !== undefined)
    data.mentioned_user_ids = mentionsOf(body.mentioned_user_ids, `${where}mentioned_user_ids`)
  const notify = body.create_notification_activity === true
  if (typeof body.parent_id === 'string' && body.parent_id !== '') {
    const parent = await loadComment(ctx, caller, body.parent_id)
    return { user, data, activity: parent.activity, parent: parent.reaction, notify }
  }
  if (body.object_type !== undefined && body.object_type !== 'activity')
    throw inputError('object_type must be activity', body.object_type, `${where}object_type`)
  const activity = await loadActivity(ctx, body.object_id, `${where}object_id`)
  await requireReadable(ctx, caller, activity)
  return { user, data, activity, notify }
}

/** A partial update's `set`/`unset` as paths of the comment's data (text edits stamp edited_at). */
function patchOf(setValue: unknown, unsetValue: unknown): { set: Record<string, unknown>; unset: string[] } {
  const given = setValue ?? {}
  if (given === null || typeof given !== 'object' || Array.isArray(given))
    throw inputError('set must be an object', given, 'set')
  const unset = unsetValue ?? []
  if (!Array.isArray(unset)) throw inputError('unset must be a list of field names', unset, 'unset')
  const set: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(given)) {
    if (key === 'status') throw notSupported('setting a comment status')
    if (!SETTABLE.has(key) && !key.startsWith('custom.'))
      throw inputError(`set may change ${[...SETTABLE].join(', ')} or custom.<name>`, key, `set.${key}`)
    if (key === 'text') {
      set.text = textOf(value, 'set.text')
      set.edited_at = new Date().toISOString()
    } else if (key === 'custom') set.custom = customOf(value, 'set.custom') ?? {}
    else if (key === 'attachments') set.attachments = attachmentsOf(value, 'set.attachments')
    else if (key === 'mentioned_user_ids')
      set.mentioned_user_ids = mentionsOf(value, 'set.mentioned_user_ids')
    else set[key] = value
  }
  for (const key of unset) {
    if (key === 'status') throw notSupported('unsetting a comment status')
    if (typeof key !== 'string' || (!UNSETTABLE.has(key) && !key.startsWith('custom.')))
      throw inputError(`unset lists ${[...UNSETTABLE].join(', ')} or custom.<name>`, key, 'unset')
  }
  return { set, unset: unset as string[] }
}

/** Registers the V3 comment write routes. */
export function commentWriteRoutes(edge: Edge, hub: Hub): void {
  const { ctx } = edge
  const reactions = ctx.engine.reactions

  /** Adds a checked comment. */
  const add = (c: NewComment) =>
    c.parent
      ? reactions.add({ kind: COMMENT, parent: c.parent.id, user_id: c.user, data: c.data })
      : reactions.add({ kind: COMMENT, activity_id: c.activity.id, user_id: c.user, data: c.data })

  /** Notifies and announces an added comment; answers it as V3 shows it. */
  const added = async (c: NewComment, reaction: Reaction): Promise<CommentResponse> => {
    if (c.notify) await notifyComment(ctx, c.user, c.activity, reaction)
    const comment = commentResponse(reaction, v3Id(c.activity))
    announce(hub, c.activity, 'feeds.comment.added', {
      comment,
      activity: await shownActivity(ctx, c.activity, undefined),
    })
    return comment
  }

  /** Patches the caller's own comment `id` (the app: anyone's) and announces the change. */
  const change = async (
    caller: Caller,
    id: unknown,
    patch: { set: Record<string, unknown>; unset: string[] },
  ) => {
    const { reaction, activity } = await loadComment(ctx, caller, id)
    const user = readerOf(caller)
    if (caller.kind !== 'server' && reaction.user_id !== user) throw notAllowed()
    const updated = await reactions.patch(reaction.id, patch, user)
    const comment = commentResponse(updated, v3Id(activity))
    announce(hub, activity, 'feeds.comment.updated', { comment })
    return { comment }
  }

  v3route(
    edge,
    'POST',
    '/feeds/comments',
    async ({ caller, body }) => {
      const c = await checkComment(ctx, caller, body)
      return { comment: await added(c, await add(c)) }
    },
    201,
  )

  v3route(
    edge,
    'POST',
    '/feeds/comments/batch',
    async ({ caller, body }) => {
      const list = body.comments
      if (!Array.isArray(list) || list.length === 0 || list.length > MAX_COMMENT_BATCH)
        throw inputError(`comments must list 1 to ${MAX_COMMENT_BATCH} comments`, list, 'comments')
      const checked: NewComment[] = []
      for (const [i, item] of list.entries()) {
        if (item === null || typeof item !== 'object' || Array.isArray(item))
          throw inputError('each comment is an object', item, `comments[${i}]`)
        checked.push(await checkComment(ctx, caller, item as Record<string, unknown>, `comments[${i}].`))
      }
      // All or none: the answer lists every comment, so a failed add takes back those before it.
      const made: Reaction[] = []
      try {
        for (const c of checked) made.push(await add(c))
      } catch (err) {
        for (const r of made) await reactions.delete(r.id, false).catch(() => undefined)
        throw err
      }
      const comments: CommentResponse[] = []
      for (const [i, c] of checked.entries()) comments.push(await added(c, made[i]))
      return { comments }
    },
    201,
  )

  v3route(edge, 'PATCH', '/feeds/comments/:id', async ({ caller, params, body }) => {
    const set: Record<string, unknown> = {}
    const text = textOf(body.comment)
    if (text !== undefined) {
      set.text = text
      set.edited_at = new Date().toISOString()
    }
    const custom = customOf(body.custom, 'custom')
    if (custom) set.custom = custom
    return change(caller, params.id, { set, unset: [] })
  })

  v3route(edge, 'POST', '/feeds/comments/:id/partial', async ({ caller, params, body }) => {
    return change(caller, params.id, patchOf(body.set, body.unset))
  })

  v3route(edge, 'DELETE', '/feeds/comments/:id', async ({ caller, params }) => {
    const { reaction, activity } = await loadComment(ctx, caller, params.id)
    const user = readerOf(caller)
    if (caller.kind !== 'server' && reaction.user_id !== user) throw notAllowed()
    await reactions.delete(reaction.id, false, user)
    const comment = commentResponse(reaction, v3Id(activity))
    announce(hub, activity, 'feeds.comment.deleted', { comment })
    return { comment, activity: await shownActivity(ctx, activity, user) }
  })
}
