/**
 * QueryPinnedActivities: a feed's pins (`engine.v3Pins`, at most 50 per feed, newest first),
 * filtered by the spec's fields (`activity_id`, `user_id`, `fid`, `created_at`, `updated_at`),
 * sorted by `created_at`, paged by offset cursors. Whoever may read the feed may query its pins
 * (v3-access.ts, as a feed read); others' private activities are left out, as a feed read does.
 */
import { requireId } from '../engine/documents.js'
import { inputError } from '../engine/errors.js'
import type { Pin } from '../engine/v3-pins.js'
import { notAllowed } from '../server/errors.js'
import { pinResponses } from './feed-extras.js'
import { feedRefOf, loadFeed, mayRead, standing } from './feeds.js'
import type { QueryPinnedActivitiesRequest } from './gen/spec.js'
import { type Edge, v3route } from './http.js'
import { compileFilter, DATE_FIELDS } from './query-filter.js'

const DEFAULT_LIMIT = 25
const MAX_LIMIT = 100

/** What a pin filter reads (a pin is never updated: its update time is its creation). */
const fieldsOf = (fid: string): Record<string, (p: Pin) => unknown> => ({
  activity_id: (p) => p.activity_id,
  user_id: (p) => p.user_id,
  fid: () => fid,
  created_at: (p) => p.created_at,
  updated_at: (p) => p.created_at,
})

/** An offset cursor of this query (pins are few: at most 50 a feed). */
function readOffset(value: unknown, field: string): number {
  if (value === undefined) return 0
  if (typeof value !== 'string' || !/^\d{1,3}$/.test(value))
    throw inputError(`${field} must be a cursor from a previous page`, value, field)
  return Number(value)
}

/** `created_at` order: newest first unless the sort says `direction: 1`. */
function ascending(sort: unknown): boolean {
  if (sort === undefined || sort === null) return false
  if (!Array.isArray(sort) || sort.length > 1)
    throw inputError('sort must list at most one field, created_at', sort, 'sort')
  if (sort.length === 0) return false
  const { field, direction } = (sort[0] ?? {}) as { field?: unknown; direction?: unknown }
  if (field !== 'created_at') throw inputError('pins sort by created_at', field, 'sort[0].field')
  return direction === 1
}

/** Registers QueryPinnedActivities. */
export function pinQueryRoutes(edge: Edge): void {
  const { ctx } = edge
  v3route(
    edge,
    'POST',
    '/feeds/feed_groups/:feed_group_id/feeds/:feed_id/pinned_activities/query',
    async ({ caller, params, body }) => {
      const input = body as QueryPinnedActivitiesRequest
      const ref = feedRefOf(ctx, params.feed_group_id, requireId(params.feed_id, 'feed_id'))
      const limit = input.limit ?? DEFAULT_LIMIT
      if (!Number.isInteger(limit) || limit < 0 || limit > MAX_LIMIT)
        throw inputError(`limit must be an integer from 0 to ${MAX_LIMIT}`, limit, 'limit')
      const matches = compileFilter(input.filter, fieldsOf(ref.id), DATE_FIELDS)
      const up = ascending(input.sort)
      const offset =
        input.prev !== undefined ? readOffset(input.prev, 'prev') : readOffset(input.next, 'next')
      const feed = await loadFeed(ctx, ref)
      const s = await standing(ctx, caller, feed)
      if (!mayRead(caller, feed, s.follower, s.member)) throw notAllowed()
      const pins = ((await ctx.engine.v3Pins.pins([ref.id])).get(ref.id) ?? []).filter(matches)
      if (up) pins.reverse()
      const shown = await pinResponses(ctx, ref.id, pins, caller)
      const page = shown.slice(offset, offset + limit)
      const out: Record<string, unknown> = { pinned_activities: page }
      if (offset + limit < shown.length) out.next = String(offset + limit)
      if (offset > 0) out.prev = String(Math.max(0, offset - limit))
      return out
    },
    201,
  )
}
