/** Feed routes: read (plain and enriched), add, remove, `to` targets update, add_to_many. */
import type { FastifyInstance } from 'fastify'
import { MAX_BATCH } from '../../engine/engine.js'
import { inputError } from '../../engine/errors.js'
import type { GetFeedOptions } from '../../engine/read.js'
import { feedResponse } from '../../wire/responses.js'
import { readerOf, requireOwn, requireRead, requireServer, userOf } from '../auth.js'
import { type Call, type Query, qstr, RawJson, route, type ServerContext, timed } from '../context.js'
import { enrichActivities } from '../enrich-references.js'
import { plainReadJson } from '../fast-read.js'
import { carriedFlags, reactionOptions } from '../reaction-query.js'
import * as schema from '../schemas/feeds.js'
import { unsignActivity } from '../signed-feeds.js'
import { checkUserBatch, checkUserTargetUpdates } from '../user-limits.js'
import { linksFor } from './reactions.js'

const READ_OPTIONS = [
  'limit',
  'offset',
  'id_lt',
  'id_lte',
  'id_gt',
  'id_gte',
  'mark_seen',
  'mark_read',
] as const

/** The read options the engine understands, each a single string; others (ranking, flags) are ignored. */
export function readOptions(query: Query): GetFeedOptions {
  const options: GetFeedOptions = {}
  for (const name of READ_OPTIONS) {
    const v = qstr(query, name)
    if (v !== undefined) options[name] = v
  }
  return options
}

async function read(ctx: ServerContext, call: Call, enrich: boolean): Promise<object> {
  const feed = ctx.engine.feed(call.params.slug, call.params.id)
  requireRead(call.principal, feed, ctx.publicRead)
  const options = readOptions(call.query)
  // Validated on both paths (a bad rankingVars is a 400); reaction fields only on enrich/, as on Stream.
  const reactions = reactionOptions(call.query)
  // Plain reads carry no reaction fields, so their bytes depend only on the feed and the page.
  if (!enrich) return new RawJson(await plainReadJson(ctx.engine, ctx.pages, feed, options))
  const started = performance.now()
  const links = linksFor(call.request)
  const page = await ctx.engine.readFeed(
    feed,
    { ...options, ...reactions },
    { reader: userOf(call.principal), links },
  )
  const results = page.results as unknown as Record<string, unknown>[]
  // Embedded (SA:) activities get the same reaction fields, for the same reader.
  const flags = ctx.engine.reactions.flags(reactions, userOf(call.principal))
  const embedded = flags && { flags, links }
  const reader = readerOf(call.principal, ctx.publicRead)
  if (feed.group.kind === 'flat') await enrichActivities(ctx, reader, results, 1, embedded)
  else
    await enrichActivities(
      ctx,
      reader,
      results.flatMap((g) => g.activities as Record<string, unknown>[]),
      1,
      embedded,
    )
  // The next page is enriched alike: same path, same reaction flags.
  return feedResponse(page, feed, started, { enrich: true, carry: carriedFlags(call.query) })
}

/** Registers the feed routes. */
export function feedRoutes(app: FastifyInstance, ctx: ServerContext): void {
  const feedOf = (p: Record<string, string>) => `${p.slug}:${p.id}`
  const resource = 'feed'

  route(
    app,
    ctx,
    { method: 'GET', url: '/api/v1.0/feed/:slug/:id/', resource, feedOf, schema: schema.readFeed(false) },
    (call) => read(ctx, call, false),
  )
  route(
    app,
    ctx,
    {
      method: 'GET',
      url: '/api/v1.0/enrich/feed/:slug/:id/',
      resource,
      feedOf,
      schema: schema.readFeed(true),
    },
    (call) => read(ctx, call, true),
  )

  route(
    app,
    ctx,
    { method: 'POST', url: '/api/v1.0/feed/:slug/:id/', resource, feedOf, schema: schema.addActivities },
    async ({ principal, params, body }) => {
      const started = performance.now()
      const feed = ctx.engine.feed(params.slug, params.id)
      requireOwn(principal, feed)
      // The engine checks what a user token may add (its actor, its targets, whose foreign_id).
      const user = userOf(principal)
      // A batch is `{ activities: [...] }` (the schema tells the two apart: a single activity has a verb).
      if ('activities' in body && Array.isArray(body.activities) && !('verb' in body)) {
        checkUserBatch(principal, body.activities)
        // Signed `to` targets ("user:1 <token>", stream-python and stream-php) are verified, then plain.
        // An oversized batch goes to the engine as it is, for its 400.
        const batch: unknown[] = body.activities.length > MAX_BATCH ? body.activities : []
        if (batch.length === 0) for (const a of body.activities) batch.push(await unsignActivity(ctx, a))
        const activities = await ctx.engine.addActivities(feed, batch, user, ctx.adds)
        return timed(started, { activities })
      }
      const [activity] = await ctx.engine.addActivities(
        feed,
        [await unsignActivity(ctx, body)],
        user,
        ctx.adds,
      )
      return timed(started, activity)
    },
  )

  route(
    app,
    ctx,
    {
      method: 'DELETE',
      url: '/api/v1.0/feed/:slug/:id/:activityId/',
      resource,
      feedOf,
      schema: schema.removeActivity,
    },
    async (call) => {
      const feed = ctx.engine.feed(call.params.slug, call.params.id)
      requireOwn(call.principal, feed)
      const started = performance.now()
      const id = call.params.activityId
      const byForeignId = call.query.foreign_id
      // The user is passed for the audit log: who removed it.
      const user = userOf(call.principal)
      if (byForeignId !== undefined && byForeignId !== '0' && byForeignId !== 'false') {
        if (id.length > 255) throw inputError('foreign_id must be at most 255 characters', id, 'foreign_id')
        await ctx.engine.removeByForeignId(feed, id, user)
      } else await ctx.engine.removeById(feed, id, user)
      return timed(started, { removed: id })
    },
  )

  route(
    app,
    ctx,
    {
      method: 'POST',
      url: '/api/v1.0/feed_targets/:slug/:id/activity_to_targets/',
      resource: 'feed_targets',
      feedOf,
      schema: schema.updateTargets,
    },
    async ({ principal, params, body }) => {
      const started = performance.now()
      const feed = ctx.engine.feed(params.slug, params.id)
      requireOwn(principal, feed)
      // The client sends a list when it updates several activities at once.
      const items = Array.isArray(body) ? body : [body]
      checkUserTargetUpdates(principal, items)
      let last: object = {}
      for (const item of items) {
        // The engine checks that a user token re-targets only its own direct activity, to allowed feeds.
        const result = await ctx.engine.updateToTargets(
          feed,
          item.foreign_id,
          item.time,
          {
            new_targets: item.new_targets,
            added_targets: item.added_targets,
            removed_targets: item.removed_targets,
          },
          userOf(principal),
        )
        // Stream nests the activity (stream-python reads ret["activity"], stream-go2 decodes
        // `activity`); stream-js's types read its fields at the top level. Both are sent.
        last = { ...result.activity, activity: result.activity, added: result.added, removed: result.removed }
      }
      return timed(started, last)
    },
  )

  route(
    app,
    ctx,
    {
      method: 'POST',
      url: '/api/v1.0/feed/add_to_many/',
      resource,
      feedOf: () => '*',
      schema: schema.addToMany,
    },
    async ({ principal, body }) => {
      requireServer(principal)
      const started = performance.now()
      await ctx.engine.addToMany(body.activity, body.feeds)
      return timed(started, {})
    },
  )
}
