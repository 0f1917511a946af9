/** Feed reads: pagination options, flat pages, aggregated and notification groups, seen/read. */
import type { GroupPageQuery, GroupRow, MarkTarget, PageQuery } from '../store/store.js'
import { type Activity, readActivity } from './activity.js'
import { isFalseSpelling, isTrueSpelling } from './booleans.js'
import type { EngineContext } from './context.js'
import { inputError } from './errors.js'
import type { FeedRef } from './feed-groups.js'
import { idToSk, skMicros } from './ids.js'
import { type Links, type NextPage, NO_LINKS } from './links.js'
import { intOption } from './options.js'
import type { Reactions } from './reactions.js'
import { formatTime } from './time.js'

/**
 * Read options, as the official client names them: every spelling getstream sends is accepted
 * (camelCase and snake_case), and nothing else (`GET_FEED_OPTIONS`), so `{ limt: 5 }` is an error.
 */
export type GetFeedOptions = {
  limit?: number | string
  offset?: number | string
  id_lt?: string
  id_lte?: string
  id_gt?: string
  id_gte?: string
  mark_seen?: boolean | string | string[]
  mark_read?: boolean | string | string[]
  /** getstream's enrichment flags (reaction-read.ts reads each spelling). */
  enrich?: boolean
  withOwnReactions?: boolean | string
  ownReactions?: boolean | string
  withRecentReactions?: boolean | string
  withReactionCounts?: boolean | string
  withOwnChildren?: boolean | string
  recentReactionsLimit?: number | string
  reactionKindsFilter?: string[] | string
  /** The user whose reactions are "own" (`withUserId` is getstream's older spelling). */
  user_id?: string
  withUserId?: string
  /** The short form: `{ own, recent, counts, own_children, kinds, user_id, ranking_vars }`. */
  reactions?: Record<string, unknown>
  /** Ranked-feed options: Eddy ranks nothing, but takes them (and checks `rankingVars`) as Stream does. */
  ranking?: string
  rankingVars?: string | Record<string, string | number>
  ranking_vars?: string | Record<string, string | number>
  session?: string
  withScoreVars?: boolean
  refresh?: boolean
}

/** Every name `GetFeedOptions` has, for the run-time check of the embedded client's reads. */
export const GET_FEED_OPTIONS: readonly string[] = Object.keys({
  limit: true,
  offset: true,
  id_lt: true,
  id_lte: true,
  id_gt: true,
  id_gte: true,
  mark_seen: true,
  mark_read: true,
  enrich: true,
  withOwnReactions: true,
  ownReactions: true,
  withRecentReactions: true,
  withReactionCounts: true,
  withOwnChildren: true,
  recentReactionsLimit: true,
  reactionKindsFilter: true,
  user_id: true,
  withUserId: true,
  reactions: true,
  ranking: true,
  rankingVars: true,
  ranking_vars: true,
  session: true,
  withScoreVars: true,
  refresh: true,
} satisfies Record<keyof GetFeedOptions, true>)

/** A group of activities in an aggregated feed. */
export interface AggregatedGroup<A extends Activity = Activity> {
  id: string
  group: string
  verb: string
  activity_count: number
  actor_count: number
  created_at: string
  updated_at: string
  activities: A[]
}

/** A group in a notification feed. */
export interface NotificationGroup<A extends Activity = Activity> extends AggregatedGroup<A> {
  is_seen: boolean
  is_read: boolean
}

/**
 * A page of a feed as the engine reads it: results of the feed's kind, `unseen`/`unread` on
 * notification feeds (counted before any marking), and where the next page starts, if there may
 * be one. The wire (src/wire/responses.ts) makes Stream's response of it (`next` URL, `duration`).
 */
export interface FeedPage<A extends Activity = Activity> {
  results: A[] | AggregatedGroup<A>[] | NotificationGroup<A>[]
  unseen?: number
  unread?: number
  next?: NextPage
}

/** Default and maximum page size. */
export const DEFAULT_LIMIT = 25
export const MAX_LIMIT = 100
/**
 * Deepest accepted offset. Skipping costs about 0.2 us per entry on SQLite, so at 1,000 the
 * worst page costs ~0.25 ms more, where offset 1,000,000 held the server ~37 ms per read.
 * Deeper pages follow `next` (an `id_lt` cursor), which costs the same at any depth.
 */
export const MAX_OFFSET = 1_000

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

function cursor(value: unknown, field: string, grouped: boolean): string | undefined {
  if (value === undefined || value === null || value === '') return undefined
  if (typeof value !== 'string' || !UUID.test(value)) {
    throw inputError(`${field} must be an ${grouped ? 'group' : 'activity'} id (a UUID)`, value, field)
  }
  if (grouped) return value.toLowerCase()
  const sk = idToSk(value)
  if (!sk) throw inputError(`${field} must be an activity id (a version-1 UUID)`, value, field)
  return sk
}

/** The offset option: 0 to {@link MAX_OFFSET}; past it, a 400 that points to `id_lt`. */
function offsetOption(value: unknown): number {
  const n = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value
  if (typeof n === 'number' && Number.isInteger(n) && n > MAX_OFFSET) {
    throw inputError(
      `offset may be at most ${MAX_OFFSET}; page deeper with id_lt=<id of the last activity or group> (the response's next link)`,
      value,
      'offset',
    )
  }
  return intOption(value, 'offset', 0, MAX_OFFSET, 0)
}

