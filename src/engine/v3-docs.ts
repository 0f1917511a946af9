/**
 * Versioned read-modify-writes of the documents Feeds V3 keeps (follow records, request
 * indexes, pins, members): read, change, write only if nothing was written meanwhile
 * (`ifUpdatedAt`, checked inside the store's transaction), and retry a few times when a
 * concurrent write won. A change that throws aborts with nothing written.
 */
import type { DocumentStore } from '../store/store.js'
import { conflict } from './errors.js'

/** Retries of a versioned write that lost a race. */
const RETRIES = 5

/**
 * Rewrites document `kind`/`id` through `change` (given undefined when there is none). `change`
 * returns the new data, or `undefined` to leave the document as it is. Resolves with what was
 * written (or left).
 */
export async function rewriteDoc<T extends object>(
  documents: DocumentStore,
  kind: string,
  id: string,
  change: (current: T | undefined) => T | undefined,
): Promise<T | undefined> {
  for (let i = 0; i < RETRIES; i++) {
    const [doc] = await documents.getDocs(kind, [id])
    const current = doc?.data as T | undefined
    const next = change(current)
    if (next === undefined) return current
    const data = next as unknown as Record<string, unknown>
    const written = await documents.putDoc(kind, id, data, doc ? 'update' : 'insert', doc?.updatedAt)
    if (written) return next
  }
  throw conflict(`${id} changed while it was being written; retry`)
}
