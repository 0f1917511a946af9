/**
 * What Feeds V3 keeps beside the engine's feeds and activities (src/v3 maps the rest onto them):
 * each V3 feed's data (name, description, visibility, custom, creator), as a document of kind
 * `v3_feed` keyed by the fid, and the index from an activity's own V3 id to the engine's sort
 * key, kind `v3_activity`. Writes of feed data are versioned (`ifUpdatedAt`), so a concurrent
 * change is noticed instead of lost.
 */
import type { DocRow, DocumentStore } from '../store/store.js'
import { EddyError } from './errors.js'
import { BookmarkFolders } from './v3-bookmark-folders.js'

/** Document kind of V3 feed data. */
const FEED_KIND = 'v3_feed'
/** Document kind mapping an activity's own V3 id to the engine's sort key. */
const ACTIVITY_ID_KIND = 'v3_activity'
/** Document kind of a user's V3 role, kept only for roles other than `user` (guests). */
const USER_ROLE_KIND = 'v3_user'
/** Document kind of a notification feed's last mark-all times (`last_seen_at`, `last_read_at`), by fid. */
const MARKS_KIND = 'v3_marks'
/** Document kind of a V3 feed group's settings the engine does not keep (visibility, custom...), by id. */
const GROUP_KIND = 'v3_feed_group'
/** Document kind of a V3 task (the answer GetTask gives for a batch call's task_id), by task id. */
const TASK_KIND = 'v3_task'

/** The V3 records use cases. */
export class V3Records {
  readonly #documents: DocumentStore
  /** Bookmark folders (v3-bookmark-folders.ts). */
  readonly folders: BookmarkFolders

  constructor(documents: DocumentStore) {
    this.#documents = documents
    this.folders = new BookmarkFolders(documents)
  }

  /** The stored data of these feeds (fids `group:id`) that have any. */
  feeds(fids: string[]): Promise<DocRow[]> {
    return fids.length === 0 ? Promise.resolve([]) : this.#documents.getDocs(FEED_KIND, fids)
  }

  /** Up to `limit` feeds' stored data in fid order, after `after` (QueryFeeds scans these). */
  listFeeds(after: string | undefined, limit: number): Promise<DocRow[]> {
    return this.#documents.listDocs(FEED_KIND, after, limit)
  }

  /**
   * Writes a feed's data: `insert` only when it has none, `update` only when it has (and, with
   * `ifUpdatedAt`, only if unchanged since), `upsert` always. Undefined when the condition failed.
   */
  putFeed(
    fid: string,
    data: Record<string, unknown>,
    mode: 'insert' | 'update' | 'upsert',
    ifUpdatedAt?: string,
  ): Promise<DocRow | undefined> {
    return this.#documents.putDoc(FEED_KIND, fid, data, mode, ifUpdatedAt)
  }

  /** The engine sort key of an activity added with its own V3 id, if any. */
  async activitySk(id: string): Promise<string | undefined> {
    const [doc] = await this.#documents.getDocs(ACTIVITY_ID_KIND, [id])
    return typeof doc?.data.sk === 'string' ? doc.data.sk : undefined
  }

  /** Reserves an activity's own V3 id before the add; false when the id is taken already. */
  async claimActivityId(id: string): Promise<boolean> {
    return (await this.#documents.putDoc(ACTIVITY_ID_KIND, id, { sk: null }, 'insert')) !== undefined
  }

  /** Points a claimed V3 id at the engine's entry once the add committed. */
  async recordActivitySk(id: string, sk: string): Promise<void> {
    await this.#documents.putDoc(ACTIVITY_ID_KIND, id, { sk }, 'upsert')
  }

  /** Forgets an activity's own V3 id. */
  async releaseActivityId(id: string): Promise<void> {
    await this.#documents.deleteDocs(ACTIVITY_ID_KIND, [id])
  }

  /** The V3 roles of these users that have one other than `user`, by id. */
  async roles(ids: string[]): Promise<Map<string, string>> {
    const docs = ids.length === 0 ? [] : await this.#documents.getDocs(USER_ROLE_KIND, ids)
    return new Map(
      docs.filter((d) => typeof d.data.role === 'string').map((d) => [d.id, String(d.data.role)]),
    )
  }

  /** Records a user's V3 role (written after the user itself, so it never names someone else). */
  async putRole(id: string, role: string): Promise<void> {
    await this.#documents.putDoc(USER_ROLE_KIND, id, { role }, 'upsert')
  }

  /** Forgets the V3 roles of deleted users. */
  async deleteRoles(ids: string[]): Promise<void> {
    if (ids.length > 0) await this.#documents.deleteDocs(USER_ROLE_KIND, ids)
  }

  /** A notification feed's last mark-all times, if it was ever marked all seen or read. */
  async marks(fid: string): Promise<Record<string, unknown> | undefined> {
    const [doc] = await this.#documents.getDocs(MARKS_KIND, [fid])
    return doc?.data
  }

  /** Sets some of a notification feed's last mark-all times, keeping the others (a versioned write, retried). */
  async putMarks(fid: string, times: Record<string, string>): Promise<void> {
    for (let attempt = 0; attempt < 5; attempt++) {
      const [doc] = await this.#documents.getDocs(MARKS_KIND, [fid])
      const written = doc
        ? await this.#documents.putDoc(MARKS_KIND, fid, { ...doc.data, ...times }, 'update', doc.updatedAt)
        : await this.#documents.putDoc(MARKS_KIND, fid, times, 'insert')
      if (written) return
    }
    throw new EddyError('ConflictException', `the marks of ${fid} changed meanwhile; retry`)
  }

  /** A V3 feed group's own settings, if it was created through V3. */
  async feedGroup(id: string): Promise<DocRow | undefined> {
    const [doc] = await this.#documents.getDocs(GROUP_KIND, [id])
    return doc
  }

  /** Stores a V3 feed group's own settings once (undefined when they exist already). */
  putFeedGroup(id: string, data: Record<string, unknown>): Promise<DocRow | undefined> {
    return this.#documents.putDoc(GROUP_KIND, id, data, 'insert')
  }

  /**
   * Records a completed task: Eddy runs V3's batch calls (DeactivateUsers, DeleteUsers...) before
   * answering (a call that fails answers its error instead), so a task is complete when its id is
   * handed out.
   */
  async putTask(id: string, type: string, result: Record<string, unknown>): Promise<void> {
    await this.#documents.putDoc(TASK_KIND, id, { type, status: 'completed', result }, 'insert')
  }

  /** A task recorded by putTask, if any. */
  async task(id: string): Promise<DocRow | undefined> {
    const [doc] = await this.#documents.getDocs(TASK_KIND, [id])
    return doc
  }

  /**
   * Sets some of a V3 feed group's own settings, keeping the others (UpdateFeedGroup): a
   * versioned read-modify-write, retried, so concurrent updates of different settings all land.
   */
  async updateFeedGroup(id: string, change: Record<string, unknown>): Promise<DocRow> {
    for (let attempt = 0; attempt < 5; attempt++) {
      const [doc] = await this.#documents.getDocs(GROUP_KIND, [id])
      const written = doc
        ? await this.#documents.putDoc(GROUP_KIND, id, { ...doc.data, ...change }, 'update', doc.updatedAt)
        : await this.#documents.putDoc(GROUP_KIND, id, change, 'insert')
      if (written) return written
    }
    throw new EddyError('ConflictException', `feed group ${id} changed meanwhile; retry`)
  }
}
