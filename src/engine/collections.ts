/**
 * Collections, as Stream keeps them: entries `{ id, data }` in named collections, that `SO:`
 * references show. Every use case here is the same for the HTTP server and the embedded client.
 * `actor` is the user a user token acts as: an entry remembers the user who created it, and a
 * user may change only the entries it created; without an actor (server-side trust) any entry
 * may be changed, and ownership follows the last trusted write. Changes are audit-logged.
 */
import type { AuditEntry, DocRow, DocumentStore } from '../store/store.js'
import { auditEntry } from './audit.js'
import { MAX_ENTRIES } from './bounds.js'
import {
  collectionKind,
  type EntryObject,
  entryObject,
  entryOwner,
  requireData,
  requireId,
  type StoredEntry,
} from './documents.js'
import { conflict, inputError, notAllowed, notFound } from './errors.js'
import { randomId } from './ids.js'

/** Attempts of an entry read-modify-write before it gives up with a 409. */
const MAX_ATTEMPTS = 20

/** What the collections use cases need from the engine. */
export interface CollectionsContext {
  documents: DocumentStore
  /** Appends audit entries (when the audit log is on). */
  recordAudit(entries: AuditEntry[]): Promise<void>
}

type Change = { collection: string; id: string; action: string; owner: string | null }

/** Runs a read-then-conditional-write until its write applies (it resolves undefined when it lost a race). */
async function untilApplied<T>(step: () => Promise<T | undefined>): Promise<T> {
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const done = await step()
    if (done !== undefined) return done
  }
  throw conflict('the collection entry kept changing while it was being written; try again')
}

/** The collections use cases (entry add, get, update, delete, and the batch upsert, select, deleteMany). */
export class Collections {
  readonly #ctx: CollectionsContext

  constructor(ctx: CollectionsContext) {
    this.#ctx = ctx
  }

  /**
   * Adds an entry to `collection` (409 when its id exists). An id that is not given (undefined,
   * null or '', as stream-python and stream-go2 send it) is generated. The entry belongs to
   * `actor`, else to `options.userId` when a trusted caller names one, else to nobody.
   */
  async add(
    collection: unknown,
    id: unknown,
    data: unknown,
    options: { actor?: string; userId?: unknown } = {},
  ): Promise<EntryObject> {
    const name = requireId(collection, 'collection')
    const entryId = id === undefined || id === null || id === '' ? randomId() : requireId(id, 'id')
    const { userId } = options
    const owner =
      options.actor ?? (userId === undefined || userId === null ? null : requireId(userId, 'user_id'))
    const stored: StoredEntry = { data: requireData(data, 'data', true), user_id: owner }
    const doc = await this.#ctx.documents.putDoc(collectionKind(name), entryId, { ...stored }, 'insert')
    if (!doc) throw conflict(`collection entry ${name}:${entryId} already exists`)
    await this.#audit([{ collection: name, id: entryId, action: 'created', owner }], options.actor)
    return entryObject(name, doc)
  }

  /** Entry `id` of `collection` (404 when there is none). */
  async get(collection: unknown, id: unknown): Promise<EntryObject> {
    const name = requireId(collection, 'collection')
    const entryId = requireId(id, 'id')
    return entryObject(name, await this.#existing(name, entryId))
  }

  /**
   * Replaces the data of entry `id`. The ownership check and the write are one optimistic step:
   * the update applies only to the version that was checked (a concurrent delete and re-create
   * by someone else loses nothing). A trusted update makes the entry nobody's (the server's).
   */
  async update(collection: unknown, id: unknown, data: unknown, actor?: string): Promise<EntryObject> {
    const name = requireId(collection, 'collection')
    const entryId = requireId(id, 'id')
    const checked = requireData(data, 'data', true)
    const doc = await untilApplied(async () => {
      const existing = await this.#owned(name, entryId, actor)
      const stored: StoredEntry = {
        data: checked,
        user_id: actor === undefined ? null : entryOwner(existing),
      }
      return this.#ctx.documents.putDoc(
        collectionKind(name),
        entryId,
        { ...stored },
        'update',
        existing.updatedAt,
      )
    })
    await this.#audit([{ collection: name, id: entryId, action: 'updated', owner: entryOwner(doc) }], actor)
    return entryObject(name, doc)
  }

