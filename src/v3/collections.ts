/**
 * V3 collections on the engine's V1 collections (engine/collections.ts), so a V1 and a V3 client
 * see the same objects: a V3 collection `{ name, id, custom, user_id }` is the V1 entry `id` of
 * collection `name`, its `custom` the entry's data (without an `id` key, which V1's upsert keeps
 * in the data), its `user_id` the entry's owner. Who may do what is the engine's rule plus
 * Stream's V3 docs: a user creates collections as itself and reads, updates and deletes only its
 * own; the app does anything, and alone upserts (upserted entries are the app's, as in V1).
 * QueryCollections is not served (the engine keeps no index of entries to query).
 */
import { MAX_ENTRIES } from '../engine/bounds.js'
import type { EntryObject } from '../engine/documents.js'
import { inputError } from '../engine/errors.js'
import { conflict, notAllowed } from '../server/errors.js'
import type { CollectionResponse } from './gen/spec.js'
import { actingUser, type Caller, type Edge, requireApp, v3route } from './http.js'
import { rfc3339 } from './time.js'

/** Most collections one call names. */
export const MAX_COLLECTIONS = 100

/** A V1 entry and its owner as V3's CollectionResponse. */
function collectionResponse(entry: EntryObject, owner: string | null): CollectionResponse {
  const { id: _id, ...custom } = entry.data
  return {
    name: entry.collection,
    id: entry.id,
    custom,
    ...(owner ? { user_id: owner } : {}),
    created_at: rfc3339(entry.created_at),
    updated_at: rfc3339(entry.updated_at),
  }
}

/** A body's `collections`: 1 to {@link MAX_COLLECTIONS} objects. */
function listOf(value: unknown): Record<string, unknown>[] {
  if (!Array.isArray(value) || value.length === 0 || value.length > MAX_COLLECTIONS)
    throw inputError(`collections must list 1 to ${MAX_COLLECTIONS} collections`, value, 'collections')
  return value.map((c, i) => {
    if (c === null || typeof c !== 'object' || Array.isArray(c))
      throw inputError('each collection is an object { name, id, custom }', c, `collections[${i}]`)
    return c as Record<string, unknown>
  })
}

/** `custom` of collection `i`: an object with at least one key (Stream's rule). */
function customOf(value: unknown, i: number): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value) || Object.keys(value).length === 0)
    throw inputError('custom must be an object with at least one field', value, `collections[${i}].custom`)
  return value as Record<string, unknown>
}

/** `name:id` references (a list, or one comma-separated query value), 1 to MAX_COLLECTIONS. */
function refsOf(value: unknown): { collection: string; id: string }[] {
  const list = typeof value === 'string' ? value.split(',') : value
  if (!Array.isArray(list) || list.length === 0 || list.length > MAX_COLLECTIONS)
    throw inputError(`collection_refs must name 1 to ${MAX_COLLECTIONS} name:id`, value, 'collection_refs')
  return list.map((ref) => {
    const colon = typeof ref === 'string' ? ref.indexOf(':') : -1
    if (typeof ref !== 'string' || colon <= 0)
      throw inputError('collection_refs lists name:id', ref, 'collection_refs')
    return { collection: ref.slice(0, colon), id: ref.slice(colon + 1) }
  })
}

/** Registers the V3 collection routes. */
export function collectionRoutes(edge: Edge): void {
  const { ctx } = edge
  const collections = ctx.engine.collections

  /** The entries `refs` name, each the caller's own unless it is the app (403 otherwise). */
  const ownedBy = async (caller: Caller, refs: { collection: string; id: string }[]) => {
    const user = actingUser(caller)
    const found = await collections.owned(refs)
    if (user !== undefined && found.some((f) => f.owner !== user)) throw notAllowed()
    return found
  }

  v3route(
    edge,
    'POST',
    '/feeds/collections',
    async ({ caller, body }) => {
      const user = actingUser(caller)
      const list = listOf(body.collections)
      const items = list.map((c, i) => {
        const owner = c.user_id ?? body.user_id
        // A user creates collections as itself only.
        if (user !== undefined && owner !== undefined && owner !== user) throw notAllowed()
        return { name: c.name, id: c.id, custom: customOf(c.custom, i), owner: user ?? owner }
      })
      // An id taken already fails the call before anything is added (a race still adds the earlier ones).
      const named = items.flatMap((item) =>
        typeof item.id === 'string' && typeof item.name === 'string'
          ? [{ collection: item.name, id: item.id }]
          : [],
      )
      const [taken] = await collections.owned(named)
      if (taken) throw conflict(`collection ${taken.entry.foreign_id} exists already`)
      const made: CollectionResponse[] = []
      for (const item of items) {
        const entry = await collections.add(item.name, item.id, item.custom, {
          actor: user,
          userId: item.owner,
        })
        made.push(collectionResponse(entry, typeof item.owner === 'string' ? item.owner : null))
      }
      return { collections: made }
    },
    201,
  )

  v3route(edge, 'GET', '/feeds/collections', async ({ caller, query }) => {
    const user = actingUser(caller)
    const found = await collections.owned(refsOf(query.collection_refs))
    // A user reads only its own; others' are left out, as missing ones are.
    const shown = found.filter((f) => user === undefined || f.owner === user)
    return { collections: shown.map((f) => collectionResponse(f.entry, f.owner)) }
  })

  v3route(edge, 'PATCH', '/feeds/collections', async ({ caller, body }) => {
    const user = actingUser(caller)
    const list = listOf(body.collections)
    const items = list.map((c, i) => ({
      collection: String(c.name),
      id: String(c.id),
      custom: customOf(c.custom, i),
    }))
    await ownedBy(caller, items)
    const updated: CollectionResponse[] = []
    for (const item of items) {
      const entry = await collections.update(item.collection, item.id, item.custom, user)
      const [now] = await collections.owned([item])
      updated.push(collectionResponse(entry, now?.owner ?? null))
    }
    return { collections: updated }
  })

  v3route(edge, 'PUT', '/feeds/collections', async ({ caller, body }) => {
    requireApp(caller)
    const list = listOf(body.collections)
    const byName = new Map<string, Record<string, unknown>[]>()
    for (const [i, c] of list.entries()) {
      if (typeof c.name !== 'string')
        throw inputError('name must be a collection name', c.name, `collections[${i}].name`)
      const items = byName.get(c.name) ?? []
      byName.set(c.name, items)
      items.push(c.id === undefined ? { ...customOf(c.custom, i) } : { ...customOf(c.custom, i), id: c.id })
    }
    if (list.length > MAX_ENTRIES)
      throw inputError(`at most ${MAX_ENTRIES} collections`, list.length, 'collections')
    const written = await collections.upsert(Object.fromEntries(byName))
    const refs = Object.entries(written).flatMap(([collection, items]) =>
      items.map((item) => ({ collection, id: String(item.id) })),
    )
    const found = await collections.owned(refs)
    return { collections: found.map((f) => collectionResponse(f.entry, f.owner)) }
  })

  v3route(edge, 'DELETE', '/feeds/collections', async ({ caller, query }) => {
    const user = actingUser(caller)
    const refs = refsOf(query.collection_refs)
    // Every entry is checked before any is deleted: a user's batch deletes all its own or none.
    const found = await ownedBy(caller, refs)
    for (const f of found) await collections.delete(f.entry.collection, f.entry.id, user)
    return {}
  })
}
