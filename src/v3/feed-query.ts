/**
 * V3's QueryFeeds: the feeds with V3 data that the caller may see (v3-access.ts's view rule, via
 * feeds.ts), filtered with query-filter.ts, sorted, and paged by an opaque offset cursor. The
 * engine keeps no feed indexes: at most {@link SCAN_LIMIT} feeds are read per query, in fid
 * order (docs/v3.md says so). `watch` subscribes the caller's WebSocket to every feed answered.
 */
import { inputError } from '../engine/errors.js'
import { canView } from '../engine/v3-access.js'
import type { ServerContext } from '../server/context.js'
import { accessVisibility, feedRefOf, feedResponses, loadFeeds, standing, type V3Feed } from './feeds.js'
import type { FeedResponse, QueryFeedsRequest } from './gen/spec.js'
import type { Caller } from './http.js'
import { compileFilter } from './query-filter.js'

/** Most feeds one query reads. */
export const SCAN_LIMIT = 5_000
/** Feeds read per store call. */
const PAGE = 500
const DEFAULT_LIMIT = 25
const MAX_LIMIT = 100
/** Fields a sort may name. */
const SORTABLE = new Set(['created_at', 'updated_at', 'follower_count', 'following_count', 'member_count'])

/** A feed as the filter sees it. */
interface Row {
  feed: V3Feed
  response: FeedResponse
  members: string[]
}

const FIELDS: Record<string, (r: Row) => unknown> = {
  feed: (r) => r.feed.fid,
  id: (r) => r.feed.ref.userId,
  group_id: (r) => r.feed.ref.slug,
  name: (r) => r.feed.data.name,
  description: (r) => r.feed.data.description,
  visibility: (r) => r.feed.data.visibility,
  created_by_id: (r) => r.feed.data.created_by,
  'created_by.name': (r) => r.response.created_by.name,
  filter_tags: (r) => r.feed.data.filter_tags ?? [],
  members: (r) => r.members,
  created_at: (r) => r.response.created_at,
  updated_at: (r) => r.response.updated_at,
  follower_count: (r) => r.response.follower_count,
  following_count: (r) => r.response.following_count,
  member_count: (r) => r.response.member_count,
}

function parseSort(raw: unknown): { field: string; direction: number }[] {
  if (raw === undefined || raw === null) return []
  if (!Array.isArray(raw) || raw.length > 2)
    throw inputError('sort must be a list of 0 to 2 fields', raw, 'sort')
  return raw.map((s: unknown, i) => {
    const { field, direction } = (s ?? {}) as { field?: unknown; direction?: unknown }
    if (typeof field !== 'string' || !SORTABLE.has(field))
      throw inputError(
        `sort[${i}].field must be one of ${[...SORTABLE].join(', ')}`,
        field,
        `sort[${i}].field`,
      )
    return { field, direction: direction === 1 ? 1 : -1 }
  })
}

function readOffset(value: unknown, field: string): number {
  if (value === undefined) return 0
  const n = typeof value === 'string' && /^\d{1,5}$/.test(value) ? Number(value) : Number.NaN
  if (!Number.isInteger(n) || n > SCAN_LIMIT)
    throw inputError(`${field} must be a cursor from a previous page`, value, field)
  return n
}

/** Whether the caller may see the feed (followers and members feeds look their standing up). */
async function visible(ctx: ServerContext, caller: Caller, feed: V3Feed): Promise<boolean> {
  return canView(accessVisibility(feed), await standing(ctx, caller, feed))
}

/** Runs QueryFeeds for `caller`: the page of feeds and its cursors. */
export async function queryFeeds(
  ctx: ServerContext,
  caller: Caller,
  input: QueryFeedsRequest,
): Promise<{ feeds: FeedResponse[]; next?: string; prev?: string }> {
  const limit = input.limit ?? DEFAULT_LIMIT
  if (!Number.isInteger(limit) || limit < 0 || limit > MAX_LIMIT)
    throw inputError(`limit must be an integer from 0 to ${MAX_LIMIT}`, limit, 'limit')
  const predicate = compileFilter(input.filter, FIELDS)
  const sort = parseSort(input.sort)
  const offset = input.prev !== undefined ? readOffset(input.prev, 'prev') : readOffset(input.next, 'next')
  const found: Row[] = []
  let after: string | undefined
  for (let read = 0; read < SCAN_LIMIT; ) {
    const docs = await ctx.engine.v3.listFeeds(after, Math.min(PAGE, SCAN_LIMIT - read))
    if (docs.length === 0) break
    read += docs.length
    after = docs[docs.length - 1]?.id
    const refs = docs.flatMap((d) => {
      const colon = d.id.indexOf(':')
      if (colon < 0 || d.data.deleted_at || !ctx.engine.groups.has(d.id.slice(0, colon))) return []
      return [feedRefOf(ctx, d.id.slice(0, colon), d.id.slice(colon + 1))]
    })
    const feeds = [...(await loadFeeds(ctx, refs)).values()]
    const seen: V3Feed[] = []
    for (const feed of feeds) if (await visible(ctx, caller, feed)) seen.push(feed)
    const [responses, members] = await Promise.all([
      feedResponses(ctx, seen, caller),
      ctx.engine.v3Members.members(seen.map((f) => f.fid)),
    ])
    seen.forEach((feed, i) => {
      const row = {
        feed,
        response: responses[i],
        members: (members.get(feed.fid) ?? []).filter((m) => m.status === 'member').map((m) => m.user_id),
      }
      if (predicate(row)) found.push(row)
    })
  }
  if (sort.length > 0)
    found.sort((a, b) => {
      for (const { field, direction } of sort) {
        const x = FIELDS[field](a) as string | number
        const y = FIELDS[field](b) as string | number
        if (x !== y) return (x < y ? -1 : 1) * direction
      }
      return 0
    })
  const page = found.slice(offset, offset + (limit || DEFAULT_LIMIT))
  const out: { feeds: FeedResponse[]; next?: string; prev?: string } = { feeds: page.map((r) => r.response) }
  const end = offset + page.length
  if (end < found.length) out.next = String(end)
  if (offset > 0) out.prev = String(Math.max(0, offset - (limit || DEFAULT_LIMIT)))
  return out
}
