/**
 * Pages of V3 comments under a node (an activity's top level or a comment) in V3's sorts:
 * `first` (oldest first) and `last` (newest first) page through the store with id cursors;
 * `top`, `best` and `controversial` rank a bounded window of the newest comments by their
 * reaction counts (reaction-model.ts: `commentScores`) and page it with an offset cursor. Replies
 * are expanded to `depth` levels, `replies_limit` each, within a bound per response.
 */
import { inputError } from '../engine/errors.js'
import type { Reaction } from '../engine/reaction-model.js'
import type { ServerContext } from '../server/context.js'
import type { ThreadedCommentResponse } from './gen/spec.js'
import { cursorOf, reactionPage } from './reaction-access.js'
import { COMMENT, commentResponse, commentScores } from './reaction-model.js'

/** V3's comment sorts. */
export const SORTS = ['first', 'last', 'top', 'best', 'controversial'] as const
/** One of V3's comment sorts. */
export type CommentSort = (typeof SORTS)[number]
/** Newest comments a ranked sort (top, best, controversial) or a text filter reads and orders. */
export const RANK_WINDOW = 250
/** Most reply lists expanded in one response (each one store read). */
const MAX_EXPANSIONS = 50
/** The engine's page size. */
const ENGINE_PAGE = 25
/** Deepest reply level the engine keeps below a comment. */
const MAX_DEPTH = 2

/** A node comments hang from, as the engine's filter names it. */
export type CommentNode = { activity_id: string } | { reaction_id: string } | { user_id: string }

/** A sort from a request (default `last`). */
export function sortOf(value: unknown, field = 'sort'): CommentSort {
  if (value === undefined || value === null || value === '') return 'last'
  if (typeof value !== 'string' || !(SORTS as readonly string[]).includes(value))
    throw inputError(`${field} must be one of ${SORTS.join(', ')}`, value, field)
  return value as CommentSort
}

/** How deep replies are shown (0, the default: none), from a request. */
export function depthOf(value: unknown): number {
  if (value === undefined || value === null || value === '') return 0
  const n = typeof value === 'string' && /^\d$/.test(value) ? Number(value) : value
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > 5)
    throw inputError('depth must be 0 to 5', value, 'depth')
  return Math.min(n, MAX_DEPTH)
}

const ranked = (sort: CommentSort) => sort !== 'first' && sort !== 'last'

/** Orders comments by a ranked sort, newest first among equals. */
function rank(list: Reaction[], sort: CommentSort): Reaction[] {
  const key = (r: Reaction) => {
    const s = commentScores(r)
    return sort === 'top' ? s.score : sort === 'best' ? s.confidence : s.controversy
  }
  return [...list].sort((a, b) => key(b) - key(a) || (a.created_at < b.created_at ? 1 : -1))
}

/** Reads up to `max` comments under `node` in creation order (one engine page per 25). */
async function scan(
  ctx: ServerContext,
  node: CommentNode,
  reader: string | undefined,
  sort: 'first' | 'last',
  max: number,
  after?: string,
): Promise<{ list: Reaction[]; more: boolean }> {
  const list: Reaction[] = []
  let cursor = after
  // The engine pages oldest first from an id_gt cursor; one no reaction can have starts at the oldest.
  if (sort === 'first' && cursor === undefined) cursor = '.oldest'
  while (list.length < max) {
    const limit = Math.min(ENGINE_PAGE, max - list.length)
    const page = await reactionPage(
      ctx,
      {
        ...node,
        kind: COMMENT,
        limit,
        ...(cursor ? { [sort === 'first' ? 'id_gt' : 'id_lt']: cursor } : {}),
      },
      reader,
    )
    // A user's comments (`user_id`) include replies; a node's top level only its own comments.
    list.push(...page.results)
    if (!page.next) return { list, more: false }
    cursor = page.next
  }
  return { list, more: true }
}

/** What a page of comments is asked for. */
export interface CommentQuery {
  sort: CommentSort
  limit: number
  next?: unknown
  /** Keeps only comments this accepts (a text filter): then the window is scanned and filtered. */
  keep?: (r: Reaction) => boolean
}

/** One page of comments under `node` in `query.sort`, and the cursor of the next. */
export async function commentPage(
  ctx: ServerContext,
  node: CommentNode,
  reader: string | undefined,
  query: CommentQuery,
): Promise<{ comments: Reaction[]; next?: string }> {
  const { sort, limit, keep } = query
  if (!ranked(sort) && !keep) {
    const after = cursorOf(query.next, 'next')
    const { list, more } = await scan(ctx, node, reader, sort as 'first' | 'last', limit, after)
    const last = list.at(-1)
    return more && last ? { comments: list, next: last.id } : { comments: list }
  }
  const offset = offsetOf(query.next)
  const window = await scan(ctx, node, reader, sort === 'first' ? 'first' : 'last', RANK_WINDOW)
  const kept = keep ? window.list.filter(keep) : window.list
  const ordered = ranked(sort) ? rank(kept, sort) : kept
  const comments = ordered.slice(offset, offset + limit)
  return offset + limit < ordered.length ? { comments, next: `o${offset + limit}` } : { comments }
}

function offsetOf(value: unknown): number {
  const cursor = cursorOf(value, 'next')
  if (cursor === undefined) return 0
  const m = /^o(\d{1,4})$/.exec(cursor)
  if (!m) throw inputError('next must be a cursor from an earlier page of this sort', value, 'next')
  return Number(m[1])
}

/**
 * Comments as V3's threaded comments: replies `depth` levels down, `repliesLimit` per comment in
 * the same sort, with `meta` saying whether more replies are left (and the cursor to them).
 */
export async function threaded(
  ctx: ServerContext,
  comments: Reaction[],
  activityId: string,
  reader: string | undefined,
  options: { sort: CommentSort; depth: number; repliesLimit: number },
): Promise<ThreadedCommentResponse[]> {
  let budget = MAX_EXPANSIONS
  const expand = async (list: Reaction[], depth: number): Promise<ThreadedCommentResponse[]> => {
    const out: ThreadedCommentResponse[] = []
    for (const r of list) {
      const shown = commentResponse(r, activityId)
      delete shown.replies
      const count = r.children_counts[COMMENT] ?? 0
      if (depth > 0 && count > 0 && options.repliesLimit > 0 && budget > 0) {
        budget--
        const page = await commentPage(ctx, { reaction_id: r.id }, reader, {
          sort: options.sort,
          limit: options.repliesLimit,
        })
        shown.replies = await expand(page.comments, depth - 1)
        shown.meta = {
          depth_truncated: false,
          has_more: page.next !== undefined,
          remaining: Math.max(0, count - page.comments.length),
          ...(page.next ? { next_cursor: page.next } : {}),
        }
      } else if (count > 0) {
        shown.meta = { depth_truncated: depth === 0, has_more: true, remaining: count }
      }
      out.push(shown)
    }
    return out
  }
  return expand(comments, options.depth)
}
