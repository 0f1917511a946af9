/** Notifications: marked seen when the page opens, each group marked read when clicked. */
import type { FastifyInstance } from 'fastify'
import { UserError } from '../context.js'
import { isCursor, markRead } from '../feeds.js'
import { requireMe, safeBack } from '../session.js'
import { showNotifications } from './pages.js'

export async function notificationRoutes(app: FastifyInstance): Promise<void> {
  const ctx = app.chirp

  app.get('/notifications', async (request, reply) => {
    if (!requireMe(request, reply)) return reply
    try {
      return await showNotifications(ctx, request, reply, request.query as Record<string, unknown>)
    } catch (error) {
      if (!(error instanceof UserError)) throw error
      return showNotifications(ctx, request, reply, {}, { error: error.message, status: error.status })
    }
  })

  // The notification links go through here: mark the group read, then show what it is about.
  app.get<{ Params: { group: string }; Querystring: { to?: string } }>(
    '/notifications/:group/read',
    async (request, reply) => {
      const me = requireMe(request, reply)
      if (!me) return reply
      if (!isCursor(request.params.group)) {
        const info = { error: 'That notification link is not valid.', status: 400 }
        return showNotifications(ctx, request, reply, {}, info)
      }
      await markRead(me.id, request.params.group)
      return reply.redirect(safeBack(request.query.to, '/notifications'), 303)
    },
  )
}
