/** User routes: create (or get_or_create), get (with follow counts), update, delete, and the batch calls. */
import type { FastifyInstance } from 'fastify'
import { MAX_USERS } from '../../engine/bounds.js'
import { requireServer, userOf } from '../auth.js'
import { qbool, qlist, route, type ServerContext, timed } from '../context.js'
import * as schema from '../schemas/documents.js'

/** Registers the user routes: each calls the engine's users use cases (engine/users.ts). */
export function userRoutes(app: FastifyInstance, ctx: ServerContext): void {
  const feedOf = () => '*'
  const resource = 'users'
  const users = ctx.engine.users
  const one = '/api/v1.0/user/:id/'
  const many = '/api/v1.0/users/'

  route(
    app,
    ctx,
    { method: 'POST', url: '/api/v1.0/user/', resource, feedOf, schema: schema.createUser },
    async ({ principal, query, body }) => {
      const started = performance.now()
      const user = await users.create(body.id, body.data, {
        getOrCreate: qbool(query, 'get_or_create'),
        actor: userOf(principal),
      })
      return timed(started, user)
    },
  )

  route(
    app,
    ctx,
    { method: 'GET', url: one, resource, feedOf, schema: schema.getUser },
    async ({ params, query }) => {
      const started = performance.now()
      const withFollowCounts = qbool(query, 'with_follow_counts')
      return timed(started, await users.get(params.id, { withFollowCounts }))
    },
  )

  route(
    app,
    ctx,
    { method: 'PUT', url: one, resource, feedOf, schema: schema.updateUser },
    async ({ principal, params, body }) => {
      const started = performance.now()
      return timed(started, await users.update(params.id, body.data, userOf(principal)))
    },
  )

  route(
    app,
    ctx,
    { method: 'DELETE', url: one, resource, feedOf, schema: schema.deleteUser },
    async ({ principal, params }) => {
      const started = performance.now()
      await users.delete(params.id, userOf(principal))
      return timed(started, {})
    },
  )

  route(
    app,
    ctx,
    { method: 'POST', url: many, resource, feedOf, schema: schema.createUsers },
    async ({ principal, body }) => {
      requireServer(principal)
      const started = performance.now()
      return timed(started, { created_users: await users.createMany(body.users, body.override) })
    },
  )

  route(
    app,
    ctx,
    { method: 'GET', url: many, resource, feedOf, schema: schema.getUsers },
    async ({ principal, query }) => {
      requireServer(principal)
      const started = performance.now()
      return timed(started, { users: await users.getMany(qlist(query, 'ids', MAX_USERS) ?? []) })
    },
  )

  route(
    app,
    ctx,
    { method: 'DELETE', url: many, resource, feedOf, schema: schema.deleteUsers },
    async ({ principal, query }) => {
      requireServer(principal)
      const started = performance.now()
      return timed(started, {
        deleted_user_ids: await users.deleteMany(qlist(query, 'ids', MAX_USERS) ?? []),
      })
    },
  )
}