/** Validates limit, offset and id_* options into a store page query. */
export function pageQuery(options: GetFeedOptions, grouped: boolean): PageQuery {
  const page: PageQuery = {
    limit: intOption(options.limit, 'limit', 0, MAX_LIMIT, DEFAULT_LIMIT),
    offset: offsetOption(options.offset),
  }
  for (const key of ['lt', 'lte', 'gt', 'gte'] as const) {
    const c = cursor(options[`id_${key}`], `id_${key}`, grouped)
    if (c !== undefined) page[key] = c
  }
  return page
}

/**
 * A group page query: each cursor is a group id, with the sort key the id names when read as an
 * activity id (a group named after an activity that has left it, or a plain activity id). An id
 * that names neither sorts before everything, so `id_lt` gives an empty page, never page one again.
 */
export function groupPageQuery(page: PageQuery): GroupPageQuery {
  const out: GroupPageQuery = { limit: page.limit, offset: page.offset }
  for (const bound of ['lt', 'lte', 'gt', 'gte'] as const) {
    const id = page[bound]
    if (id !== undefined) out[bound] = { id, sk: idToSk(id) ?? '' }
  }
  return out
}

/** Parses mark_seen / mark_read: true, a group id, a comma list or a list. */
export function markTarget(value: unknown, field: string): MarkTarget | undefined {
  // Any boolean spelling (stream-python sends mark_seen=True); a group id is never one of them.
  if (isFalseSpelling(value)) return undefined
  if (isTrueSpelling(value) || value === 'current') return true
  const ids = Array.isArray(value) ? value : typeof value === 'string' ? value.split(',') : undefined
  if (!ids || ids.some((id) => typeof id !== 'string')) {
    throw inputError(`${field} must be true, a group id or a list of group ids`, value, field)
  }
  const list = (ids as string[]).map((id) => id.trim()).filter((id) => id !== '')
  for (const id of list) {
    if (!UUID.test(id)) throw inputError(`${field} must list group ids (UUIDs)`, id, field)
  }
  return list.map((id) => id.toLowerCase())
}

/** Where the page after this one starts (an `id_lt` cursor), or undefined on the last page. */
export function nextPage(lastId: string | undefined, count: number, page: PageQuery): NextPage | undefined {
  if (!lastId || page.limit === 0 || count < page.limit) return undefined
  return { cursor: 'id_lt', id: lastId, limit: page.limit }
}

function toGroup(row: GroupRow): AggregatedGroup {
  const activities = row.activities.map((e) => readActivity(e.body, e.origin))
  return {
    id: row.id,
    group: row.group,
    verb: activities[0]?.verb ?? '',
    activity_count: row.activityCount,
    actor_count: row.actorCount,
    created_at: formatTime(skMicros(row.firstSk)),
    updated_at: formatTime(skMicros(row.lastSk)),
    activities,
  }
}

/** Who reads, for the reaction fields: the user token's user, and how their `next` links are made. */
export interface ReadContext {
  reader?: string
  /**
   * The links nested in reaction fields (`latest_reactions_extra`): Stream v1's are the wire's
   * `streamLinks()`. Without them, those `next` fields are empty.
   */
  links?: Links
}

/**
 * Reads a page of `feed`. Notification marks (`mark_seen`, `mark_read`) are applied after the
 * response is built, as Stream does: this response shows the state before them. Reaction flags
 * (`withOwnReactions`...) add the reaction fields to every activity (see `reaction-read.ts`).
 */
export async function readFeed(
  ctx: EngineContext,
  reactions: Reactions,
  feed: FeedRef,
  options: GetFeedOptions = {},
  context: ReadContext = {},
): Promise<FeedPage> {
  if (options === null || typeof options !== 'object')
    throw inputError('read options must be an object', options, 'options')
  const kind = feed.group.kind
  const page = pageQuery(options, kind !== 'flat')
  const flags = reactions.flags(options, context.reader)
  if (kind === 'flat') {
    const rows = await ctx.readFlatRows(feed, page)
    const results = rows.map((r) => readActivity(r.body, r.origin))
    if (flags) await reactions.addFields(results, flags, context.links ?? NO_LINKS)
    return { results, next: nextPage(results.at(-1)?.id, results.length, page) }
  }
  const seen = kind === 'notification' ? markTarget(options.mark_seen, 'mark_seen') : undefined
  const read = kind === 'notification' ? markTarget(options.mark_read, 'mark_read') : undefined
  // A notification read is one store call: the page, the counts before the marks, then the marks.
  const {
    groups: rows,
    unseen,
    unread,
  } = await ctx.readGroupRows(
    feed,
    groupPageQuery(page),
    kind === 'notification' ? { counts: true, seen, read } : undefined,
  )
  const groups = rows.map(toGroup)
  if (flags)
    await reactions.addFields(
      groups.flatMap((g) => g.activities),
      flags,
      context.links ?? NO_LINKS,
    )
  const next = nextPage(groups.at(-1)?.id, groups.length, page)
  if (kind === 'aggregated') return { results: groups, next }
  // Flags added in place (same key order as a copy): a spread with added keys costs ~1 us per group here.
  const results = groups.map((g, i) => Object.assign(g, { is_seen: rows[i].seen, is_read: rows[i].read }))
  return { results, unseen: unseen ?? 0, unread: unread ?? 0, next }
}
