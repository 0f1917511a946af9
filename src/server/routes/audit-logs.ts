/**
 * `GET audit_logs/` as the official client's `client.auditLogs.filter` calls it: entries newest
 * first, by `entity_type` + `entity_id` and/or `user_id`, paged with `limit` and the `next`/`prev`
 * cursors of the previous page. Server tokens only: the log shows every user's changes.
 */
import type { FastifyInstance } from 'fastify'
import { requireServer } from '../auth.js'
import { qstr, route, type ServerContext, timed } from '../context.js'

const OPTIONS = ['entity_type', 'entity_id', 'user_id', 'limit', 'next', 'prev'] as const

/** Registers the audit-log route. */
export function auditLogRoutes(app: FastifyInstance, ctx: ServerContext): void {
  route(
    app,
    ctx,
    'GET',
    '/api/v1.0/audit_logs/',
    'audit_logs',
    () => '*',
    async ({ principal, query }) => {
      requireServer(principal)
      const started = performance.now()
      const options: Record<string, string> = {}
      for (const name of OPTIONS) {
        const v = qstr(query, name)
        if (v !== undefined) options[name] = v
      }
      return timed(started, await ctx.engine.auditLogs(options))
    },
  )
}
