/**
 * QueryActivities: the activities of a few feeds the caller may read, filtered and sorted. The
 * engine keeps activities per feed (no app-wide index), so a query looks through the newest
 * {@link WINDOW} activities of each feed it names (`feed`/`feeds` in the filter, at most
 * {@link MAX_FEEDS}), else of the `user_id`'s user feed, else of the calling user's own user and
 * timeline feeds; the app must name one. Feeds the caller may not read are left out, and so are
 * others' private activities. Pages are offsets into that window (`next`).
 */

import type { Activity } from '../engine/activity.js'
import { inputError } from '../engine/errors.js'
import type { FeedRef } from '../engine/feed-groups.js'
import { activityShown } from '../engine/v3-access.js'
import { activityResponses, feedsOf, readerOf } from './activities.js'
import { actorId, v3Id } from './activity-model.js'
import { feedOf, loadFeeds, mayRead } from './feeds.js'
import { isFollowing } from './follows.js'
import { type Caller, type Edge, v3route } from './http.js'
import { known } from './known.js'
import { compileFilter, DATE_FIELDS } from './query-filter.js'
import { cursorOf, limitOf } from './reaction-access.js'
import { rfc3339 } from './time.js'

/** Newest activities read from each feed a query looks through. */
export const WINDOW = 100
/** Most feeds one query looks through. */
export const MAX_FEEDS = 10
const DEFAULT_LIMIT = 25
const MAX_LIMIT = 100

/** What a filter may name, read from an engine activity. */
const FIELDS: Record<string, (a: Activity) => unknown> = {
  id: (a) => v3Id(a),
  activity_type: (a) => a.verb,
  type: (a) => a.verb,
  user_id: (a) => actorId(a),
  text: (a) => a.text,
  filter_tags: (a) => a.filter_tags,
  interest_tags: (a) => a.interest_tags,
  search_data: (a) => a.search_data,
  created_at: (a) => rfc3339(a.time),
  visibility: (a) => a.visibility ?? 'public',
  feed: (a) => feedsOf(a),
  feeds: (a) => feedsOf(a),
}

/** The feed ids a filter names (`feed`/`feeds`: an id, a list, `$eq` or `$in`). */
function namedFeeds(filter: Record<string, unknown>): unknown[] | undefined {
  const value = filter.feed ?? filter.feeds
  if (value === undefined) return undefined
  const v = value !== null && typeof value === 'object' && !Array.isArray(value) ? value : { $eq: value }
  const spec = v as Record<string, unknown>
  const list = Object.hasOwn(spec, '$in') ? spec.$in : Object.hasOwn(spec, '$eq') ? spec.$eq : undefined
  return Array.isArray(list) ? list : list === undefined ? [] : [list]
}

/** The feeds a query looks through (see the module comment). */
function scope(edge: Edge, caller: Caller, filter: Record<string, unknown>): FeedRef[] {
  const { ctx } = edge
  const named = namedFeeds(filter)
  if (named !== undefined) {
    if (named.length === 0 || named.length > MAX_FEEDS)
      throw inputError(`feed names 1 to ${MAX_FEEDS} feeds`, named, 'filter.feed')
    return named.map((f, i) => feedOf(ctx, f, `filter.feed[${i}]`))
  }
  const user = filter.user_id
  const userId =
    typeof user === 'string'
      ? user
      : user !== null && typeof user === 'object' && typeof (user as { $eq?: unknown }).$eq === 'string'
        ? (user as { $eq: string }).$eq
        : undefined
  const groups = ctx.engine.groups
  if (userId !== undefined) return [feedOf(ctx, `user:${userId}`, 'filter.user_id')]
  const reader = readerOf(caller)
  if (reader === undefined)
    throw inputError('the app names the feeds to query: filter by feed or user_id', filter, 'filter')
  return ['user', 'timeline'].filter((g) => groups.has(g)).map((g) => feedOf(ctx, `${g}:${reader}`, 'filter'))
}

/** How a query sorts: by `created_at` (or `id`), newest first unless `direction` is 1. */
function sortOf(value: unknown): (a: Activity, b: Activity) => number {
  const newest = (a: Activity, b: Activity) =>
    a.time < b.time ? 1 : a.time > b.time ? -1 : a.id < b.id ? 1 : -1
  if (value === undefined || value === null) return newest
  if (!Array.isArray(value) || value.length > 2)
    throw inputError('sort is a list of at most 2 fields', value, 'sort')
  const [first] = value as { field?: unknown; direction?: unknown }[]
  if (first === undefined) return newest
  if (first === null || typeof first !== 'object' || (first.field !== 'created_at' && first.field !== 'id'))
    throw inputError('activities sort by created_at', first, 'sort[0].field')
  return first.direction === 1 ? (a, b) => -newest(a, b) : newest
}

/** Registers QueryActivities. */
export function activityQueryRoutes(edge: Edge): void {
  const { ctx } = edge
  v3route(
    edge,
    'POST',
    '/feeds/activities/query',
    async ({ caller, body }) => {
      const raw = body.filter ?? {}
      if (raw === null || typeof raw !== 'object' || Array.isArray(raw))
        throw inputError('filter must be an object', raw, 'filter')
      const filter = raw as Record<string, unknown>
      const matches = compileFilter(filter, FIELDS, DATE_FIELDS)
      const order = sortOf(body.sort)
      const limit = limitOf(body.limit, DEFAULT_LIMIT, MAX_LIMIT)
      const cursor = cursorOf(body.next, 'next')
      const offset = cursor === undefined ? 0 : Number(/^o(\d{1,4})$/.exec(cursor)?.[1] ?? Number.NaN)
      if (!Number.isInteger(offset))
        throw inputError('next must be a cursor from an earlier page', cursor, 'next')
      const refs = scope(edge, caller, filter)
      const feeds = await loadFeeds(ctx, refs)
      const reader = readerOf(caller)
      const found = new Map<string, Activity>()
      for (const ref of refs) {
        const feed = known(feeds, ref.id)
        const follower = reader !== undefined && (await isFollowing(ctx, reader, ref))
        // A feed the caller may not read adds nothing (as an empty one would).
        if (!mayRead(caller, feed, follower) || ref.group.kind !== 'flat') continue
        const page = await ctx.engine.readFeed(ref, { limit: WINDOW })
        for (const a of page.results as Activity[]) {
          if (!activityShown(a, { app: caller.kind === 'server', user: reader })) continue
          found.set(a.id, a)
        }
      }
      const all = [...found.values()].filter(matches).sort(order)
      const shown = all.slice(offset, offset + limit)
      return {
        activities: await activityResponses(ctx, shown, undefined, reader),
        ...(offset + limit < all.length ? { next: `o${offset + limit}` } : {}),
      }
    },
    201,
  )
}
