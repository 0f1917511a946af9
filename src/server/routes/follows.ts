/** Follow routes: follow, unfollow, followers, following, follow stats, follow_many, unfollow_many. */
import type { FastifyInstance } from 'fastify'
import { inputError } from '../../engine/errors.js'
import { requireOwn, requireRead, requireServer } from '../auth.js'
import { objectBody, onlyKeys, qbool, qstr, route, type ServerContext, timed } from '../context.js'
import { verifyFeedToken } from '../signed-feeds.js'

/** Most relations one follow_many or unfollow_many call may carry (Stream's limit). */
const MAX_FOLLOW_MANY = 2_500

/** Registers the follow routes. */
export function followRoutes(app: FastifyInstance, ctx: ServerContext): void {
  const feedScope = (p: Record<string, string>) => `${p.slug}:${p.id}`
  const base = '/api/v1.0/feed/:slug/:id/'

  // Stream answers both `following/` (stream-js) and `follows/` (stream-python, -ruby, -go2, -php).
  for (const path of ['following', 'follows']) {
    route(app, ctx, 'POST', `${base}${path}/`, 'follower', feedScope, async ({ principal, params, body }) => {
      const started = performance.now()
      const source = ctx.engine.feed(params.slug, params.id)
      requireOwn(principal, source)
      const input = objectBody(body, '{ target, activity_copy_limit }')
      onlyKeys(input, ['target', 'activity_copy_limit', 'target_token'], 'a follow')
      const target = ctx.engine.parseFeed(input.target, 'target')
      // A user token may make its feed follow only what it may read itself: a follow delivers the
      // target's activities (and, for a timeline, whom its owner follows) into a feed it reads.
      requireRead(principal, target, ctx.publicRead)
      // stream-python and stream-php sign the target; verified, never a permission (signed-feeds.ts).
      if (input.target_token !== undefined)
        await verifyFeedToken(ctx.auth, ctx.engine.groups, target, input.target_token, 'target_token')
      await ctx.engine.follow([{ source, target }], input.activity_copy_limit)
      return timed(started, {})
    })

    route(
      app,
      ctx,
      'DELETE',
      `${base}${path}/:target/`,
      'follower',
      feedScope,
      async ({ principal, params, query }) => {
        const feed = ctx.engine.feed(params.slug, params.id)
        requireOwn(principal, feed)
        const target = ctx.engine.parseFeed(params.target, 'target')
        return ctx.client
          .feed(feed.slug, feed.userId)
          .unfollow(target.slug, target.userId, { keepHistory: qbool(query, 'keep_history') })
      },
    )
  }

  for (const [path, direction] of [
    ['followers', 'followers'],
    ['following', 'following'],
    ['follows', 'following'],
  ] as const) {
    route(app, ctx, 'GET', `${base}${path}/`, 'follower', feedScope, async ({ principal, params, query }) => {
      const feed = ctx.engine.feed(params.slug, params.id)
      requireOwn(principal, feed)
      const options = {
        limit: qstr(query, 'limit'),
        offset: qstr(query, 'offset'),
        filter: qstr(query, 'filter'),
      }
      return ctx.client.feed(feed.slug, feed.userId)[direction](options as never)
    })
  }

  route(
    app,
    ctx,
    'GET',
    '/api/v1.0/stats/follow/',
    'follower',
    // Every feed the call names must be in scope, not only `followers`; naming none is the handler's 400.
    (_p, q) => [q.followers, q.following].filter((f) => typeof f === 'string'),
    async ({ principal, query }) => {
      const started = performance.now()
      if (qstr(query, 'followers') === undefined && qstr(query, 'following') === undefined) {
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
    'POST',
    '/api/v1.0/follow_many/',
    'follower',
    () => '*',
    async ({ principal, query, body }) => {
      requireServer(principal)
      if (!Array.isArray(body))
        throw inputError('the body must be a list of { source, target }', body, 'body')
      if (body.length > MAX_FOLLOW_MANY)
        throw inputError(`at most ${MAX_FOLLOW_MANY} follows per call`, body.length, 'body')
      for (const f of body) if (f && typeof f === 'object') onlyKeys(f, ['source', 'target'], 'a follow')
      const limit = qstr(query, 'activity_copy_limit')
      return ctx.client.followMany(body, limit === undefined ? undefined : (limit as never))
    },
  )

  route(
    app,
    ctx,
    'POST',
    '/api/v1.0/unfollow_many/',
    'follower',
    () => '*',
    async ({ principal, body }) => {
      requireServer(principal)
      if (!Array.isArray(body))
        throw inputError('the body must be a list of { source, target, keep_history }', body, 'body')
      if (body.length > MAX_FOLLOW_MANY)
        throw inputError(`at most ${MAX_FOLLOW_MANY} unfollows per call`, body.length, 'body')
      for (const f of body)
        if (f && typeof f === 'object') onlyKeys(f, ['source', 'target', 'keep_history'], 'an unfollow')
      return ctx.client.unfollowMany(body)
    },
  )
}
