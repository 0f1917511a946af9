/**
 * The reaction flags of a read's query string, as the official clients send them: axios repeats
 * list keys with brackets (`reactionKindsFilter[]=like&reactionKindsFilter[]=comment`), the Go
 * client sends a comma list; `rankingVars` is a JSON object (axios sends an object as
 * `rankingVars[key]=value`, an array as `rankingVars[]=...`, which is a 400 as on Stream).
 */
import { inputError } from '../engine/errors.js'
import { checkRankingVars } from '../engine/reaction-read.js'
import { type Query, qstr } from './context.js'

/** Single-valued reaction flags, by the names the clients send. */
const FLAGS = [
  'withOwnReactions',
  'ownReactions',
  'withRecentReactions',
  'withReactionCounts',
  'withOwnChildren',
  'recentReactionsLimit',
  'user_id',
  'withUserId',
  'rankingVars',
  'ranking_vars',
] as const

/** The reaction options of `query` for the engine (validating `rankingVars` on every read). */
export function reactionOptions(query: Query): Record<string, unknown> {
  const options: Record<string, unknown> = {}
  for (const name of FLAGS) {
    const v = qstr(query, name)
    if (v !== undefined) options[name] = v
  }
  for (const key of Object.keys(query)) {
    if (key === 'rankingVars[]' || key === 'ranking_vars[]')
      throw inputError(
        `${key.slice(0, -2)} must be a JSON object of ranking variables, not a list`,
        query[key],
        key.slice(0, -2),
      )
  }
  checkRankingVars(options.rankingVars)
  checkRankingVars(options.ranking_vars, 'ranking_vars')
  const kinds = query['reactionKindsFilter[]'] ?? query.reactionKindsFilter
  if (kinds !== undefined) options.reactionKindsFilter = kinds
  return options
}

/** The read's reaction flags as query parameters for its `next` link, so the next page is enriched alike. */
export function carriedFlags(query: Query): string {
  const params = new URLSearchParams()
  for (const name of FLAGS) {
    const v = qstr(query, name)
    if (v !== undefined && name !== 'rankingVars' && name !== 'ranking_vars') params.set(name, v)
  }
  const kinds = query['reactionKindsFilter[]'] ?? query.reactionKindsFilter
  if (kinds !== undefined) params.set('reactionKindsFilter', Array.isArray(kinds) ? kinds.join(',') : kinds)
  return params.toString()
}
