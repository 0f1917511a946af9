/**
 * `client.collections` of the embedded client, shaped like getstream's `Collections`: `add`, `get`,
 * `update`, `delete` (entries as getstream's `CollectionEntry`), and the batch `upsert`, `select`,
 * `deleteMany`. The rules are the engine's collections use cases (engine/collections.ts), the same
 * the server serves; the embedded client is trusted, like a server token.
 */
import type { EntryObject } from '../engine/documents.js'
import type { Engine } from '../engine/engine.js'
import { duration } from '../wire/duration.js'
import type { APIResponse } from '../wire/responses.js'

/** One collection entry, as getstream's `CollectionEntry` holds it. */
export interface EddyCollectionEntry {
  id: string
  collection: string
  data: Record<string, unknown> | null
  /** The whole entry as Stream returns it. */
  full: EntryObject & APIResponse
  /** `SO:<collection>:<id>`, the reference activities use to name this entry. */
  ref(): string
}

function entry(full: EntryObject, started: number): EddyCollectionEntry {
  return {
    id: full.id,
    collection: full.collection,
    data: full.data,
    full: { ...full, duration: duration(started) },
    ref: () => `SO:${full.collection}:${full.id}`,
  }
}

const list = (ids: string | string[]) => (Array.isArray(ids) ? ids : [ids])

/** Collections, shaped like getstream's `client.collections`. */
export class EddyCollections {
  readonly #engine: Engine

  constructor(engine: Engine) {
    this.#engine = engine
  }

  /** Adds an entry (`itemId` null: a new id); 409 when the id exists. */
  async add(
    collection: string,
    itemId: string | null,
    data: Record<string, unknown>,
  ): Promise<EddyCollectionEntry> {
    const started = performance.now()
    return entry(await this.#engine.collections.add(collection, itemId, data), started)
  }

  /** Reads an entry (404 when there is none). */
  async get(collection: string, itemId: string): Promise<EddyCollectionEntry> {
    const started = performance.now()
    return entry(await this.#engine.collections.get(collection, itemId), started)
  }

  /** Replaces an entry's data (404 when there is none). */
  async update(
    collection: string,
    entryId: string,
    data: Record<string, unknown>,
  ): Promise<EddyCollectionEntry> {
    const started = performance.now()
    return entry(await this.#engine.collections.update(collection, entryId, data), started)
  }

  /** Deletes an entry (404 when there is none). */
  async delete(collection: string, entryId: string): Promise<APIResponse> {
    const started = performance.now()
    await this.#engine.collections.delete(collection, entryId)
    return { duration: duration(started) }
  }

  /** Creates or replaces entries `{ id, ...fields }` of one collection. */
  async upsert(
    collection: string,
    data: Record<string, unknown> | Record<string, unknown>[],
  ): Promise<{ data: Record<string, Record<string, unknown>[]> } & APIResponse> {
    const started = performance.now()
    // A computed key is an own property even when named __proto__.
    const out = await this.#engine.collections.upsert({ [collection]: Array.isArray(data) ? data : [data] })
    return { data: out, duration: duration(started) }
  }

  /** The entries of `collection` with these ids that exist. */
  async select(
    collection: string,
    ids: string | string[],
  ): Promise<{ response: { data: EntryObject[] } } & APIResponse> {
    const started = performance.now()
    const found = await this.#engine.collections.select(list(ids).map((id) => `${collection}:${id}`))
    return { response: { data: found }, duration: duration(started) }
  }

  /** Deletes entries of `collection` by id. */
  async deleteMany(collection: string, ids: string | string[]): Promise<APIResponse> {
    const started = performance.now()
    await this.#engine.collections.deleteMany(collection, list(ids))
    return { duration: duration(started) }
  }
}
