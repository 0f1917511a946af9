/** Follow routes: follow, unfollow, followers, following, follow stats, follow_many, unfollow_many. */
import type { FastifyInstance } from 'fastify'
import { inputError } from '../../engine/errors.js'
import { relations } from '../../wire/follows.js'
import { requireOwn, requireRead, requireServer } from '../auth.js'
import { qbool, qstr, route, type ServerContext, timed } from '../context.js'
import * as schema from '../schemas/follows.js'
import { verifyFeedToken } from '../signed-feeds.js'

/** Registers the follow routes. */
export function followRoutes(app: FastifyInstance, ctx: ServerContext): void {
  const feedScope = (p: Record<string, string>) => `${p.slug}:${p.id}`
  const base = '/api/v1.0/feed/:slug/:id/'
  const resource = 'follower'

  // Stream answers both `following/` (stream-js) and `follows/` (stream-python, -ruby, -go2, -php).
  for (const path of ['following', 'follows']) {
    const url = `${base}${path}/`
    route(
      app,
      ctx,
      { method: 'POST', url, resource, feedOf: feedScope, schema: schema.follow },
      async ({ principal, params, body }) => {
        const started = performance.now()
        const source = ctx.engine.feed(params.slug, params.id)
        requireOwn(principal, source)
        const target = ctx.engine.parseFeed(body.target, 'target')
        // A user token may make its feed follow only what it may read itself: a follow delivers the
        // target's activities (and, for a timeline, whom its owner follows) into a feed it reads.
        requireRead(principal, target, ctx.publicRead)
        // stream-python and stream-php sign the target; verified, never a permission (signed-feeds.ts).
        if (body.target_token !== undefined)
          await verifyFeedToken(ctx.auth, ctx.engine.groups, target, body.target_token, 'target_token')
        await ctx.engine.follow([{ source, target }], body.activity_copy_limit)
        return timed(started, {})
      },
    )

    route(
      app,
      ctx,
      { method: 'DELETE', url: `${url}:target/`, resource, feedOf: feedScope, schema: schema.unfollow },
      async ({ principal, params, query }) => {
        const feed = ctx.engine.feed(params.slug, params.id)
        requireOwn(principal, feed)
        const started = performance.now()
        const target = ctx.engine.parseFeed(params.target, 'target')
        await ctx.engine.unfollow([{ source: feed, target, keepHistory: qbool(query, 'keep_history') }])
        return timed(started, {})
      },
    )
  }

  for (const [path, direction] of [
    ['followers', 'followers'],
    ['following', 'following'],
    ['follows', 'following'],
  ] as const) {
    route(
      app,
      ctx,
      { method: 'GET', url: `${base}${path}/`, resource, feedOf: feedScope, schema: schema.listFollows },
      async ({ principal, params, query }) => {
        const feed = ctx.engine.feed(params.slug, params.id)
        requireOwn(principal, feed)
        const started = performance.now()
        // The engine parses the numbers and the filter (and says what is wrong with them).
        const options = { limit: query.limit, offset: query.offset, filter: query.filter }
        return timed(started, { results: relations(await ctx.engine.follows(feed, direction, options)) })
      },
    )
  }

  route(
    app,
    ctx,
    {
      method: 'GET',
      url: '/api/v1.0/stats/follow/',
      resource,
      // Every feed the call names must be in scope, not only `followers`; naming none is the handler's 400.
      feedOf: (_p, q) => [q.followers, q.following].filter((f) => typeof f === 'string'),
      schema: schema.followStats,
    },
    async ({ principal, query }) => {
      const started = performance.now()
      if (query.followers === undefined && query.following === undefined) {
        throw inputError('give followers=<feed id> and/or following=<feed id>', query, 'followers')
      }
      // Slugs in the filters must be configured groups, as everywhere (the engine checks them).
      const results: Record<string, { feed: string; count: number }> = {}
      for (const direction of ['followers', 'following'] as const) {
        const id = qstr(query, direction)
        if (id === undefined) continue
        const feed = ctx.engine.parseFeed(id, direction)
        requireRead(principal, feed, ctx.publicRead)
        const slugs = qstr(query, `${direction}_slugs`)
        const stats = await ctx.engine.followStats(
          feed,
          direction === 'followers' ? { followerSlugs: slugs } : { followingSlugs: slugs },
        )
        results[direction] = { feed: feed.id, count: stats[direction] }
      }
      return timed(started, { results })
    },
  )

  route(
    app,
    ctx,
    { method: 'POST', url: '/api/v1.0/follow_many/', resource, feedOf: () => '*', schema: schema.followMany },
    async ({ principal, query, body }) => {
      requireServer(principal)
      const started = performance.now()
      const pairs = body.map((f) => ({
        source: ctx.engine.parseFeed(f.source, 'source'),
        target: ctx.engine.parseFeed(f.target, 'target'),
      }))
      await ctx.engine.follow(pairs, query.activity_copy_limit)
      return timed(started, {})
    },
  )

  route(
    app,
    ctx,
    {
      method: 'POST',
      url: '/api/v1.0/unfollow_many/',
      resource,
      feedOf: () => '*',
      schema: schema.unfollowMany,
    },
    async ({ principal, body }) => {
      requireServer(principal)
      const started = performance.now()
      const pairs = body.map((f) => ({
        source: ctx.engine.parseFeed(f.source, 'source'),
        target: ctx.engine.parseFeed(f.target, 'target'),
        keepHistory: f.keep_history === true,
      }))
      await ctx.engine.unfollow(pairs)
      return timed(started, {})
    },
  )
}
