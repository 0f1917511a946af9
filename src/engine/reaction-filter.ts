/**
 * `reactions.filter`: a page of reactions of an activity, of a user, or under a reaction, with
 * Stream's cursors (`id_lt`/`id_lte` newest first, `id_gt`/`id_gte` oldest first), at most 25 per
 * page, and its `next` link.
 */
import type { ReactionQuery, ReactionStore, StoredReaction } from '../store/store.js'
import type { Activity } from './activity.js'
import { parseBoolean } from './booleans.js'
import { inputError } from './errors.js'
import { idToSk } from './ids.js'
import type { Links } from './links.js'
import type { Reaction, ReactionShaper } from './reaction-model.js'
import { type ReactionFlags, requireKind, requireUserId } from './reaction-read.js'

/** Default and largest page of `reactions.filter` (a larger limit gets 25, as on Stream). */
export const DEFAULT_FILTER_LIMIT = 10
export const MAX_FILTER_LIMIT = 25

/** What `reactions.filter` takes, as the official client names it. */
export type ReactionFilterOptions = {
  activity_id?: string
  user_id?: string
  reaction_id?: string
  kind?: string
  limit?: number | string
  id_lt?: string
  id_lte?: string
  id_gt?: string
  id_gte?: string
  with_activity_data?: boolean | string
  with_own_children?: boolean | string
  children_user_id?: string
  filter_user_id?: string
}

/** Every name `ReactionFilterOptions` has, for the run-time check of `client.reactions.filter()`. */
export const REACTION_FILTER_OPTIONS: readonly string[] = Object.keys({
  activity_id: true,
  user_id: true,
  reaction_id: true,
  kind: true,
  limit: true,
  id_lt: true,
  id_lte: true,
  id_gt: true,
  id_gte: true,
  with_activity_data: true,
  with_own_children: true,
  children_user_id: true,
  filter_user_id: true,
} satisfies Record<keyof ReactionFilterOptions, true>)

/** A page of reactions; `activity` with `with_activity_data`. */
export interface ReactionPage {
  results: Reaction[]
  next: string
  activity?: Activity
}

/** What a filter needs of the reaction engine. */
export interface FilterContext {
  store: ReactionStore
  shaper: ReactionShaper
  /** The activity with reaction fields for `reader` (`with_activity_data`), or undefined. */
  activity(id: string, flags: ReactionFlags): Promise<Activity | undefined>
}

const LOOKUPS = ['activity_id', 'user_id', 'reaction_id'] as const
const CURSORS = ['id_lt', 'id_lte', 'id_gt', 'id_gte'] as const

function limitOf(value: unknown): number {
  if (value === undefined || value === null || value === '') return DEFAULT_FILTER_LIMIT
  const n = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1)
    throw inputError('limit must be a positive integer (pages hold at most 25)', value, 'limit')
  return Math.min(n, MAX_FILTER_LIMIT)
}

/** Resolves cursor ids to order keys; an unknown id bounds nothing from below, and everything from above. */
async function bounds(store: ReactionStore, options: ReactionFilterOptions) {
  const given = CURSORS.filter((c) => options[c] !== undefined && options[c] !== null && options[c] !== '')
  for (const c of given) {
    const v = options[c]
    if (typeof v !== 'string' || v.length > 255) throw inputError(`${c} must be a reaction id`, v, c)
  }
  const found = await store.getReactions(given.map((c) => options[c] as string))
  const out: Pick<ReactionQuery, 'lt' | 'lte' | 'gt' | 'gte'> = {}
  let empty = false
  for (const c of given) {
    const id = options[c] as string
    // A reaction removed since is still a position when its id carries its time (Eddy's ids do).
    const rk = found.get(id)?.rk ?? idToSk(id)
    const bound = c.slice(3) as 'lt' | 'lte' | 'gt' | 'gte'
    if (rk !== undefined) out[bound] = rk
    // react-activity-feed sends id_gt=non-existant-<random> to ask for the oldest first.
    else if (bound === 'lt' || bound === 'lte') empty = true
  }
  const ascending =
    given.some((c) => c === 'id_gt' || c === 'id_gte') && !given.some((c) => c === 'id_lt' || c === 'id_lte')
  return { range: out, ascending, empty }
}

/** A page of reactions for `reader` (the user token's user, if any). */
export async function filterReactions(
  ctx: FilterContext,
  options: ReactionFilterOptions,
  reader: string | undefined,
  links: Links,
): Promise<ReactionPage> {
  if (options === null || typeof options !== 'object')
    throw inputError('filter options must be an object', options, 'options')
  const lookups = LOOKUPS.filter((l) => options[l] !== undefined && options[l] !== null && options[l] !== '')
  if (lookups.length !== 1)
    throw inputError('give exactly one of activity_id, user_id or reaction_id', lookups, 'activity_id')
  const lookup = lookups[0]
  const value = options[lookup]
  if (typeof value !== 'string' || value.length > 255)
    throw inputError(`${lookup} must be an id`, value, lookup)
  const kind = options.kind === undefined || options.kind === '' ? undefined : requireKind(options.kind)
  const limit = limitOf(options.limit)
  const withActivity = parseBoolean(options.with_activity_data, 'with_activity_data')
  const ownChildren = parseBoolean(options.with_own_children, 'with_own_children')
  const childrenUser =
    options.children_user_id === undefined || options.children_user_id === ''
      ? reader
      : requireUserId(options.children_user_id, 'children_user_id')
  const filterUser =
    options.filter_user_id === undefined || options.filter_user_id === ''
      ? undefined
      : requireUserId(options.filter_user_id, 'filter_user_id')
  const { range, ascending, empty } = await bounds(ctx.store, options)

  let query: ReactionQuery | undefined
  if (lookup === 'user_id') query = { userId: requireUserId(value, 'user_id'), limit: limit + 1 }
  else if (lookup === 'activity_id')
    query = { activityId: value, parent: '', userId: filterUser, limit: limit + 1 }
  else {
    const parent = (await ctx.store.getReactions([value])).get(value)
    if (parent && !parent.deleted)
      query = { activityId: parent.activityId, parent: value, userId: filterUser, limit: limit + 1 }
  }
  let rows: StoredReaction[] = []
  if (query && !empty) {
    ;[rows] = await ctx.store.listReactions([
      { ...query, ...range, ascending, kinds: kind === undefined ? undefined : [kind] },
    ])
  }
  const more = rows.length > limit
  rows = rows.slice(0, limit)
  const results = await ctx.shaper.show(rows, { ownUser: childrenUser, ownChildren })
  const page: ReactionPage = { results, next: '' }
  const last = rows.at(-1)
  if (more && last) {
    page.next = links.reactionFilter({
      cursor: ascending ? 'id_gt' : 'id_lt',
      id: last.id,
      limit,
      lookup,
      value,
      kind,
      ownChildren,
      childrenUser,
      filterUser,
    })
  }
  if (withActivity && lookup === 'activity_id') {
    const flags: ReactionFlags = {
      own: true,
      recent: true,
      counts: true,
      ownChildren,
      limit: 5,
      user: reader,
    }
    const activity = await ctx.activity(value, flags)
    if (activity) page.activity = activity
  }
  return page
}
