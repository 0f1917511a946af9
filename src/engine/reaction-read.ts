/**
 * Reaction reads: the enrichment flags of feed and activity reads (`withOwnReactions`,
 * `withRecentReactions`, `withReactionCounts`, `withOwnChildren`, `recentReactionsLimit`,
 * `reactionKindsFilter`, `user_id`, and the client's `reactions: {...}` shorthand), the fields they
 * add to activities, and `reactions.filter` pages. Each page of activities costs a fixed number of
 * store calls, whatever its size.
 */
import type { ReactionQuery, ReactionStore, StoredReaction } from '../store/store.js'
import type { Activity } from './activity.js'
import { parseBoolean } from './booleans.js'
import { inputError } from './errors.js'
import type { Links } from './links.js'
import { intOption } from './options.js'
import { loadedKinds, ReactionBytes, shownKinds } from './reaction-budget.js'
import { byKind, type Reaction, type ReactionShaper } from './reaction-model.js'

/** Default and largest number of reactions per kind in `latest_reactions` and `own_reactions`. */
export const DEFAULT_RECENT_LIMIT = 5
export const MAX_RECENT_LIMIT = 25

/** Reaction kinds: letters, digits, `_`, `-`, `.` and `:`, as they travel in URL paths. */
const KIND = /^[\w.:-]+$/
/** Longest reaction kind. */
export const MAX_KIND_LENGTH = 255
/** User ids, as the server's users API takes them. */
export const USER_ID = /^[\w-]+$/

/** What a read asks about reactions, parsed. */
export interface ReactionFlags {
  own: boolean
  recent: boolean
  counts: boolean
  ownChildren: boolean
  /** Reactions per kind in `latest_reactions` and `own_reactions`. */
  limit: number
  /** Only these kinds (`reactionKindsFilter`). */
  kinds?: string[]
  /** Whose reactions are "own": the user token's, else `user_id` / `withUserId`. */
  user?: string
}

/** Throws 400 unless `kind` is a valid reaction kind; returns it. */
export function requireKind(kind: unknown, field = 'kind'): string {
  if (typeof kind !== 'string' || kind.length === 0 || kind.length > MAX_KIND_LENGTH || !KIND.test(kind)) {
    throw inputError(`${field} must be 1 to ${MAX_KIND_LENGTH} letters, digits, _, -, . or :`, kind, field)
  }
  return kind
}

/** Throws 400 unless `id` is a user id (letters, digits, - and _, at most 255); returns it. */
export function requireUserId(id: unknown, field: string): string {
  if (typeof id !== 'string' || id.length === 0 || id.length > 255 || !USER_ID.test(id))
    throw inputError(`${field} must be a user id: letters, digits, - or _ (at most 255)`, id, field)
  return id
}

function kindList(value: unknown, field: string): string[] | undefined {
  if (value === undefined || value === null || value === '') return undefined
  const items = Array.isArray(value) ? value : typeof value === 'string' ? value.split(',') : undefined
  if (!items) throw inputError(`${field} must be a list of reaction kinds`, value, field)
  if (items.length > 100) throw inputError(`${field} may name at most 100 kinds`, items.length, field)
  return items.map((k) => requireKind(typeof k === 'string' ? k.trim() : k, field))
}

/**
 * Validates `rankingVars` (a JSON object, as text or as an object): Eddy ranks nothing, but a
 * malformed value is a 400, as on Stream.
 */
export function checkRankingVars(value: unknown, field = 'rankingVars'): void {
  if (value === undefined || value === null || value === '') return
  let parsed = value
  if (typeof value === 'string') {
    try {
      parsed = JSON.parse(value)
    } catch {
      throw inputError(`${field} must be a JSON object of ranking variables`, value, field)
    }
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed))
    throw inputError(`${field} must be a JSON object of ranking variables`, value, field)
}

/**
 * The reaction flags of read `options`, or undefined when the read asks for no reaction field.
 * `reader` is the user token's user: it decides "own" (a server names one with `user_id`).
 */
export function reactionFlags(options: Record<string, unknown>, reader?: string): ReactionFlags | undefined {
  const o = { ...options }
  const short = o.reactions
  if (short !== undefined && short !== null) {
    if (typeof short !== 'object' || Array.isArray(short))
      throw inputError('reactions must be an object like { own, recent, counts }', short, 'reactions')
    const r = short as Record<string, unknown>
    const alias = {
      own: 'withOwnReactions',
      recent: 'withRecentReactions',
      counts: 'withReactionCounts',
    } as const
    for (const [from, to] of Object.entries(alias)) if (r[from] !== undefined) o[to] = r[from]
    if (r.own_children !== undefined) o.withOwnChildren = r.own_children
    if (r.kinds !== undefined) o.reactionKindsFilter = r.kinds
    if (r.user_id !== undefined) o.withUserId = r.user_id
    if (r.ranking_vars !== undefined) o.rankingVars = r.ranking_vars
  }
  checkRankingVars(o.rankingVars)
  checkRankingVars(o.ranking_vars, 'ranking_vars')
  const own = parseBoolean(o.withOwnReactions ?? o.ownReactions, 'withOwnReactions')
  const recent = parseBoolean(o.withRecentReactions, 'withRecentReactions')
  const counts = parseBoolean(o.withReactionCounts, 'withReactionCounts')
  const ownChildren = parseBoolean(o.withOwnChildren, 'withOwnChildren')
  const limit = intOption(
    o.recentReactionsLimit,
    'recentReactionsLimit',
    1,
    MAX_RECENT_LIMIT,
    DEFAULT_RECENT_LIMIT,
  )
  const kinds = kindList(o.reactionKindsFilter ?? o['reactionKindsFilter[]'], 'reactionKindsFilter')
  const named = o.user_id ?? o.withUserId
  const user = reader ?? (named === undefined || named === '' ? undefined : requireUserId(named, 'user_id'))
  if (!own && !recent && !counts) return undefined
  return { own, recent, counts, ownChildren, limit, kinds, user }
}

