/** Sign in by picking a demo user, or create one. */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { createUser, findUser } from '../actions.js'
import { UserError } from '../context.js'
import { signIn, signOut } from '../session.js'
import { render } from '../views.js'

export async function authRoutes(app: FastifyInstance): Promise<void> {
  const ctx = app.chirp
  const page = async (
    request: FastifyRequest,
    reply: FastifyReply,
    extra: Record<string, unknown> = {},
    status = 200,
  ) => {
    const users = await ctx.users.find({ order: { name: 'ASC' } })
    return render(ctx, request, reply, 'signin', { title: 'Sign in', users, ...extra }, status)
  }

  app.get('/signin', async (request, reply) => {
    if (request.me) return reply.redirect('/', 303)
    return page(request, reply)
  })

  app.post('/signin', async (request, reply) => {
    const body = (request.body ?? {}) as Record<string, unknown>
    try {
      signIn(reply, await findUser(ctx, body.username))
      return reply.redirect('/', 303)
    } catch (error) {
      if (!(error instanceof UserError)) throw error
      return page(request, reply, { error: error.message }, error.status)
    }
  })

  app.post('/signup', async (request, reply) => {
    const body = (request.body ?? {}) as Record<string, unknown>
    try {
      const user = await createUser(ctx, { username: body.username, name: body.name, bio: body.bio })
      signIn(reply, user)
      return reply.redirect('/', 303)
    } catch (error) {
      if (!(error instanceof UserError)) throw error
      return page(request, reply, { error: error.message, form: body }, error.status)
    }
  })

  app.post('/signout', async (_request, reply) => {
    signOut(reply)
    return reply.redirect('/signin', 303)
  })
}
