/** Activity routes: get by ids or foreign_id + time (plain and enriched), full update, partial update. */
import type { FastifyInstance } from 'fastify'
import type { Activity } from '../../engine/activity.js'
import { inputError } from '../../engine/errors.js'
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
  const started = performance.now()
  let found: Activity[]
  if (ids !== undefined) {
    if (foreignIds !== undefined)
      throw inputError('give ids or foreign_ids + timestamps, not both', query, 'ids')
    found = await ctx.engine.getActivities(ids)
  } else if (foreignIds !== undefined && timestamps !== undefined) {
    if (foreignIds.length !== timestamps.length) {
      throw inputError(
        'foreign_ids and timestamps must list as many items',
        `${foreignIds.length} and ${timestamps.length}`,
        'timestamps',
      )
    }
    found = await ctx.engine.getActivitiesByForeignIds(
      foreignIds.map((f, i) => ({ foreign_id: f, time: timestamps[i] })),
    )
  } else {
    throw inputError('give ids=<id,id> or foreign_ids=<fid,fid>&timestamps=<time,time>', query, 'ids')
  }
  // A user token gets only the activities it may read; the others are left out as unknown ids are.
  const reader = readerOf(principal, ctx.publicRead)
  const results = await ctx.engine.readable(reader, found)
  // Reaction flags as on feed reads (enrich/ only, as on Stream; a bad rankingVars is a 400 on both).
  const flags = ctx.engine.reactions.flags(reactionOptions(query), userOf(principal))
  const base = linkBase(request)
  if (enrich && flags) await ctx.engine.reactions.addFields(results, flags, base)
  if (enrich) await enrichActivities(ctx, reader, results, 1, flags && { flags, base })
  return timed(started, { results })
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
    const started = performance.now()
    await ctx.engine.updateActivities(input.activities)
    return timed(started, {})
  })

  route(app, ctx, 'POST', '/api/v1.0/activity/', 'activities', all, async (call) => {
    const input = objectBody(call.body, '{ changes: [...] }')
    // One change at the top level, as stream-ruby, stream-go2 and stream-php send a single partial
    // update ({ id | foreign_id + time, set, unset }); the answer is then the activity itself.
    if (input.changes === undefined && (input.id !== undefined || input.foreign_id !== undefined)) {
      onlyKeys(input, CHANGE_KEYS, 'a partial update')
      const started = performance.now()
      const [activity] = await ctx.engine.partialUpdate([input], userOf(call.principal))
      return timed(started, activity)
    }
    onlyKeys(input, ['changes'], 'a partial update')
    if (!Array.isArray(input.changes)) throw inputError('changes must be a list', input.changes, 'changes')
    for (const c of input.changes) {
      if (c && typeof c === 'object') onlyKeys(c, CHANGE_KEYS, 'a change')
    }
    const started = performance.now()
    // The engine checks, in the same optimistic write, that a user token changes only its own activities.
    const activities = await ctx.engine.partialUpdate(input.changes, userOf(call.principal))
    return timed(started, { activities })
  })
}
