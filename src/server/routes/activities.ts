/** Activity routes: get by ids or foreign_id + time (plain and enriched), full update, partial update. */
import type { FastifyInstance } from 'fastify'
import { inputError } from '../../engine/errors.js'
import { readableActivities } from '../../engine/read-policy.js'
import { partialUpdate } from '../../engine/updates.js'
import { readerOf, requireServer, userOf } from '../auth.js'
import { type Call, objectBody, onlyKeys, qlist, route, type ServerContext, timed } from '../context.js'
import { enrichActivities } from '../enrich.js'
import { reactionOptions } from '../reaction-query.js'
import { linkBase } from './reactions.js'

async function getActivities(
  ctx: ServerContext,
  { query, principal, request }: Call,
  enrich: boolean,
): Promise<object> {
  const ids = qlist(query, 'ids')
  const foreignIds = qlist(query, 'foreign_ids')
  const timestamps = qlist(query, 'timestamps')
  let response: { results: Record<string, unknown>[]; duration: string }
  if (ids !== undefined) {
    if (foreignIds !== undefined)
      throw inputError('give ids or foreign_ids + timestamps, not both', query, 'ids')
    response = await ctx.client.getActivities({ ids })
  } else if (foreignIds !== undefined && timestamps !== undefined) {
    if (foreignIds.length !== timestamps.length) {
      throw inputError(
        'foreign_ids and timestamps must list as many items',
        `${foreignIds.length} and ${timestamps.length}`,
        'timestamps',
      )
    }
    response = await ctx.client.getActivities({
      foreignIDTimes: foreignIds.map((f, i) => ({ foreign_id: f, time: timestamps[i] })),
    })
  } else {
    throw inputError('give ids=<id,id> or foreign_ids=<fid,fid>&timestamps=<time,time>', query, 'ids')
  }
  // A user token gets only the activities it may read; the others are left out as unknown ids are.
  const reader = readerOf(principal, ctx.publicRead)
  response.results = await readableActivities(ctx.engine, reader, response.results as never)
  // Reaction flags as on feed reads (enrich/ only, as on Stream; a bad rankingVars is a 400 on both).
  const flags = ctx.engine.reactions.flags(reactionOptions(query), userOf(principal))
  const base = linkBase(request)
  if (enrich && flags) await ctx.engine.reactions.addFields(response.results as never, flags, base)
  if (enrich) await enrichActivities(ctx, reader, response.results, 1, flags && { flags, base })
  return response
}

/** The keys of one partial update change. */
const CHANGE_KEYS = ['id', 'foreign_id', 'foreignId', 'time', 'set', 'unset']

/** Registers the activity routes. */
export function activityRoutes(app: FastifyInstance, ctx: ServerContext): void {
  const all = () => '*'
  route(app, ctx, 'GET', '/api/v1.0/activities/', 'activities', all, (call) =>
    getActivities(ctx, call, false),
  )
  route(app, ctx, 'GET', '/api/v1.0/enrich/activities/', 'activities', all, (call) =>
    getActivities(ctx, call, true),
  )

  route(app, ctx, 'POST', '/api/v1.0/activities/', 'activities', all, async ({ principal, body }) => {
    requireServer(principal)
    const input = objectBody(body, '{ activities: [...] }')
    onlyKeys(input, ['activities'], 'an activities update')
    return ctx.client.updateActivities(input.activities as never)
  })

  route(app, ctx, 'POST', '/api/v1.0/activity/', 'activities', all, async (call) => {
    const input = objectBody(call.body, '{ changes: [...] }')
    // One change at the top level, as stream-ruby, stream-go2 and stream-php send a single partial
    // update ({ id | foreign_id + time, set, unset }); the answer is then the activity itself.
    if (input.changes === undefined && (input.id !== undefined || input.foreign_id !== undefined)) {
      onlyKeys(input, CHANGE_KEYS, 'a partial update')
      const started = performance.now()
      const [activity] = await partialUpdate(ctx.engine, [input], userOf(call.principal))
      return timed(started, activity)
    }
    onlyKeys(input, ['changes'], 'a partial update')
    if (!Array.isArray(input.changes)) throw inputError('changes must be a list', input.changes, 'changes')
    for (const c of input.changes) {
      if (c && typeof c === 'object') onlyKeys(c, CHANGE_KEYS, 'a change')
    }
    const started = performance.now()
    // The engine checks, in the same optimistic write, that a user token changes only its own activities.
    const activities = await partialUpdate(ctx.engine, input.changes, userOf(call.principal))
    return timed(started, { activities })
  })
}
