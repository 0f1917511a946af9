/** Follow routes: follow, unfollow, followers, following, follow stats, follow_many, unfollow_many. */
import type { FastifyInstance } from 'fastify'
import { DEFAULT_COPY_LIMIT, intOption, MAX_COPY_LIMIT } from '../../engine/engine.js'
import { inputError } from '../../engine/errors.js'
import { requireOwn, requireRead, requireServer } from '../auth.js'
import { objectBody, onlyKeys, qbool, qstr, route, type ServerContext, timed } from '../context.js'

const SLUG = /^\w+$/
/** Most relations one follow_many or unfollow_many call may carry (Stream's limit). */
const MAX_FOLLOW_MANY = 2_500

function slugList(value: string | undefined, field: string): string[] | undefined {
  if (value === undefined || value === '') return undefined
  const slugs = value.split(',').map((s) => s.trim())
  if (slugs.length > 50 || slugs.some((s) => !SLUG.test(s) || s.length > 255)) {
    throw inputError(`${field} must be a comma-separated list of feed group names`, value, field)
  }
  return slugs
}

/** Registers the follow routes. */
export function followRoutes(app: FastifyInstance, ctx: ServerContext): void {
  const feedScope = (p: Record<string, string>) => p.slug + p.id
  const base = '/api/v1.0/feed/:slug/:id/'

  route(app, ctx, 'POST', `${base}following/`, 'follower', feedScope, async ({ principal, params, body }) => {
    const started = performance.now()
    const source = ctx.engine.feed(params.slug, params.id)
    requireOwn(principal, source)
    const input = objectBody(body, '{ target, activity_copy_limit }')
    onlyKeys(input, ['target', 'activity_copy_limit'], 'a follow')
    const target = ctx.engine.parseFeed(input.target, 'target')
    const limit = intOption(
      input.activity_copy_limit,
      'activity_copy_limit',
      0,
      MAX_COPY_LIMIT,
      DEFAULT_COPY_LIMIT,
    )
    await ctx.engine.follow([{ source, target }], limit)
    return timed(started, {})
  })

  route(
    app,
    ctx,
    'DELETE',
    `${base}following/:target/`,
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

  for (const direction of ['followers', 'following'] as const) {
    route(
      app,
      ctx,
      'GET',
      `${base}${direction}/`,
      'follower',
      feedScope,
      async ({ principal, params, query }) => {
        const feed = ctx.engine.feed(params.slug, params.id)
        requireOwn(principal, feed)
        const options = {
          limit: qstr(query, 'limit'),
          offset: qstr(query, 'offset'),
          filter: qstr(query, 'filter'),
        }
        return ctx.client.feed(feed.slug, feed.userId)[direction](options as never)
      },
    )
  }

  route(
    app,
    ctx,
    'GET',
    '/api/v1.0/stats/follow/',
    'follower',
    (_p, q) => (typeof q.followers === 'string' ? q.followers.replace(':', '') : '*'),
    async ({ principal, query }) => {
      const started = performance.now()
      if (qstr(query, 'followers') === undefined && qstr(query, 'following') === undefined) {
        throw inputError('give followers=<feed id> and/or following=<feed id>', query, 'followers')
      }
      // Slugs in the filters need not be configured groups: an unknown one simply counts 0.
      const results: Record<string, { feed: string; count: number }> = {}
      for (const direction of ['followers', 'following'] as const) {
        const id = qstr(query, direction)
        if (id === undefined) continue
        const feed = ctx.engine.parseFeed(id, direction)
        requireRead(principal, feed, ctx.publicRead)
        const slugs = slugList(qstr(query, `${direction}_slugs`), `${direction}_slugs`)
        results[direction] = {
          feed: feed.id,
          count: await ctx.engine.store.countFollows(feed.id, direction, slugs),
        }
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