/**
 * Adds the reaction fields `flags` asks for to each activity (in place), in a few store calls,
 * within the read budgets (`reaction-budget.ts`): the most reacted kinds only, and as many of
 * their newest reactions as fit; `latest_reactions_extra` links to the rest.
 */
export async function addReactionFields(
  store: ReactionStore,
  shaper: ReactionShaper,
  activities: Activity[],
  flags: ReactionFlags,
  links: Links,
): Promise<void> {
  const byId = new Map<string, Activity[]>()
  for (const a of activities) byId.set(a.id, [...(byId.get(a.id) ?? []), a])
  const ids = [...byId.keys()]
  if (ids.length === 0) return
  const nodes = ids.map((id) => ({ activityId: id, parent: '' }))
  const wantOwn = flags.own && flags.user !== undefined
  // Counts first: they choose the kinds shown and bound the rows the lists may load.
  const counts = await store.countReactions(nodes)
  const kinds = counts.map((c) => shownKinds(c, flags.kinds))
  const lists = (flags.recent ? 1 : 0) + (wantOwn ? 1 : 0)
  const loaded = loadedKinds(kinds, counts, flags.limit, lists)
  const listed = nodes.flatMap((n, i) => (loaded[i].length > 0 ? [{ ...n, i }] : []))
  const perKind = (userId?: string): ReactionQuery[] =>
    listed.map(({ activityId, parent, i }) => ({
      activityId,
      parent,
      userId,
      kinds: loaded[i],
      perKind: true,
      limit: flags.limit,
    }))
  const [latestListed, ownListed] = await Promise.all([
    flags.recent && listed.length > 0 ? store.listReactions(perKind()) : [],
    wantOwn && listed.length > 0 ? store.listReactions(perKind(flags.user)) : [],
  ])
  const latest: StoredReaction[][] = nodes.map(() => [])
  const own: StoredReaction[][] = nodes.map(() => [])
  listed.forEach(({ i }, j) => {
    latest[i] = latestListed[j] ?? []
    own[i] = ownListed[j] ?? []
  })
  const rows = [...new Map([...latest.flat(), ...own.flat()].map((r) => [r.id, r])).values()]
  const shown = await shaper.show(rows, { ownUser: flags.user, ownChildren: flags.ownChildren })
  const reactions = new Map<string, Reaction>(shown.map((r) => [r.id, r]))
  const bytes = new ReactionBytes()
  // Each kind's list keeps its newest reactions that fit; the reader's own are served first.
  // Built with fromEntries (own keys), so a kind named __proto__ stays a kind.
  const fit = (id: string, list: StoredReaction[]): Record<string, Reaction[]> => {
    const out: [string, Reaction[]][] = []
    for (const [kind, group] of Object.entries(byKind(list.flatMap((r) => reactions.get(r.id) ?? [])))) {
      const kept = bytes.keep(id, group, byId.get(id)?.length ?? 0)
      if (kept.length > 0) out.push([kind, kept])
    }
    return Object.fromEntries(out)
  }
  ids.forEach((id, i) => {
    const fields: Record<string, unknown> = {}
    const counted = Object.fromEntries(kinds[i].map((kind) => [kind, counts[i][kind]]))
    if (flags.own) fields.own_reactions = fit(id, own[i])
    if (flags.recent) {
      const recent = fit(id, latest[i])
      fields.latest_reactions = recent
      const extra = Object.fromEntries(
        Object.entries(recent).map(([kind, list]) => {
          const more = (Object.hasOwn(counted, kind) ? counted[kind] : 0) > list.length
          return [
            kind,
            {
              next: more
                ? links.activityReactions(id, kind, {
                    cursor: 'id_lt',
                    id: list[list.length - 1].id,
                    limit: flags.limit,
                  })
                : '',
            },
          ]
        }),
      )
      fields.latest_reactions_extra = extra
    }
    if (flags.counts) fields.reaction_counts = counted
    for (const activity of byId.get(id) ?? []) Object.assign(activity, fields)
  })
}
