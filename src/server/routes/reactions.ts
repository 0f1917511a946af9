/**
 * Reaction routes (stream-api.md §3.1 rows 21–27): add and addChild, get, filter by activity, user
 * or parent reaction, update, delete (hard or `soft=true`) and restore. The engine applies Stream's
 * rules: a user token reacts only as itself, changes only its own reactions, and targets only its
 * own feeds or notification feeds; reads are open.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { inputError } from '../../engine/errors.js'
import type { Links } from '../../engine/links.js'
import type { ReactionFilterOptions } from '../../engine/reaction-filter.js'
import { streamLinks } from '../../wire/links.js'
import { readerOf, userOf } from '../auth.js'
import { type Call, type Query, qbool, qlist, qstr, route, type ServerContext, timed } from '../context.js'
import { enrichActivities } from '../enrich-references.js'
import * as schema from '../schemas/reactions.js'

const FILTER_QUERY = [
  'limit',
  'id_lt',
  'id_lte',
  'id_gt',
  'id_gte',
  'with_activity_data',
  'with_own_children',
  'children_user_id',
  'filter_user_id',
] as const
const LOOKUPS = new Set(['activity_id', 'user_id', 'reaction_id'])

/** The links of reaction fields and pages: Stream's URLs on this server, as the client reached it. */
export function linksFor(request: FastifyRequest): Links {
  return streamLinks(`${request.protocol}://${request.headers.host ?? '127.0.0.1'}`)
}

function filterOptions(
  params: { lookup: string; value: string; kind?: string },
  query: Query,
): ReactionFilterOptions {
  if (!LOOKUPS.has(params.lookup))
    throw inputError('reactions are filtered by activity_id, user_id or reaction_id', params.lookup, 'lookup')
  const options: ReactionFilterOptions = { [params.lookup]: params.value }
  for (const name of FILTER_QUERY) {
    const v = qstr(query, name)
    if (v !== undefined) options[name] = v
  }
  // The client sends the kind in the path and again in the query; the path wins.
  const kind = params.kind ?? qstr(query, 'kind')
  if (kind !== undefined) options.kind = kind
  return options
}

/** `undefined` for a missing reaction (404); any other error is thrown on. */
function unlessMissing(error: unknown): undefined {
  if ((error as { status_code?: number })?.status_code === 404) return undefined
  throw error
}

/** Registers the reaction routes. */
export function reactionRoutes(app: FastifyInstance, ctx: ServerContext): void {
  const feedOf = () => '*'
  const resource = 'reactions'
  const base = '/api/v1.0/reaction/'
  const reactions = ctx.engine.reactions

  route(
    app,
    ctx,
    { method: 'POST', url: base, resource, feedOf, schema: schema.addReaction },
    async ({ principal, body }) => {
      const started = performance.now()
      const reader = readerOf(principal, ctx.publicRead)
      return timed(started, await reactions.add(body, userOf(principal), reader))
    },
  )

  // Reactions by id (stream-go2's GetReactions, stream-java's batch get): `{ reactions: [...] }`, ids
  // in the order asked, unknown ones left out; soft-deleted ones only with include_deleted (shown
  // with deleted_at, as `get` shows them), and to a user token only its own.
  route(
    app,
    ctx,
    { method: 'GET', url: `${base}get_many/`, resource, feedOf, schema: schema.getMany },
    async ({ principal, query }) => {
      const started = performance.now()
      // Each id once: a list naming one reaction 100 times would serialise its budgeted size 100 times.
      const ids = [...new Set(qlist(query, 'ids') ?? [])]
      if (ids.length === 0)
        throw inputError('give ids=<reaction id,reaction id> (at most 100)', query.ids, 'ids')
      const found = qbool(query, 'include_deleted')
        ? await Promise.all(ids.map((id) => reactions.get(id, userOf(principal)).catch(unlessMissing)))
        : ((m) => ids.map((id) => m.get(id)))(await reactions.getMany(ids))
      return timed(started, { reactions: found.filter((r) => r !== undefined) })
    },
  )

  // A soft-deleted reaction: to a user token only its own (reactions.get).
  route(
    app,
    ctx,
    { method: 'GET', url: `${base}:id/`, resource, feedOf, schema: schema.getReaction },
    async ({ principal, params }) => {
      const started = performance.now()
      return timed(started, await reactions.get(params.id, userOf(principal)))
    },
  )

  const filter = async ({ principal, params, query, request }: Call<typeof schema.filterReactions>) => {
    const started = performance.now()
    const page = await reactions.filter(filterOptions(params, query), userOf(principal), linksFor(request))
    // with_activity_data: the activity only for a reader that may read it (else left out, as a missing one).
    const reader = readerOf(principal, ctx.publicRead)
    if (page.activity && (await ctx.engine.readable(reader, [page.activity])).length === 0)
      delete page.activity
    if (page.activity) await enrichActivities(ctx, reader, [page.activity])
    return timed(started, page)
  }
  route(
    app,
    ctx,
    { method: 'GET', url: `${base}:lookup/:value/`, resource, feedOf, schema: schema.filterReactions },
    filter,
  )
  route(
    app,
    ctx,
    {
      method: 'GET',
      url: `${base}:lookup/:value/:kind/`,
      resource,
      feedOf,
      schema: schema.filterReactionsOfKind,
    },
    filter,
  )

  route(
    app,
    ctx,
    { method: 'PUT', url: `${base}:id/`, resource, feedOf, schema: schema.updateReaction },
    async ({ principal, params, body }) => {
      const started = performance.now()
      return timed(started, await reactions.update(params.id, body ?? {}, userOf(principal)))
    },
  )

  route(
    app,
    ctx,
    { method: 'DELETE', url: `${base}:id/`, resource, feedOf, schema: schema.deleteReaction },
    async ({ principal, params, query }) => {
      const started = performance.now()
      await reactions.delete(params.id, qbool(query, 'soft'), userOf(principal))
      return timed(started, {})
    },
  )

  route(
    app,
    ctx,
    { method: 'PUT', url: `${base}:id/restore/`, resource, feedOf, schema: schema.restoreReaction },
    async ({ principal, params }) => {
      const started = performance.now()
      await reactions.restore(params.id, userOf(principal))
      return timed(started, {})
    },
  )
}
