/**
 * `GET audit_logs/` as the official client's `client.auditLogs.filter` calls it: entries newest
 * first, by `entity_type` + `entity_id` and/or `user_id`, paged with `limit` and the `next`/`prev`
 * cursors of the previous page. Server tokens only: the log shows every user's changes.
 */
import type { FastifyInstance } from 'fastify'
import type { AuditEntityType } from '../../engine/audit.js'
import { auditEntry } from '../../engine/audit.js'
import { type Principal, requireServer, userOf } from '../auth.js'
import { qstr, route, type ServerContext, timed } from '../context.js'

const OPTIONS = ['entity_type', 'entity_id', 'user_id', 'limit', 'next', 'prev'] as const

/**
 * Logs changes to documents (users, collection entries) after they commit: the document seam's
 * writes take no extra rows, so these entries are a second write (see docs/server.md). `owner`
 * names who the change is about when a server token made it.
 */
export function auditDocuments(
  ctx: ServerContext,
  principal: Principal,
  entityType: Extract<AuditEntityType, 'user' | 'collection'>,
  changes: { id: string; action: string; owner?: string | null; custom?: Record<string, unknown> }[],
): Promise<void> {
  const user = userOf(principal)
  return ctx.engine.recordAudit(
    changes.map((c) => auditEntry(entityType, c.id, c.action, user ?? c.owner ?? '', c.custom ?? {})),
  )
}

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
