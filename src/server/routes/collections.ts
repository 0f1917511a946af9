/** Collection routes: entry add/get/update/delete, and the server-only upsert, select and deleteMany. */
import type { FastifyInstance } from 'fastify'
import { MAX_ENTRIES } from '../../engine/collections.js'
import { requireServer, userOf } from '../auth.js'
import { objectBody, onlyKeys, qlist, qstr, route, type ServerContext, timed } from '../context.js'

/** Registers the collection routes: each calls the engine's collections use cases (engine/collections.ts). */
export function collectionRoutes(app: FastifyInstance, ctx: ServerContext): void {
  const all = () => '*'
  const collections = ctx.engine.collections
  const base = '/api/v1.0/collections/'
  // upsert, select and deleteMany; stream-php still calls them at `meta/`, their older name on Stream.
  const batchUrls = [base, '/api/v1.0/meta/']

  route(app, ctx, 'POST', `${base}:collection/`, 'collections', all, async ({ principal, params, body }) => {
    const started = performance.now()
    const input = objectBody(body, '{ id, data }')
    onlyKeys(input, ['id', 'data', 'user_id'], 'a collection entry')
    const entry = await collections.add(params.collection, input.id, input.data, {
      actor: userOf(principal),
      userId: input.user_id,
    })
    return timed(started, entry)
  })

  route(app, ctx, 'GET', `${base}:collection/:id/`, 'collections', all, async ({ params }) => {
    const started = performance.now()
    return timed(started, await collections.get(params.collection, params.id))
  })

  route(
    app,
    ctx,
    'PUT',
    `${base}:collection/:id/`,
    'collections',
    all,
    async ({ principal, params, body }) => {
      const started = performance.now()
      const input = objectBody(body, '{ data }')
      onlyKeys(input, ['data'], 'a collection entry update')
      return timed(
        started,
        await collections.update(params.collection, params.id, input.data, userOf(principal)),
      )
    },
  )

  route(app, ctx, 'DELETE', `${base}:collection/:id/`, 'collections', all, async ({ principal, params }) => {
    const started = performance.now()
    await collections.delete(params.collection, params.id, userOf(principal))
    return timed(started, {})
  })

  for (const url of batchUrls)
    route(app, ctx, 'POST', url, 'collections', all, async ({ principal, body }) => {
      requireServer(principal)
      const started = performance.now()
      const input = objectBody(body, '{ data: { <collection>: [{ id, ...fields }] } }')
      onlyKeys(input, ['data'], 'a collections upsert')
      const byCollection = objectBody(input.data, '{ data: { <collection>: [...] } }')
      return timed(started, { data: await collections.upsert(byCollection) })
    })

  for (const url of batchUrls)
    route(app, ctx, 'GET', url, 'collections', all, async ({ principal, query }) => {
      requireServer(principal)
      const started = performance.now()
      const entries = await collections.select(qlist(query, 'foreign_ids', MAX_ENTRIES) ?? [])
      return timed(started, { response: { data: entries } })
    })

  for (const url of batchUrls)
    route(app, ctx, 'DELETE', url, 'collections', all, async ({ principal, query }) => {
      requireServer(principal)
      const started = performance.now()
      const ids = qlist(query, 'ids', MAX_ENTRIES) ?? []
      await collections.deleteMany(qstr(query, 'collection_name'), ids)
      return timed(started, {})
    })
}
