/**
 * Users, as Stream keeps them: `{ id, data }` documents that `SU:` references and reactions show.
 * Every use case here is the same for the HTTP server and the embedded client. `actor` is the
 * user a user token acts as: it may create, change and delete only itself; without one
 * (server-side trust) any user may be changed. Changes are logged in the audit log.
 */
import type { AuditEntry, DocumentStore } from '../store/store.js'
import { auditEntry } from './audit.js'
import { MAX_USERS } from './bounds.js'
import { requireData, requireId, USER_KIND, type UserObject, userObject } from './documents.js'
import { conflict, inputError, notAllowed, notFound } from './errors.js'

/** Tries of a read-modify-write on a user before it gives up with a 409. */
const CHANGE_ATTEMPTS = 5

/** A user with the follow counts `get({ withFollowCounts })` adds (Stream's profile). */
export type UserProfile = UserObject & { followers_count?: number; following_count?: number }

/** What the users use cases need from the engine. */
export interface UsersContext {
  documents: DocumentStore
  /** Appends audit entries (when the audit log is on). */
  recordAudit(entries: AuditEntry[]): Promise<void>
  /** Followers of `user:<id>` and follows of `timeline:<id>`, 0 for a group not configured. */
  followCounts(id: string): Promise<{ followers: number; following: number }>
  /** Forgets what is kept beside deleted users (their deactivation and blocks). */
  forget(ids: string[]): Promise<void>
}

type Change = { id: string; action: string }

/** The users use cases (create, get, update, delete and the batch calls). */
export class Users {
  readonly #ctx: UsersContext

  constructor(ctx: UsersContext) {
    this.#ctx = ctx
  }

  /**
   * Creates user `id` with `data` (default `{}`). An existing id is a 409, unless `getOrCreate`,
   * which returns the stored user unchanged and ignores the new data.
   */
  async create(
    id: unknown,
    data: unknown,
    options: { getOrCreate?: boolean; actor?: string } = {},
  ): Promise<UserObject> {
    const userId = requireId(id, 'id')
    self(options.actor, userId)
    const checked = requireData(data ?? {}, 'data', false)
    const doc = await this.#ctx.documents.putDoc(USER_KIND, userId, checked, 'insert')
    if (doc) {
      await this.#audit([{ id: userId, action: 'created' }], options.actor)
      return userObject(doc)
    }
    if (!options.getOrCreate) throw conflict(`user ${userId} already exists`)
    const [existing] = await this.#ctx.documents.getDocs(USER_KIND, [userId])
    if (!existing) throw conflict(`user ${userId} was deleted while being created; retry`)
    return userObject(existing)
  }

  /** User `id` (404 when there is none); `withFollowCounts` adds its follower and following counts. */
  async get(id: unknown, options: { withFollowCounts?: boolean } = {}): Promise<UserProfile> {
    const userId = requireId(id, 'id')
    const [doc] = await this.#ctx.documents.getDocs(USER_KIND, [userId])
    if (!doc) throw notFound(`user ${userId} does not exist`)
    const user: UserProfile = userObject(doc)
    if (options.withFollowCounts) {
      const { followers, following } = await this.#ctx.followCounts(userId)
      user.followers_count = followers
      user.following_count = following
    }
    return user
  }

