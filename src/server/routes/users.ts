/** User routes: create (or get_or_create), get (with follow counts), update, delete, and the batch calls. */
import type { FastifyInstance } from 'fastify'
import { inputError, notFound } from '../../engine/errors.js'
import { requireServer, userOf } from '../auth.js'
import { objectBody, onlyKeys, qbool, qlist, route, type ServerContext, timed } from '../context.js'
import { requireData, requireId, USER_KIND, userObject } from '../docs.js'
import { conflict, notAllowed } from '../errors.js'
import { auditDocuments } from './audit-logs.js'

/** Most users one batch call may carry. */
const MAX_USERS = 100

/** Registers the user routes. */
export function userRoutes(app: FastifyInstance, ctx: ServerContext): void {
  const all = () => '*'
  const store = ctx.engine.documents
  const self = (principal: Parameters<typeof userOf>[0], id: string) => {
    const user = userOf(principal)
    if (user !== undefined && user !== id) throw notAllowed()
  }

  route(app, ctx, 'POST', '/api/v1.0/user/', 'users', all, async ({ principal, query, body }) => {
    const started = performance.now()
    const input = objectBody(body, '{ id, data }')
    onlyKeys(input, ['id', 'data'], 'a user')
    const id = requireId(input.id, 'id')
    self(principal, id)
    const data = requireData(input.data ?? {}, 'data', false)
    const doc = await store.putDoc(USER_KIND, id, data, 'insert')
    if (doc) {
      await auditDocuments(ctx, principal, 'user', [{ id, action: 'created', owner: id }])
      return timed(started, userObject(doc))
    }
    // get_or_create returns the existing user unchanged and ignores the new data.
    if (!qbool(query, 'get_or_create')) throw conflict(`user ${id} already exists`)
    const [existing] = await store.getDocs(USER_KIND, [id])
    if (!existing) throw conflict(`user ${id} was deleted while being created; retry`)
    return timed(started, userObject(existing))
  })

  route(app, ctx, 'GET', '/api/v1.0/user/:id/', 'users', all, async ({ params, query }) => {
    const started = performance.now()
    const id = requireId(params.id, 'id')
    const [doc] = await store.getDocs(USER_KIND, [id])
    if (!doc) throw notFound(`user ${id} does not exist`)
    const user: Record<string, unknown> = { ...userObject(doc) }
    if (qbool(query, 'with_follow_counts')) {
      // Stream counts followers of user:<id> and follows of timeline:<id> (stream-api.md §3.5).
      const stats = (slug: string) =>
        ctx.engine.groups.has(slug)
          ? ctx.engine.followStats(ctx.engine.feed(slug, id))
          : Promise.resolve({ followers: 0, following: 0 })
      const [followers, following] = await Promise.all([
        stats('user').then((s) => s.followers),
        stats('timeline').then((s) => s.following),
      ])
      user.followers_count = followers
      user.following_count = following
    }
    return timed(started, user)
  })

  route(app, ctx, 'PUT', '/api/v1.0/user/:id/', 'users', all, async ({ principal, params, body }) => {
    const started = performance.now()
    const id = requireId(params.id, 'id')
    self(principal, id)
    const input = objectBody(body, '{ data }')
    onlyKeys(input, ['data'], 'a user update')
    const doc = await store.putDoc(USER_KIND, id, requireData(input.data ?? {}, 'data', false), 'update')
    if (!doc) throw notFound(`user ${id} does not exist`)
    await auditDocuments(ctx, principal, 'user', [{ id, action: 'updated', owner: id }])
    return timed(started, userObject(doc))
  })

  route(app, ctx, 'DELETE', '/api/v1.0/user/:id/', 'users', all, async ({ principal, params }) => {
    const started = performance.now()
    const id = requireId(params.id, 'id')
    self(principal, id)
    if ((await store.deleteDocs(USER_KIND, [id])) === 0) throw notFound(`user ${id} does not exist`)
    await auditDocuments(ctx, principal, 'user', [{ id, action: 'deleted', owner: id }])
    return timed(started, {})
  })

  route(app, ctx, 'POST', '/api/v1.0/users/', 'users', all, async ({ principal, body }) => {
    requireServer(principal)
    const started = performance.now()
    const input = objectBody(body, '{ users: [{ id, data }], override }')
    onlyKeys(input, ['users', 'override'], 'a users batch')
    const { users, override } = input
    if (!Array.isArray(users) || users.length === 0 || users.length > MAX_USERS) {
      throw inputError(`users must be a list of 1 to ${MAX_USERS} { id, data }`, users, 'users')
    }
    if (override !== undefined && typeof override !== 'boolean')
      throw inputError('override must be a boolean', override, 'override')
    const parsed = users.map((u) => {
      const user = objectBody(u, 'a list of { id, data }')
      onlyKeys(user, ['id', 'data'], 'a user')
      return { id: requireId(user.id, 'id'), data: requireData(user.data ?? {}, 'data', false) }
    })
    const created = []
    const changes = []
    for (const u of parsed) {
      const written = await store.putDoc(USER_KIND, u.id, u.data, override ? 'upsert' : 'insert')
      // An upsert over an existing user moved its updated_at past its created_at.
      if (written)
        changes.push({
          id: u.id,
          action: written.createdAt === written.updatedAt ? 'created' : 'updated',
          owner: u.id,
        })
      const doc = written ?? (await store.getDocs(USER_KIND, [u.id]))[0]
      if (doc) created.push(userObject(doc))
    }
    await auditDocuments(ctx, principal, 'user', changes)
    return timed(started, { created_users: created })
  })

  route(app, ctx, 'GET', '/api/v1.0/users/', 'users', all, async ({ principal, query }) => {
    requireServer(principal)
    const started = performance.now()
    const ids = (qlist(query, 'ids', MAX_USERS) ?? []).map((id) => requireId(id, 'ids'))
    const docs = await store.getDocs(USER_KIND, ids)
    return timed(started, { users: docs.map(userObject) })
  })

  route(app, ctx, 'DELETE', '/api/v1.0/users/', 'users', all, async ({ principal, query }) => {
    requireServer(principal)
    const started = performance.now()
    const ids = (qlist(query, 'ids', MAX_USERS) ?? []).map((id) => requireId(id, 'ids'))
    const existing = await store.getDocs(USER_KIND, ids)
    await store.deleteDocs(USER_KIND, ids)
    await auditDocuments(
      ctx,
      principal,
      'user',
      existing.map((d) => ({ id: d.id, action: 'deleted', owner: d.id })),
    )
    return timed(started, { deleted_user_ids: existing.map((d) => d.id) })
  })
}
