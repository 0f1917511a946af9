/**
 * `GET og/?url=`: the link preview of a page (src/uploads/og.ts: SSRF-checked fetch, byte cap,
 * deadline, cache), for any user or server token.
 */
import type { FastifyInstance } from 'fastify'
import type { OpenGraph } from '../../uploads/og.js'
import { qstr, route, type ServerContext, timed } from '../context.js'

/** Registers og/. */
export function ogRoutes(app: FastifyInstance, ctx: ServerContext, og: OpenGraph): void {
  route(
    app,
    ctx,
    'GET',
    '/api/v1.0/og/',
    'url',
    () => '*',
    async ({ query }) => {
      const started = performance.now()
      return timed(started, await og.scrape(qstr(query, 'url')))
    },
  )
}