  /** Replaces the data of user `id` (404 when there is none). */
  async update(id: unknown, data: unknown, actor?: string): Promise<UserObject> {
    const userId = requireId(id, 'id')
    self(actor, userId)
    const doc = await this.#ctx.documents.putDoc(
      USER_KIND,
      userId,
      requireData(data ?? {}, 'data', false),
      'update',
    )
    if (!doc) throw notFound(`user ${userId} does not exist`)
    await this.#audit([{ id: userId, action: 'updated' }], actor)
    return userObject(doc)
  }

  /**
   * Changes user `id`'s data with `apply` (given a copy of the stored data, it returns the new
   * data): read and conditional write, repeated while another write moves the user meanwhile, so
   * no concurrent change is lost. 404 when there is none.
   */
  async change(
    id: unknown,
    apply: (data: Record<string, unknown>) => Record<string, unknown>,
    actor?: string,
  ): Promise<UserObject> {
    const userId = requireId(id, 'id')
    self(actor, userId)
    for (let attempt = 0; attempt < CHANGE_ATTEMPTS; attempt++) {
      const [doc] = await this.#ctx.documents.getDocs(USER_KIND, [userId])
      if (!doc) throw notFound(`user ${userId} does not exist`)
      const next = requireData(apply(structuredClone(doc.data)), 'data', false)
      const written = await this.#ctx.documents.putDoc(USER_KIND, userId, next, 'update', doc.updatedAt)
      if (written) {
        await this.#audit([{ id: userId, action: 'updated' }], actor)
        return userObject(written)
      }
    }
    throw conflict(`user ${userId} kept changing while it was being updated; try again`)
  }

  /** Deletes user `id` (404 when there is none). */
  async delete(id: unknown, actor?: string): Promise<void> {
    const userId = requireId(id, 'id')
    self(actor, userId)
    if ((await this.#ctx.documents.deleteDocs(USER_KIND, [userId])) === 0)
      throw notFound(`user ${userId} does not exist`)
    await this.#ctx.forget([userId])
    await this.#audit([{ id: userId, action: 'deleted' }], actor)
  }

  /**
   * Creates users from `{ id, data }` items (1 to {@link MAX_USERS}); existing ones are kept as
   * they are unless `override`, which replaces their data. Resolves with every user as stored.
   */
  async createMany(users: unknown, override?: unknown): Promise<UserObject[]> {
    if (!Array.isArray(users) || users.length === 0 || users.length > MAX_USERS)
      throw inputError(`users must be a list of 1 to ${MAX_USERS} { id, data }`, users, 'users')
    if (override !== undefined && typeof override !== 'boolean')
      throw inputError('override must be a boolean', override, 'override')
    const parsed = users.map((u: unknown) => {
      if (u === null || typeof u !== 'object' || Array.isArray(u))
        throw inputError('users must be a list of { id, data }', u, 'users')
      const { id, data } = u as { id?: unknown; data?: unknown }
      return { id: requireId(id, 'id'), data: requireData(data ?? {}, 'data', false) }
    })
    const out: UserObject[] = []
    const changes: Change[] = []
    for (const u of parsed) {
      const written = await this.#ctx.documents.putDoc(
        USER_KIND,
        u.id,
        u.data,
        override ? 'upsert' : 'insert',
      )
      // An upsert over an existing user moved its updated_at past its created_at.
      if (written)
        changes.push({ id: u.id, action: written.createdAt === written.updatedAt ? 'created' : 'updated' })
      const doc = written ?? (await this.#ctx.documents.getDocs(USER_KIND, [u.id]))[0]
      if (doc) out.push(userObject(doc))
    }
    await this.#audit(changes)
    return out
  }

  /** The users with these ids that exist, in the order asked. */
  async getMany(ids: unknown[]): Promise<UserObject[]> {
    const checked = ids.map((id) => requireId(id, 'ids'))
    if (checked.length === 0) return []
    return (await this.#ctx.documents.getDocs(USER_KIND, checked)).map(userObject)
  }

  /** Users by id, for `SU:` references: those that exist, ids unchecked. */
  async lookup(ids: string[]): Promise<UserObject[]> {
    return (await this.#ctx.documents.getDocs(USER_KIND, ids)).map(userObject)
  }

  /** One page of users in id order (byte order), each after `after` when given; 1 to 1,000 a page. */
  async list(after: string | undefined, limit: number): Promise<UserObject[]> {
    if (!Number.isInteger(limit) || limit < 1 || limit > 1_000)
      throw inputError('limit must be an integer from 1 to 1000', limit, 'limit')
    return (await this.#ctx.documents.listDocs(USER_KIND, after, limit)).map(userObject)
  }

  /** Deletes the users with these ids; resolves with the ids that existed. */
  async deleteMany(ids: unknown[]): Promise<string[]> {
    const checked = ids.map((id) => requireId(id, 'ids'))
    const existing = await this.#ctx.documents.getDocs(USER_KIND, checked)
    await this.#ctx.documents.deleteDocs(USER_KIND, checked)
    await this.#ctx.forget(existing.map((d) => d.id))
    await this.#audit(existing.map((d) => ({ id: d.id, action: 'deleted' })))
    return existing.map((d) => d.id)
  }

  /** Logs changes after they commit: the acting user, else the user each change is about. */
  #audit(changes: Change[], actor?: string): Promise<void> {
    if (changes.length === 0) return Promise.resolve()
    return this.#ctx.recordAudit(changes.map((c) => auditEntry('user', c.id, c.action, actor ?? c.id, {})))
  }
}

/** A user token may change only its own user. */
function self(actor: string | undefined, id: string): void {
  if (actor !== undefined && actor !== id) throw notAllowed()
}
