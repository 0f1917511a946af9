/**
 * Feeds V3 bookmark folders: each a document of kind `v3_bookmark_folder` (its owner, name,
 * custom data), and each user's list of folder ids, kind `v3_bookmark_folders` keyed by the user,
 * changed only as read (`ifUpdatedAt`), so two folders made at once are both listed. A user holds
 * at most {@link MAX_FOLDERS} folders.
 */
import type { DocRow, DocumentStore } from '../store/store.js'
import { checkBounds } from './bounds.js'
import { EddyError, inputError, notFound } from './errors.js'
import { randomId } from './ids.js'

const FOLDER_KIND = 'v3_bookmark_folder'
const INDEX_KIND = 'v3_bookmark_folders'
/** Most bookmark folders per user. */
export const MAX_FOLDERS = 200
const MAX_ATTEMPTS = 20

/** Longest folder name. */
export const MAX_FOLDER_NAME = 255

/** Checks a folder's name (1 to 255 characters) and custom data (an object, bounded like documents). */
function checkFolder(name: unknown, custom: unknown, field: string): void {
  if (name !== undefined && (typeof name !== 'string' || name.trim() === '' || name.length > MAX_FOLDER_NAME))
    throw inputError(
      `${field}.name must be text of 1 to ${MAX_FOLDER_NAME} characters`,
      name,
      `${field}.name`,
    )
  checkBounds(name, `${field}.name`, 'a folder name')
  if (custom === undefined) return
  if (custom === null || typeof custom !== 'object' || Array.isArray(custom))
    throw inputError(`${field}.custom must be an object`, custom, `${field}.custom`)
  checkBounds(custom, `${field}.custom`, 'custom data')
}

/** A bookmark folder as stored. */
export interface BookmarkFolder {
  id: string
  user_id: string
  name: string
  custom: Record<string, unknown>
  created_at: string
  updated_at: string
}

const folderOf = (row: DocRow): BookmarkFolder => ({
  id: row.id,
  user_id: String(row.data.user_id),
  name: String(row.data.name),
  custom: (row.data.custom as Record<string, unknown>) ?? {},
  created_at: row.createdAt,
  updated_at: row.updatedAt,
})

/** Bookmark folders use cases (`engine.v3.folders`). */
export class BookmarkFolders {
  readonly #documents: DocumentStore

  constructor(documents: DocumentStore) {
    this.#documents = documents
  }

  /** The folders of these ids that exist. */
  async get(ids: string[]): Promise<Map<string, BookmarkFolder>> {
    if (ids.length === 0) return new Map()
    const rows = await this.#documents.getDocs(FOLDER_KIND, [...new Set(ids)])
    return new Map(rows.map((r) => [r.id, folderOf(r)]))
  }

  /** A user's folders, oldest first. */
  async list(user: string): Promise<BookmarkFolder[]> {
    const [index] = await this.#documents.getDocs(INDEX_KIND, [user])
    const ids = Array.isArray(index?.data.ids) ? (index.data.ids as string[]) : []
    const found = await this.get(ids)
    return ids.flatMap((id) => found.get(id) ?? [])
  }

  /** Makes a folder for `user`, or returns its folder of that name (names are unique per user). */
  async create(user: string, name: string, custom: Record<string, unknown>): Promise<BookmarkFolder> {
    checkFolder(name, custom, 'new_folder')
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const [index] = await this.#documents.getDocs(INDEX_KIND, [user])
      const ids = Array.isArray(index?.data.ids) ? (index.data.ids as string[]) : []
      const same = [...(await this.get(ids)).values()].find((f) => f.name === name)
      if (same) return same
      if (ids.length >= MAX_FOLDERS)
        throw inputError(`a user has at most ${MAX_FOLDERS} bookmark folders`, name, 'new_folder')
      const id = randomId()
      const row = await this.#documents.putDoc(FOLDER_KIND, id, { user_id: user, name, custom }, 'insert')
      if (!row) continue
      const listed = index
        ? await this.#documents.putDoc(INDEX_KIND, user, { ids: [...ids, id] }, 'update', index.updatedAt)
        : await this.#documents.putDoc(INDEX_KIND, user, { ids: [id] }, 'insert')
      if (listed) return folderOf(row)
      await this.#documents.deleteDocs(FOLDER_KIND, [id])
    }
    throw new EddyError('ConflictException', 'bookmark folders kept changing; try again')
  }

  /** Renames a user's folder or changes its custom data; 404 unless it is `user`'s. */
  async update(
    user: string | undefined,
    id: string,
    change: { name?: string; custom?: Record<string, unknown> },
  ): Promise<BookmarkFolder> {
    checkFolder(change.name, change.custom, 'folder')
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const [row] = await this.#documents.getDocs(FOLDER_KIND, [id])
      if (!row || (user !== undefined && row.data.user_id !== user))
        throw notFound(`folder ${id} does not exist`)
      const data: Record<string, unknown> = { ...row.data, ...(change.name ? { name: change.name } : {}) }
      if (change.custom) data.custom = change.custom
      const written = await this.#documents.putDoc(FOLDER_KIND, id, data, 'update', row.updatedAt)
      if (written) return folderOf(written)
    }
    throw new EddyError('ConflictException', `folder ${id} kept changing; try again`)
  }

  /** Deletes a user's folder (its bookmarks stay, without a folder); 404 unless it is `user`'s. */
  async delete(user: string | undefined, id: string): Promise<BookmarkFolder> {
    const [row] = await this.#documents.getDocs(FOLDER_KIND, [id])
    if (!row || (user !== undefined && row.data.user_id !== user))
      throw notFound(`folder ${id} does not exist`)
    const owner = String(row.data.user_id)
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const [index] = await this.#documents.getDocs(INDEX_KIND, [owner])
      const ids = Array.isArray(index?.data.ids) ? (index.data.ids as string[]) : []
      if (!index || !ids.includes(id)) break
      const kept = ids.filter((i) => i !== id)
      if (await this.#documents.putDoc(INDEX_KIND, owner, { ids: kept }, 'update', index.updatedAt)) break
    }
    await this.#documents.deleteDocs(FOLDER_KIND, [id])
    return folderOf(row)
  }
}
