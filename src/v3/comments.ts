/**
 * V3 comments on the engine's reactions: a comment is a `comment` reaction on an activity, a
 * reply a `comment` child of a comment (three levels, the engine's depth). Reads page in V3's
 * sorts (comment-pages.ts); QueryComments filters by activity, parent, user and text, and shows
 * only comments on activities the caller may read. Writes are comment-writes.ts's.
 */
import type { Activity } from '../engine/activity.js'
import { inputError } from '../engine/errors.js'
import type { ServerContext } from '../server/context.js'
import { loadActivity, readerOf, requireReadable } from './activities.js'
import { v3Id } from './activity-model.js'
import { type CommentNode, commentPage, depthOf, sortOf, threaded } from './comment-pages.js'
import { commentWriteRoutes } from './comment-writes.js'
import { type Caller, type Edge, v3route } from './http.js'
import type { Hub } from './hub.js'
import { limitOf, loadComment } from './reaction-access.js'
import { commentResponse } from './reaction-model.js'

/** Default and largest page of top-level comments (V3's root limit). */
const DEFAULT_LIMIT = 25
const MAX_LIMIT = 100

/** Query parameters of a threaded comment read (GetComments, GetCommentReplies). */
interface ThreadQuery {
  sort?: unknown
  limit?: unknown
  next?: string
  depth?: unknown
  replies_limit?: unknown
}

/** One page of an activity's comments or a comment's replies, threaded as the reader sees them. */
async function threadPage(
  ctx: ServerContext,
  node: CommentNode,
  activity: Activity,
  caller: Caller,
  query: ThreadQuery,
) {
  const sort = sortOf(query.sort)
  const reader = readerOf(caller)
  const page = await commentPage(ctx, node, reader, {
    sort,
    limit: limitOf(query.limit, DEFAULT_LIMIT, MAX_LIMIT),
    next: query.next,
  })
  const comments = await threaded(ctx, page.comments, v3Id(activity), reader, {
    sort,
    depth: depthOf(query.depth),
    repliesLimit: limitOf(query.replies_limit, DEFAULT_REPLIES, MAX_REPLIES, 'replies_limit'),
  })
  return { comments, sort, ...(page.next ? { next: page.next } : {}) }
}
/** Default and largest replies per comment. */
const DEFAULT_REPLIES = 3
const MAX_REPLIES = 20
const ID = /^[\w-]{1,255}$/

/** The value a filter field asks for: itself or its `$eq`. */
function eqOf(value: unknown): unknown {
  if (value !== null && typeof value === 'object' && !Array.isArray(value) && Object.hasOwn(value, '$eq'))
    return (value as { $eq: unknown }).$eq
  return value
}

/** What a QueryComments filter asks: a node, and optionally text to find. */
interface CommentFilter {
  node?: CommentNode | 'none'
  objectId?: string
  text?: string
}

/** Parses QueryComments' filter (object_id, object_type, parent_id, user_id, comment_text). */
function commentFilter(value: unknown): CommentFilter {
  if (value === undefined || value === null) return {}
  if (typeof value !== 'object' || Array.isArray(value))
    throw inputError('filter must be an object', value, 'filter')
  const out: CommentFilter = {}
  const idOr = (v: unknown, field: string) => {
    if (typeof v !== 'string' || v.length > 255) throw inputError(`${field} must be an id`, v, field)
    // An id no comment or activity can have matches nothing.
    return ID.test(v) ? v : undefined
  }
  for (const [key, raw] of Object.entries(value)) {
    const v = eqOf(raw)
    const field = `filter.${key}`
    if (key === 'object_type') {
      if (v !== 'activity') throw inputError('object_type must be activity', v, field)
    } else if (key === 'object_id') {
      out.objectId = idOr(v, field) ?? ''
    } else if (key === 'parent_id') {
      const id = idOr(v, field)
      out.node = id ? { reaction_id: id } : 'none'
    } else if (key === 'user_id') {
      const id = idOr(v, field)
      if (out.node === undefined) out.node = id ? { user_id: id } : 'none'
    } else if (key === 'comment_text') {
      const q =
        raw !== null && typeof raw === 'object' && Object.hasOwn(raw, '$q') ? (raw as { $q: unknown }).$q : v
      if (typeof q !== 'string' || q.length === 0 || q.length > 255)
        throw inputError('comment_text must be text of 1 to 255 characters', q, field)
      out.text = q.toLowerCase()
    } else
      throw inputError(
        'comments filter by object_id, object_type, parent_id, user_id and comment_text',
        key,
        field,
      )
  }
  return out
}

