/**
 * V3's QueryFeeds: the feeds with V3 data that the caller may see (v3-access.ts's view rule, via
 * feeds.ts), filtered with query-filter.ts, sorted, and paged by an opaque offset cursor. The
 * engine keeps no feed indexes: at most {@link SCAN_LIMIT} feeds are read per query, in fid
 * order (docs/v3.md says so). `watch` subscribes the caller's WebSocket to every feed answered.
 */
import { inputError } from '../engine/errors.js'
import { canView } from '../engine/v3-access.js'
import type { ServerContext } from '../server/context.js'
import {
  accessVisibility,
  type FollowCounts,
  feedRefOf,
  feedResponses,
  loadFeeds,
  standing,
  type V3Feed,
} from './feeds.js'
import type { FeedResponse, QueryFeedsRequest } from './gen/spec.js'
import type { Caller } from './http.js'
import { compileFilter, DATE_FIELDS } from './query-filter.js'
import { rfc3339 } from './time.js'
import { usersById } from './users.js'

/** Most feeds one query reads. */
export const SCAN_LIMIT = 5_000
/** Feeds read per store call. */
const PAGE = 500
const DEFAULT_LIMIT = 25
const MAX_LIMIT = 100
/** Fields a sort may name. */
const SORTABLE = new Set(['created_at', 'updated_at', 'follower_count', 'following_count', 'member_count'])

/**
 * A feed as the filter and sort see it: its data and members, and its creator's name and follow
 * counts when the query names them (read only then; the page's responses are built afterwards).
 */
interface Row {
  feed: V3Feed
  members: string[]
  creatorName?: string
  stats?: FollowCounts
}

/** A feed's stored creation or update time, as its response shows it (QueryFeeds lists stored feeds). */
const stamp = (r: Row, which: 'createdAt' | 'updatedAt') =>
  r.feed.doc ? rfc3339(r.feed.doc[which]) : undefined

const FIELDS: Record<string, (r: Row) => unknown> = {
  feed: (r) => r.feed.fid,
  id: (r) => r.feed.ref.userId,
  group_id: (r) => r.feed.ref.slug,
  name: (r) => r.feed.data.name,
  description: (r) => r.feed.data.description,
  visibility: (r) => r.feed.data.visibility,
  created_by_id: (r) => r.feed.data.created_by,
  'created_by.name': (r) => r.creatorName,
  filter_tags: (r) => r.feed.data.filter_tags ?? [],
  members: (r) => r.members,
  created_at: (r) => stamp(r, 'createdAt'),
  updated_at: (r) => stamp(r, 'updatedAt'),
  follower_count: (r) => r.stats?.followers,
  following_count: (r) => r.stats?.following,
  member_count: (r) => r.members.length,
}

/** The field names a filter names, at any depth of `$and`/`$or` (after compileFilter bounded it). */
function namedFields(filter: unknown, into: Set<string>): Set<string> {
  if (filter === null || typeof filter !== 'object' || Array.isArray(filter)) return into
  for (const [key, arg] of Object.entries(filter)) {
    if (key !== '$and' && key !== '$or') into.add(key)
    else if (Array.isArray(arg)) for (const sub of arg) namedFields(sub, into)
  }
  return into
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
  const predicate = compileFilter(input.filter, FIELDS, DATE_FIELDS)
  const sort = parseSort(input.sort)
  const offset = input.prev !== undefined ? readOffset(input.prev, 'prev') : readOffset(input.next, 'next')
  const named = namedFields(input.filter, new Set(sort.map((s) => s.field)))
  const needsStats = named.has('follower_count') || named.has('following_count')
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
    // Only what the filter and sort name is read for every feed seen; the rest only for the page.
    const [members, users, stats] = await Promise.all([
      ctx.engine.v3Members.members(seen.map((f) => f.fid)),
      named.has('created_by.name')
        ? usersById(
            ctx,
            seen.map((f) => f.data.created_by),
          )
        : undefined,
      needsStats ? Promise.all(seen.map((f) => ctx.engine.followStats(f.ref))) : undefined,
    ])
    seen.forEach((feed, i) => {
      const row: Row = {
        feed,
        members: (members.get(feed.fid) ?? []).filter((m) => m.status === 'member').map((m) => m.user_id),
        creatorName: users?.get(feed.data.created_by)?.name,
        stats: stats?.[i],
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
  const stats = new Map(page.flatMap((r) => (r.stats ? [[r.feed.fid, r.stats] as const] : [])))
  const feeds = await feedResponses(
    ctx,
    page.map((r) => r.feed),
    caller,
    undefined,
    { stats },
  )
  const out: { feeds: FeedResponse[]; next?: string; prev?: string } = { feeds }
  const end = offset + page.length
  if (end < found.length) out.next = String(end)
  if (offset > 0) out.prev = String(Math.max(0, offset - (limit || DEFAULT_LIMIT)))
  return out
}
