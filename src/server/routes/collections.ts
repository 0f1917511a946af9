/** Collection routes: entry add/get/update/delete, and the server-only upsert, select and deleteMany. */
import type { FastifyInstance } from 'fastify'
import { MAX_ENTRIES } from '../../engine/bounds.js'
import { requireServer, userOf } from '../auth.js'
import { qlist, qstr, route, type ServerContext, timed } from '../context.js'
import * as schema from '../schemas/documents.js'

/** Registers the collection routes: each calls the engine's collections use cases (engine/collections.ts). */
export function collectionRoutes(app: FastifyInstance, ctx: ServerContext): void {
  const feedOf = () => '*'
  const resource = 'collections'
  const collections = ctx.engine.collections
  const base = '/api/v1.0/collections/'
  const entry = `${base}:collection/:id/`
  // upsert, select and deleteMany; stream-php still calls them at `meta/`, their older name on Stream.
  const batchUrls = [base, '/api/v1.0/meta/']

  route(
    app,
    ctx,
    { method: 'POST', url: `${base}:collection/`, resource, feedOf, schema: schema.addEntry },
    async ({ principal, params, body }) => {
      const started = performance.now()
      const added = await collections.add(params.collection, body.id, body.data, {
        actor: userOf(principal),
        userId: body.user_id,
      })
      return timed(started, added)
    },
  )

  route(
    app,
    ctx,
    { method: 'GET', url: entry, resource, feedOf, schema: schema.getEntry },
    async ({ params }) => {
      const started = performance.now()
      return timed(started, await collections.get(params.collection, params.id))
    },
  )

  route(
    app,
    ctx,
    { method: 'PUT', url: entry, resource, feedOf, schema: schema.updateEntry },
    async ({ principal, params, body }) => {
      const started = performance.now()
      const updated = await collections.update(params.collection, params.id, body.data, userOf(principal))
      return timed(started, updated)
    },
  )

  route(
    app,
    ctx,
    { method: 'DELETE', url: entry, resource, feedOf, schema: schema.deleteEntry },
    async ({ principal, params }) => {
      const started = performance.now()
      await collections.delete(params.collection, params.id, userOf(principal))
      return timed(started, {})
    },
  )

  for (const url of batchUrls) {
    route(
      app,
      ctx,
      { method: 'POST', url, resource, feedOf, schema: schema.upsertEntries },
      async ({ principal, body }) => {
        requireServer(principal)
        const started = performance.now()
        return timed(started, { data: await collections.upsert(body.data) })
      },
    )

    route(
      app,
      ctx,
      { method: 'GET', url, resource, feedOf, schema: schema.selectEntries },
      async ({ principal, query }) => {
        requireServer(principal)
        const started = performance.now()
        const entries = await collections.select(qlist(query, 'foreign_ids', MAX_ENTRIES) ?? [])
        return timed(started, { response: { data: entries } })
      },
    )

    route(
      app,
      ctx,
      { method: 'DELETE', url, resource, feedOf, schema: schema.deleteEntries },
      async ({ principal, query }) => {
        requireServer(principal)
        const started = performance.now()
        const ids = qlist(query, 'ids', MAX_ENTRIES) ?? []
        await collections.deleteMany(qstr(query, 'collection_name'), ids)
        return timed(started, {})
      },
    )
  }
}
