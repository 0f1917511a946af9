/** Home timeline, a chirp's thread, posting, replying, rechirping and liking. */
import type { FastifyInstance } from 'fastify'
import { like, postChirp, rechirp, unlike } from '../actions.js'
import { UserError } from '../context.js'
import { requireMe, safeBack } from '../session.js'
import { fail, showChirp, showHome } from './pages.js'

type Body = Record<string, unknown>

export async function chirpRoutes(app: FastifyInstance): Promise<void> {
  const ctx = app.chirp

  app.get('/', async (request, reply) => {
    if (!requireMe(request, reply)) return reply
    const query = request.query as Record<string, unknown>
    try {
      return await showHome(ctx, request, reply, query)
    } catch (error) {
      if (!(error instanceof UserError)) throw error
      return showHome(
        ctx,
        request,
        reply,
        { view: query.view },
        { error: error.message, status: error.status },
      )
    }
  })

  app.get<{ Params: { id: string } }>('/chirps/:id', async (request, reply) => {
    if (!requireMe(request, reply)) return reply
    return showChirp(ctx, request, reply, request.params.id)
  })

  app.post('/chirps', async (request, reply) => {
    const me = requireMe(request, reply)
    if (!me) return reply
    const body = (request.body ?? {}) as Body
    try {
      const chirp = await postChirp(ctx, me, {
        text: body.text,
        replyTo: body.replyTo || undefined,
        image: body.image,
      })
      return reply.redirect(chirp.replyToId ? `/chirps/${chirp.replyToId}` : safeBack(body.back), 303)
    } catch (error) {
      return fail(ctx, request, reply, error, { draft: typeof body.text === 'string' ? body.text : '' })
    }
  })

  const action = (path: string, act: typeof like | typeof rechirp | typeof unlike) =>
    app.post<{ Params: { id: string } }>(`/chirps/:id/${path}`, async (request, reply) => {
      const me = requireMe(request, reply)
      if (!me) return reply
      try {
        await act(ctx, me, request.params.id)
        return reply.redirect(safeBack((request.body as Body | undefined)?.back), 303)
      } catch (error) {
        return fail(ctx, request, reply, error)
      }
    })
  action('like', like)
  action('unlike', unlike)
  action('rechirp', rechirp)
}
