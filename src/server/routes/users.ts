/** User routes: create (or get_or_create), get (with follow counts), update, delete, and the batch calls. */
import type { FastifyInstance } from 'fastify'
import { MAX_USERS } from '../../engine/users.js'
import { requireServer, userOf } from '../auth.js'
import { objectBody, onlyKeys, qbool, qlist, route, type ServerContext, timed } from '../context.js'

/** Registers the user routes: each calls the engine's users use cases (engine/users.ts). */
export function userRoutes(app: FastifyInstance, ctx: ServerContext): void {
  const all = () => '*'
  const users = ctx.engine.users

  route(app, ctx, 'POST', '/api/v1.0/user/', 'users', all, async ({ principal, query, body }) => {
    const started = performance.now()
    const input = objectBody(body, '{ id, data }')
    onlyKeys(input, ['id', 'data'], 'a user')
    const user = await users.create(input.id, input.data, {
      getOrCreate: qbool(query, 'get_or_create'),
      actor: userOf(principal),
    })
    return timed(started, user)
  })

  route(app, ctx, 'GET', '/api/v1.0/user/:id/', 'users', all, async ({ params, query }) => {
    const started = performance.now()
    return timed(
      started,
      await users.get(params.id, { withFollowCounts: qbool(query, 'with_follow_counts') }),
    )
  })

  route(app, ctx, 'PUT', '/api/v1.0/user/:id/', 'users', all, async ({ principal, params, body }) => {
    const started = performance.now()
    const input = objectBody(body, '{ data }')
    onlyKeys(input, ['data'], 'a user update')
    return timed(started, await users.update(params.id, input.data, userOf(principal)))
  })

  route(app, ctx, 'DELETE', '/api/v1.0/user/:id/', 'users', all, async ({ principal, params }) => {
    const started = performance.now()
    await users.delete(params.id, userOf(principal))
    return timed(started, {})
  })

  route(app, ctx, 'POST', '/api/v1.0/users/', 'users', all, async ({ principal, body }) => {
    requireServer(principal)
    const started = performance.now()
    const input = objectBody(body, '{ users: [{ id, data }], override }')
    onlyKeys(input, ['users', 'override'], 'a users batch')
    if (Array.isArray(input.users) && input.users.length <= MAX_USERS)
      for (const u of input.users) onlyKeys(objectBody(u, 'a list of { id, data }'), ['id', 'data'], 'a user')
    return timed(started, { created_users: await users.createMany(input.users, input.override) })
  })

  route(app, ctx, 'GET', '/api/v1.0/users/', 'users', all, async ({ principal, query }) => {
    requireServer(principal)
    const started = performance.now()
    return timed(started, { users: await users.getMany(qlist(query, 'ids', MAX_USERS) ?? []) })
  })

  route(app, ctx, 'DELETE', '/api/v1.0/users/', 'users', all, async ({ principal, query }) => {
    requireServer(principal)
    const started = performance.now()
    return timed(started, { deleted_user_ids: await users.deleteMany(qlist(query, 'ids', MAX_USERS) ?? []) })
  })
}