/** Whether `caller` may read `activity` (QueryComments leaves out the others' comments). */
async function readable(ctx: ServerContext, caller: Caller, activity: Activity): Promise<boolean> {
  try {
    await requireReadable(ctx, caller, activity)
    return true
  } catch {
    return false
  }
}

/** Registers the V3 comment reads (writes: comment-writes.ts). */
export function commentRoutes(edge: Edge, hub: Hub): void {
  commentWriteRoutes(edge, hub)
  const { ctx } = edge

  v3route(edge, 'GET', '/feeds/comments', async ({ caller, query }) => {
    const activity = await loadActivity(ctx, query.object_id, 'object_id')
    await requireReadable(ctx, caller, activity)
    if (query.object_type !== undefined && query.object_type !== 'activity')
      throw inputError('object_type must be activity', query.object_type, 'object_type')
    return threadPage(ctx, { activity_id: activity.id }, activity, caller, query)
  })

  v3route(edge, 'GET', '/feeds/comments/:id', async ({ caller, params }) => {
    const { reaction, activity } = await loadComment(ctx, caller, params.id)
    return { comment: commentResponse(reaction, v3Id(activity)) }
  })

  v3route(edge, 'GET', '/feeds/comments/:id/replies', async ({ caller, params, query }) => {
    const { reaction, activity } = await loadComment(ctx, caller, params.id)
    return threadPage(ctx, { reaction_id: reaction.id }, activity, caller, query)
  })

  v3route(edge, 'POST', '/feeds/comments/query', async ({ caller, body }) => {
    const filter = commentFilter(body.filter)
    const sort = sortOf(body.sort)
    const limit = limitOf(body.limit, DEFAULT_LIMIT, MAX_LIMIT)
    const reader = readerOf(caller)
    let node = filter.node
    let activity: Activity | undefined
    if (filter.objectId !== undefined) {
      activity = filter.objectId
        ? await loadActivity(ctx, filter.objectId, 'filter.object_id').catch(() => undefined)
        : undefined
      if (!activity || !(await readable(ctx, caller, activity))) return { comments: [] }
      if (node === undefined) node = { activity_id: activity.id }
    }
    // Without a place to look, a user looks through its own comments; the app must name one.
    if (node === undefined) {
      if (reader === undefined)
        throw inputError('filter by object_id, parent_id or user_id', body.filter, 'filter')
      node = { user_id: reader }
    }
    if (node === 'none') return { comments: [] }
    const text = filter.text
    const page = await commentPage(ctx, node, reader, {
      sort,
      limit,
      next: body.next,
      keep: (r) =>
        (text === undefined ||
          (typeof r.data.text === 'string' && r.data.text.toLowerCase().includes(text))) &&
        (activity === undefined || r.activity_id === activity.id),
    })
    // Only comments on activities the caller may read: each comment's activity is checked.
    const ids = [...new Set(page.comments.map((r) => r.activity_id))]
    const activities = new Map(
      (ids.length === 0 ? [] : await ctx.engine.getActivities(ids)).map((a) => [a.id, a]),
    )
    const comments = []
    for (const r of page.comments) {
      const a = activities.get(r.activity_id)
      if (a && (await readable(ctx, caller, a))) comments.push(commentResponse(r, v3Id(a)))
    }
    for (const c of comments) delete c.replies
    return { comments, ...(page.next ? { next: page.next } : {}) }
  })
}
