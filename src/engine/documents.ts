/**
 * How users and collection entries are kept in the store's document part, the rules both share
 * (ids, data bounds) and their Stream shapes. Users are kind `user` with the user's data as the
 * document; collection entries are kind `collection:<name>` with `{ data, user_id }` so the
 * creator (who alone may change them) is remembered. `users.ts` and `collections.ts` use them.
 */
import type { DocRow } from '../store/store.js'
import { checkBounds } from './bounds.js'
import { inputError } from './errors.js'

/** Document kind of users. */
export const USER_KIND = 'user'
/** Ids of users, collections and entries: letters, numbers, - and _ (Stream rejects `!abc!`). */
const ID = /^[\w-]+$/
/** Longest user id, collection name or entry id. */
export const MAX_DOC_ID = 255
/** Largest user data or entry data, in bytes of JSON. */
export const MAX_DOC_BYTES = 10_240

/** Document kind of a collection's entries. */
export function collectionKind(collection: string): string {
  return `collection:${collection}`
}

/** Validates an id (user id, collection name or entry id). */
export function requireId(value: unknown, field: string): string {
  if (typeof value !== 'string' || !ID.test(value) || value.length > MAX_DOC_ID) {
    throw inputError(`${field} must use letters, numbers, - or _ (at most ${MAX_DOC_ID})`, value, field)
  }
  return value
}

/** Validates user or entry data: a JSON object of bounded size and depth; `nonEmpty` for collection entries. */
export function requireData(value: unknown, field: string, nonEmpty: boolean): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw inputError(`${field} must be an object`, value, field)
  }
  if (nonEmpty && Object.keys(value).length === 0)
    throw inputError(`${field} must not be empty`, value, field)
  // Bounded before JSON.stringify (and the memory store's structuredClone), which recurse per level.
  checkBounds(value, field, field)
  if (Buffer.byteLength(JSON.stringify(value)) > MAX_DOC_BYTES) {
    throw inputError(`${field} must be at most ${MAX_DOC_BYTES} bytes of JSON`, '(too large)', field)
  }
  return value as Record<string, unknown>
}

/** A user as Stream returns it. */
export interface UserObject {
  id: string
  data: Record<string, unknown>
  created_at: string
  updated_at: string
}

/** A collection entry as Stream returns it. */
export interface EntryObject {
  id: string
  collection: string
  foreign_id: string
  data: Record<string, unknown>
  created_at: string
  updated_at: string
}

/** The stored form of a collection entry. */
export interface StoredEntry {
  data: Record<string, unknown>
  user_id: string | null
}

/** A stored user document as Stream's user object. */
export function userObject(doc: DocRow): UserObject {
  return { id: doc.id, data: doc.data, created_at: doc.createdAt, updated_at: doc.updatedAt }
}

/** A stored entry document as Stream's collection entry. */
export function entryObject(collection: string, doc: DocRow): EntryObject {
  const stored = doc.data as unknown as StoredEntry
  return {
    id: doc.id,
    collection,
    foreign_id: `${collection}:${doc.id}`,
    data: stored.data,
    created_at: doc.createdAt,
    updated_at: doc.updatedAt,
  }
}

/** The owner of a stored entry (null when a server token created it). */
export function entryOwner(doc: DocRow): string | null {
  return (doc.data as unknown as StoredEntry).user_id ?? null
}
