/** Collection routes: entry add/get/update/delete, and the server-only upsert, select and deleteMany. */
import type { FastifyInstance } from 'fastify'
import { inputError, notFound } from '../../engine/errors.js'
import { randomId } from '../../engine/ids.js'
import { type Principal, requireServer, userOf } from '../auth.js'
import { objectBody, onlyKeys, qlist, qstr, route, type ServerContext, timed } from '../context.js'
import { collectionKind, entryObject, entryOwner, requireData, requireId, type StoredEntry } from '../docs.js'
import { conflict, notAllowed } from '../errors.js'
import { auditDocuments } from './audit-logs.js'

/** Most entries one upsert, select or deleteMany call may carry. */
const MAX_ITEMS = 1_000

/** Attempts of a document read-modify-write before it gives up with a 409. */
const MAX_ATTEMPTS = 20

/** Runs a read-then-conditional-write until its write applies (it resolves undefined when it lost a race). */
async function untilApplied<T>(step: () => Promise<T | undefined>): Promise<T> {
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const done = await step()
    if (done !== undefined) return done
  }
  throw conflict('the collection entry kept changing while it was being written; try again')
}

/** Registers the collection routes. */
export function collectionRoutes(app: FastifyInstance, ctx: ServerContext): void {
  const all = () => '*'
  const store = ctx.engine.documents
  const base = '/api/v1.0/collections/'
  // upsert, select and deleteMany; stream-php still calls them at `meta/`, their older name on Stream.
  const batchUrls = [base, '/api/v1.0/meta/']

  // A user token may change only entries it created; server tokens may change any.
  async function owned(principal: Principal, collection: string, id: string) {
    const [doc] = await store.getDocs(collectionKind(collection), [id])
    if (!doc) throw notFound(`collection entry ${collection}:${id} does not exist`)
    const user = userOf(principal)
    if (user !== undefined && entryOwner(doc) !== user) throw notAllowed()
    return doc
  }

  route(app, ctx, 'POST', `${base}:collection/`, 'collections', all, async ({ principal, params, body }) => {
    const started = performance.now()
    const collection = requireId(params.collection, 'collection')
    const input = objectBody(body, '{ id, data }')
    onlyKeys(input, ['id', 'data', 'user_id'], 'a collection entry')
    // stream-python always sends both keys, `null` when not given, and stream-go2 `"id": ""`: both
    // mean "not given", as on Stream, which then generates the id.
    const id =
      input.id === undefined || input.id === null || input.id === '' ? randomId() : requireId(input.id, 'id')
    const user =
      userOf(principal) ??
      (input.user_id === undefined || input.user_id === null ? null : requireId(input.user_id, 'user_id'))
    const stored: StoredEntry = { data: requireData(input.data, 'data', true), user_id: user }
    const doc = await store.putDoc(collectionKind(collection), id, stored as never, 'insert')
    if (!doc) throw conflict(`collection entry ${collection}:${id} already exists`)
    await auditDocuments(ctx, principal, 'collection', [
      { id: `${collection}:${id}`, action: 'created', owner: user, custom: { collection } },
    ])
    return timed(started, entryObject(collection, doc))
  })

  route(app, ctx, 'GET', `${base}:collection/:id/`, 'collections', all, async ({ params }) => {
    const started = performance.now()
    const collection = requireId(params.collection, 'collection')
    const id = requireId(params.id, 'id')
    const [doc] = await store.getDocs(collectionKind(collection), [id])
    if (!doc) throw notFound(`collection entry ${collection}:${id} does not exist`)
    return timed(started, entryObject(collection, doc))
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
      const collection = requireId(params.collection, 'collection')
      const id = requireId(params.id, 'id')
      const input = objectBody(body, '{ data }')
      onlyKeys(input, ['data'], 'a collection entry update')
      const data = requireData(input.data, 'data', true)
      // The ownership check and the write are one optimistic step: the update applies only to
      // the version that was checked (a concurrent delete and re-create by someone else loses nothing).
      // Ownership follows the last trusted write: a server's update makes the entry the server's.
      const user = userOf(principal)
      const doc = await untilApplied(async () => {
        const existing = await owned(principal, collection, id)
        const stored: StoredEntry = { data, user_id: user === undefined ? null : entryOwner(existing) }
        return store.putDoc(collectionKind(collection), id, stored as never, 'update', existing.updatedAt)
      })
      await auditDocuments(ctx, principal, 'collection', [
        { id: `${collection}:${id}`, action: 'updated', owner: entryOwner(doc), custom: { collection } },
      ])
      return timed(started, entryObject(collection, doc))
    },
  )

  route(app, ctx, 'DELETE', `${base}:collection/:id/`, 'collections', all, async ({ principal, params }) => {
    const started = performance.now()
    const collection = requireId(params.collection, 'collection')
    const id = requireId(params.id, 'id')
    const doc = await owned(principal, collection, id)
    if ((await store.deleteDocs(collectionKind(collection), [id])) > 0) {
      await auditDocuments(ctx, principal, 'collection', [
        { id: `${collection}:${id}`, action: 'deleted', owner: entryOwner(doc), custom: { collection } },
      ])
    }
    return timed(started, {})
  })

  for (const url of batchUrls)
    route(app, ctx, 'POST', url, 'collections', all, async ({ principal, body }) => {
      requireServer(principal)
      const started = performance.now()
      const input = objectBody(body, '{ data: { <collection>: [{ id, ...fields }] } }')
      onlyKeys(input, ['data'], 'a collections upsert')
      const byCollection = objectBody(input.data, '{ data: { <collection>: [...] } }')
      const plan: { collection: string; id: string; data: Record<string, unknown> }[] = []
      for (const [name, items] of Object.entries(byCollection)) {
        const collection = requireId(name, 'collection')
        if (!Array.isArray(items))
          throw inputError(`data.${collection} must be a list of entries`, items, 'data')
        for (const raw of items) {
          const entry = objectBody(raw, 'a list of { id, ...fields }')
          const { id, ...fields } = entry
          plan.push({
            collection,
            id: id === undefined ? randomId() : requireId(id, 'id'),
            // Stream keeps the whole object as the entry's data, its `id` included (stream-ruby's
            // suite selects upserted entries back and compares).
            data: requireData(id === undefined ? fields : entry, 'data', false),
          })
        }
      }
      if (plan.length > MAX_ITEMS)
        throw inputError(`at most ${MAX_ITEMS} entries per upsert`, plan.length, 'data')
      // A Map, not an object: collection names are input, and `__proto__` or `constructor` are valid ids.
      const out = new Map<string, object[]>()
      const changes: { id: string; action: string; custom: Record<string, unknown> }[] = []
      for (const item of plan) {
        const kind = collectionKind(item.collection)
        // Ownership follows the last trusted write: the upserted entry is the server's (user_id
        // null), so a user who created the id first (squatting it) can no longer change it.
        // The write applies only to the version read.
        let action = 'created'
        await untilApplied(async () => {
          const [existing] = await store.getDocs(kind, [item.id])
          const stored: StoredEntry = { data: item.data, user_id: null }
          action = existing ? 'updated' : 'created'
          return existing
            ? store.putDoc(kind, item.id, stored as never, 'update', existing.updatedAt)
            : store.putDoc(kind, item.id, stored as never, 'insert')
        })
        changes.push({ id: `${item.collection}:${item.id}`, action, custom: { collection: item.collection } })
        const list = out.get(item.collection) ?? []
        out.set(item.collection, list)
        list.push({ id: item.id, ...item.data })
      }
      await auditDocuments(ctx, principal, 'collection', changes)
      return timed(started, { data: Object.fromEntries(out) })
    })

  for (const url of batchUrls)
    route(app, ctx, 'GET', url, 'collections', all, async ({ principal, query }) => {
      requireServer(principal)
      const started = performance.now()
      const refs = qlist(query, 'foreign_ids', MAX_ITEMS) ?? []
      const entries = []
      for (const ref of refs) {
        const colon = ref.indexOf(':')
        if (colon <= 0) throw inputError('foreign_ids must list <collection>:<id>', ref, 'foreign_ids')
        const collection = requireId(ref.slice(0, colon), 'collection')
        const [doc] = await store.getDocs(collectionKind(collection), [requireId(ref.slice(colon + 1), 'id')])
        if (doc) entries.push(entryObject(collection, doc))
      }
      return timed(started, { response: { data: entries } })
    })

  for (const url of batchUrls)
    route(app, ctx, 'DELETE', url, 'collections', all, async ({ principal, query }) => {
      requireServer(principal)
      const started = performance.now()
      const collection = requireId(qstr(query, 'collection_name'), 'collection_name')
      const ids = (qlist(query, 'ids', MAX_ITEMS) ?? []).map((id) => requireId(id, 'ids'))
      const existing = await store.getDocs(collectionKind(collection), ids)
      await store.deleteDocs(collectionKind(collection), ids)
      await auditDocuments(
        ctx,
        principal,
        'collection',
        existing.map((d) => ({
          id: `${collection}:${d.id}`,
          action: 'deleted',
          owner: entryOwner(d),
          custom: { collection },
        })),
      )
      return timed(started, {})
    })
}