  /** Deletes entry `id` (404 when there is none; 403 when `actor` did not create it). */
  async delete(collection: unknown, id: unknown, actor?: string): Promise<void> {
    const name = requireId(collection, 'collection')
    const entryId = requireId(id, 'id')
    const doc = await this.#owned(name, entryId, actor)
    if ((await this.#ctx.documents.deleteDocs(collectionKind(name), [entryId])) > 0) {
      await this.#audit([{ collection: name, id: entryId, action: 'deleted', owner: entryOwner(doc) }], actor)
    }
  }

  /**
   * Creates or replaces entries, by collection: `{ <collection>: [{ id, ...fields }] }` (at most
   * {@link MAX_ENTRIES} in all; an item without id gets one). Each entry's data is the whole item,
   * its `id` included, as on Stream. Upserted entries are nobody's (the server's), so a user who
   * created an id first can no longer change it. Resolves with the items by collection.
   */
  async upsert(byCollection: unknown): Promise<Record<string, Record<string, unknown>[]>> {
    if (byCollection === null || typeof byCollection !== 'object' || Array.isArray(byCollection))
      throw inputError('data must be { <collection>: [{ id, ...fields }] }', byCollection, 'data')
    const plan: { collection: string; id: string; data: Record<string, unknown> }[] = []
    for (const [key, items] of Object.entries(byCollection)) {
      const collection = requireId(key, 'collection')
      if (!Array.isArray(items))
        throw inputError(`data.${collection} must be a list of entries`, items, 'data')
      for (const raw of items) {
        if (raw === null || typeof raw !== 'object' || Array.isArray(raw))
          throw inputError('the body must be a list of { id, ...fields }', raw, 'body')
        const { id, ...fields } = raw as Record<string, unknown>
        plan.push({
          collection,
          id: id === undefined ? randomId() : requireId(id, 'id'),
          data: requireData(id === undefined ? fields : raw, 'data', false),
        })
      }
    }
    if (plan.length > MAX_ENTRIES)
      throw inputError(`at most ${MAX_ENTRIES} entries per upsert`, plan.length, 'data')
    // A Map, not an object: collection names are input, and `__proto__` or `constructor` are valid ids.
    const out = new Map<string, Record<string, unknown>[]>()
    const changes: Change[] = []
    for (const item of plan) {
      const kind = collectionKind(item.collection)
      const stored: StoredEntry = { data: item.data, user_id: null }
      let action = 'created'
      await untilApplied(async () => {
        const [existing] = await this.#ctx.documents.getDocs(kind, [item.id])
        action = existing ? 'updated' : 'created'
        return existing
          ? this.#ctx.documents.putDoc(kind, item.id, { ...stored }, 'update', existing.updatedAt)
          : this.#ctx.documents.putDoc(kind, item.id, { ...stored }, 'insert')
      })
      changes.push({ collection: item.collection, id: item.id, action, owner: null })
      const list = out.get(item.collection) ?? []
      out.set(item.collection, list)
      list.push({ id: item.id, ...item.data })
    }
    await this.#audit(changes)
    return Object.fromEntries(out)
  }

  /** The entries named by `<collection>:<id>` references that exist, in the order asked. */
  async select(foreignIds: unknown[]): Promise<EntryObject[]> {
    const entries: EntryObject[] = []
    for (const ref of foreignIds) {
      const colon = typeof ref === 'string' ? ref.indexOf(':') : -1
      if (typeof ref !== 'string' || colon <= 0)
        throw inputError('foreign_ids must list <collection>:<id>', ref, 'foreign_ids')
      const collection = requireId(ref.slice(0, colon), 'collection')
      const id = requireId(ref.slice(colon + 1), 'id')
      const [doc] = await this.#ctx.documents.getDocs(collectionKind(collection), [id])
      if (doc) entries.push(entryObject(collection, doc))
    }
    return entries
  }

  /**
   * The entries `refs` name that exist, each with the user who owns it (null: the app's), in the
   * order asked: what V3's collections show (`user_id`) and check (a user reads its own).
   */
  async owned(
    refs: { collection: string; id: string }[],
  ): Promise<{ entry: EntryObject; owner: string | null }[]> {
    const out: { entry: EntryObject; owner: string | null }[] = []
    for (const ref of refs) {
      const collection = requireId(ref.collection, 'collection')
      const [doc] = await this.#ctx.documents.getDocs(collectionKind(collection), [requireId(ref.id, 'id')])
      if (doc) out.push({ entry: entryObject(collection, doc), owner: entryOwner(doc) })
    }
    return out
  }

  /** Entries of one collection by id, for `SO:` references: those that exist, ids unchecked. */
  async lookup(collection: string, ids: string[]): Promise<EntryObject[]> {
    const docs = await this.#ctx.documents.getDocs(collectionKind(collection), ids)
    return docs.map((d) => entryObject(collection, d))
  }

  /** Deletes entries of `collection` by id; resolves with the ids that existed. */
  async deleteMany(collection: unknown, ids: unknown[]): Promise<string[]> {
    const name = requireId(collection, 'collection_name')
    const checked = ids.map((id) => requireId(id, 'ids'))
    const kind = collectionKind(name)
    const existing = await this.#ctx.documents.getDocs(kind, checked)
    await this.#ctx.documents.deleteDocs(kind, checked)
    await this.#audit(
      existing.map((d) => ({ collection: name, id: d.id, action: 'deleted', owner: entryOwner(d) })),
    )
    return existing.map((d) => d.id)
  }

  async #existing(collection: string, id: string): Promise<DocRow> {
    const [doc] = await this.#ctx.documents.getDocs(collectionKind(collection), [id])
    if (!doc) throw notFound(`collection entry ${collection}:${id} does not exist`)
    return doc
  }

  /** The entry, when `actor` may change it: a user only the entries it created. */
  async #owned(collection: string, id: string, actor: string | undefined): Promise<DocRow> {
    const doc = await this.#existing(collection, id)
    if (actor !== undefined && entryOwner(doc) !== actor) throw notAllowed()
    return doc
  }

  /** Logs changes after they commit: the acting user, else the entry's owner (or ''). */
  #audit(changes: Change[], actor?: string): Promise<void> {
    if (changes.length === 0) return Promise.resolve()
    return this.#ctx.recordAudit(
      changes.map((c) =>
        auditEntry('collection', `${c.collection}:${c.id}`, c.action, actor ?? c.owner ?? '', {
          collection: c.collection,
        }),
      ),
    )
  }
}
