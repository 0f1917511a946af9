/** Profiles: a user's own feed, follow counts, follow and unfollow. */
import type { FastifyInstance } from 'fastify'
import { follow, unfollow } from '../actions.js'
import { UserError } from '../context.js'
import { requireMe, safeBack } from '../session.js'
import { fail, showProfile } from './pages.js'

type Params = { Params: { username: string } }
/** A follow form: where to go back to (checked by safeBack); a post may carry no form at all. */
type FollowForm = Params & { Body: { back?: unknown } | undefined }

export async function profileRoutes(app: FastifyInstance): Promise<void> {
  const ctx = app.chirp

  app.get<Params>('/u/:username', async (request, reply) => {
    if (!requireMe(request, reply)) return reply
    const query = request.query as Record<string, unknown>
    try {
      return await showProfile(ctx, request, reply, request.params.username, query)
    } catch (error) {
      if (!(error instanceof UserError)) throw error
      const info = { error: error.message, status: error.status }
      return showProfile(ctx, request, reply, request.params.username, {}, info)
    }
  })

  for (const [path, act] of [
    ['follow', follow],
    ['unfollow', unfollow],
  ] as const) {
    app.post<FollowForm>(`/u/:username/${path}`, async (request, reply) => {
      const me = requireMe(request, reply)
      if (!me) return reply
      try {
        const target = await act(ctx, me, request.params.username)
        return reply.redirect(safeBack(request.body?.back, `/u/${target.username}`), 303)
      } catch (error) {
        return fail(ctx, request, reply, error)
      }
    })
  }
}
