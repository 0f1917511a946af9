/** Activity routes: get by ids or foreign_id + time (plain and enriched), full update, partial update. */
import type { FastifyInstance } from 'fastify'
import type { Activity } from '../../engine/activity.js'
import { inputError } from '../../engine/errors.js'
import { readerOf, requireServer, userOf } from '../auth.js'
import { type Call, qlist, route, type ServerContext, timed } from '../context.js'
import { enrichActivities } from '../enrich-references.js'
import { reactionOptions } from '../reaction-query.js'
import * as schema from '../schemas/activities.js'
import { linksFor } from './reactions.js'

type GetCall = Call<ReturnType<typeof schema.getActivities>>

async function getActivities(ctx: ServerContext, { query, principal, request }: GetCall, enrich: boolean) {
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
  const links = linksFor(request)
  if (enrich && flags) await ctx.engine.reactions.addFields(results, flags, links)
  if (enrich) await enrichActivities(ctx, reader, results, 1, flags && { flags, links })
  return timed(started, { results })
}

/** Registers the activity routes. */
export function activityRoutes(app: FastifyInstance, ctx: ServerContext): void {
  const feedOf = () => '*'
  const resource = 'activities'
  route(
    app,
    ctx,
    { method: 'GET', url: '/api/v1.0/activities/', resource, feedOf, schema: schema.getActivities(false) },
    (call) => getActivities(ctx, call, false),
  )
  route(
    app,
    ctx,
    {
      method: 'GET',
      url: '/api/v1.0/enrich/activities/',
      resource,
      feedOf,
      schema: schema.getActivities(true),
    },
    (call) => getActivities(ctx, call, true),
  )

  route(
    app,
    ctx,
    { method: 'POST', url: '/api/v1.0/activities/', resource, feedOf, schema: schema.updateActivities },
    async ({ principal, body }) => {
      requireServer(principal)
      const started = performance.now()
      await ctx.engine.updateActivities(body.activities)
      return timed(started, {})
    },
  )

  route(
    app,
    ctx,
    { method: 'POST', url: '/api/v1.0/activity/', resource, feedOf, schema: schema.partialUpdate },
    async ({ principal, body }) => {
      const started = performance.now()
      // The engine checks, in the same optimistic write, that a user token changes only its own activities.
      if ('changes' in body) {
        const activities = await ctx.engine.partialUpdate(body.changes, userOf(principal))
        return timed(started, { activities })
      }
      // One change at the top level (stream-ruby, stream-go2, stream-php): the answer is the activity itself.
      const [activity] = await ctx.engine.partialUpdate([body], userOf(principal))
      return timed(started, activity)
    },
  )
}
