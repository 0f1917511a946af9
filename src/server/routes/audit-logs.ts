/**
 * `GET audit_logs/` as the official client's `client.auditLogs.filter` calls it: entries newest
 * first, by `entity_type` + `entity_id` and/or `user_id`, paged with `limit` and the `next`/`prev`
 * cursors of the previous page. Server tokens only: the log shows every user's changes.
 */
import type { FastifyInstance } from 'fastify'
import { requireServer } from '../auth.js'
import { route, type ServerContext, timed } from '../context.js'
import { auditLogs } from '../schemas/documents.js'

/** Registers the audit-log route. */
export function auditLogRoutes(app: FastifyInstance, ctx: ServerContext): void {
  route(
    app,
    ctx,
    {
      method: 'GET',
      url: '/api/v1.0/audit_logs/',
      resource: 'audit_logs',
      feedOf: () => '*',
      schema: auditLogs,
    },
    async ({ principal, query }) => {
      requireServer(principal)
      const started = performance.now()
      const { entity_type, entity_id, user_id, limit, next, prev } = query
      // Only the options given: the engine tells a missing option from an empty one.
      const options = Object.fromEntries(
        Object.entries({ entity_type, entity_id, user_id, limit, next, prev }).filter(
          ([, v]) => v !== undefined,
        ),
      )
      return timed(started, await ctx.engine.auditLogs(options))
    },
  )
}
