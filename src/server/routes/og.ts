/**
 * `GET og/?url=`: the link preview of a page (src/uploads/og.ts: SSRF-checked fetch, byte cap,
 * deadline, cache), for any user or server token.
 */
import type { FastifyInstance } from 'fastify'
import type { OpenGraph } from '../../uploads/og.js'
import { qstr, route, type ServerContext, timed } from '../context.js'
import { openGraph } from '../schemas/uploads.js'

/** Registers og/. */
export function ogRoutes(app: FastifyInstance, ctx: ServerContext, og: OpenGraph): void {
  route(
    app,
    ctx,
    { method: 'GET', url: '/api/v1.0/og/', resource: 'url', feedOf: () => '*', schema: openGraph },
    async ({ query }) => {
      const started = performance.now()
      return timed(started, await og.scrape(qstr(query, 'url')))
    },
  )
}
