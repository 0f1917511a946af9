/**
 * V3 users on the engine's users (the same documents V1's `/user/` routes keep): V3's `name` and
 * `image` are the V1 data's `name` and `image`, every other data key is V3's `custom`. Role,
 * language and teams are not stored (every user is a `user`).
 */

import { requireData, requireId, type UserObject } from '../engine/documents.js'
import { inputError } from '../engine/errors.js'
import type { ServerContext } from '../server/context.js'
import type { FullUserResponse, UserRequest, UserResponse } from './gen/spec.js'
import { type Edge, requireApp, requireSelf, v3route } from './http.js'
import { rfc3339 } from './time.js'
import { parseUserQuery, queryUsers } from './user-query.js'

/** Most users one UpdateUsers call may carry (Stream's limit). */
const MAX_USERS = 100
const NOW = () => new Date().toISOString()

/** A stored user as V3's UserResponse (a user with no document yet: its id, as Stream shows unknown users). */
export function userResponse(id: string, doc?: UserObject, role = 'user'): UserResponse {
  const data = { ...(doc?.data ?? {}) }
  const name = typeof data.name === 'string' ? data.name : undefined
  const image = typeof data.image === 'string' ? data.image : undefined
  delete data.name
  delete data.image
  const user: UserResponse = {
    id,
    banned: false,
    blocked_user_ids: [],
    created_at: doc ? rfc3339(doc.created_at) : NOW(),
    updated_at: doc ? rfc3339(doc.updated_at) : NOW(),
    custom: data,
    language: '',
    online: false,
    role,
    teams: [],
    invisible: false,
    shadow_banned: false,
  }
  if (name !== undefined) user.name = name
  if (image !== undefined) user.image = image
  return user
}

/** A stored user as V3's FullUserResponse (UpdateUsers, QueryUsers, the WebSocket's `me`). */
export function fullUser(id: string, doc?: UserObject, role?: string): FullUserResponse {
  return {
    ...userResponse(id, doc, role),
    blocked_user_ids: [],
    devices: [],
    invisible: false,
    mutes: [],
    channel_mutes: [],
    unread_count: 0,
    total_unread_count: 0,
    unread_channels: 0,
    unread_threads: 0,
    shadow_banned: false,
  }
}

/** The V1 user data a V3 UserRequest stands for. */
export function userData(input: UserRequest, field: string): Record<string, unknown> {
  const custom = input.custom === undefined ? {} : requireData(input.custom, `${field}.custom`, false)
  const data: Record<string, unknown> = { ...custom }
  for (const key of ['name', 'image'] as const) {
    const v = input[key]
    if (v === undefined || v === null) continue
    if (typeof v !== 'string') throw inputError(`${field}.${key} must be a string`, v, `${field}.${key}`)
    data[key] = v
  }
  return requireData(data, field, false)
}

/** The users of `ids` (each once), as UserResponse, by id; those in `known` are taken from it, not read. */
export async function usersById(
  ctx: ServerContext,
  ids: Iterable<string>,
  known?: ReadonlyMap<string, UserResponse>,
): Promise<Map<string, UserResponse>> {
  const unique = [...new Set(ids)].filter((id) => id !== '')
  // Users this request has read already (`known`) are not read again.
  const missing = known ? unique.filter((id) => !known.has(id)) : unique
  const docs = missing.length === 0 ? [] : await ctx.engine.users.lookup(missing)
  const byId = new Map(docs.map((d) => [d.id, d]))
  return new Map(unique.map((id) => [id, known?.get(id) ?? userResponse(id, byId.get(id))]))
}

/** Creates or updates a user (the WebSocket's `user_details`, UpdateUsers); returns it as stored. */
export async function upsertUser(
  ctx: ServerContext,
  input: UserRequest,
  field: string,
  keepExisting = false,
): Promise<UserObject> {
  const id = requireId(input.id, `${field}.id`)
  const data = userData(input, field)
  const people = ctx.engine.users
  if (keepExisting) {
    const [existing] = await people.lookup([id])
    if (existing) {
      // Connecting names the user's public fields; custom data is kept unless given.
      if (Object.keys(data).length === 0) return existing
      return people.update(id, { ...existing.data, ...data })
    }
  }
  const [written] = await people.createMany([{ id, data }], true)
  if (!written) throw inputError(`user ${id} could not be written`, id, `${field}.id`)
  return written
}

/** Registers the V3 user routes. */
export function userRoutes(edge: Edge): void {
  const { ctx } = edge
  const people = ctx.engine.users

  v3route(edge, 'POST', '/users', async ({ caller, body }) => {
    const users = body.users
    if (users === null || typeof users !== 'object' || Array.isArray(users))
      throw inputError('users must be an object of user id to user', users, 'users')
    const entries = Object.entries(users as Record<string, UserRequest>)
    if (entries.length === 0 || entries.length > MAX_USERS)
      throw inputError(`users must name 1 to ${MAX_USERS} users`, entries.length, 'users')
    for (const [key, u] of entries) {
      if (u === null || typeof u !== 'object')
        throw inputError('each user must be an object', u, `users.${key}`)
      requireSelf(caller, String(u.id))
      // Only the app gives roles (a user's own SDK may still say `user`).
      if (u.role !== undefined && u.role !== 'user') requireApp(caller)
    }
    const out: Record<string, FullUserResponse> = {}
    for (const [key, u] of entries) {
      const row = await upsertUser(ctx, u, `users.${key}`)
      const role =
        caller.kind === 'server' && typeof u.role === 'string' && u.role !== '' ? u.role : undefined
      if (role !== undefined) await ctx.engine.v3.putRole(row.id, role)
      out[row.id] = fullUser(row.id, row, role ?? (await ctx.engine.v3.roles([row.id])).get(row.id))
    }
    return { users: out, membership_deletion_task_id: '' }
  })

  v3route(edge, 'PATCH', '/users', async ({ caller, body }) => {
    const users = body.users
    if (!Array.isArray(users) || users.length === 0 || users.length > MAX_USERS)
      throw inputError(`users must be a list of 1 to ${MAX_USERS} { id, set, unset }`, users, 'users')
    const out: Record<string, FullUserResponse> = {}
    for (const [i, u] of users.entries()) {
      const change = (u ?? {}) as { id?: unknown; set?: unknown; unset?: unknown }
      const id = requireId(change.id, `users[${i}].id`)
      requireSelf(caller, id)
      const { apply, role } = partialChange(change.set, change.unset, `users[${i}]`)
      if (role !== undefined) requireApp(caller)
      const row = await people.change(id, apply)
      if (role !== undefined) await ctx.engine.v3.putRole(id, role)
      out[id] = fullUser(id, row, role ?? (await ctx.engine.v3.roles([id])).get(id))
    }
    return { users: out, membership_deletion_task_id: '' }
  })

  v3route(edge, 'GET', '/users', async ({ query }) => {
    // Anyone with the app's key may look users up (anonymous visitors and guests too): profiles are public.
    return { users: await queryUsers(ctx, parseUserQuery(query.payload)) }
  })

  v3route(edge, 'POST', '/users/delete', async ({ caller, body }) => {
    requireApp(caller)
    const ids = body.user_ids
    if (!Array.isArray(ids) || ids.length === 0 || ids.length > MAX_USERS)
      throw inputError(`user_ids must be a list of 1 to ${MAX_USERS} ids`, ids, 'user_ids')
    const deleted = await people.deleteMany(ids)
    await ctx.engine.v3.deleteRoles(deleted)
    // Deleted before answering: the task GetTask shows is complete, naming the users that existed.
    const task_id = crypto.randomUUID()
    await ctx.engine.v3.putTask(task_id, 'delete-users', { deleted_user_ids: deleted })
    return { task_id }
  })
}

/** User fields of V3 that Eddy does not store: a partial update naming them is refused, not ignored. */
const NOT_STORED = new Set([
  'teams',
  'teams_role',
  'language',
  'invisible',
  'privacy_settings',
  'banned',
  'id',
])

/**
 * A V3 partial user update (`set`, `unset`) as a change of the stored data: `name`, `image`,
 * `custom` (merged) and any other key as a custom field; `role` apart (only the app sets it).
 */
export function partialChange(
  set: unknown,
  unset: unknown,
  field: string,
): { apply: (data: Record<string, unknown>) => Record<string, unknown>; role?: string } {
  const fields = set ?? {}
  if (fields === null || typeof fields !== 'object' || Array.isArray(fields))
    throw inputError('set must be an object', fields, `${field}.set`)
  const removed = unset ?? []
  if (!Array.isArray(removed) || !removed.every((k) => typeof k === 'string'))
    throw inputError('unset must be a list of field names', removed, `${field}.unset`)
  const changes: Record<string, unknown> = {}
  let role: string | undefined
  for (const [k, v] of Object.entries(fields)) {
    if (NOT_STORED.has(k)) throw inputError(`Eddy does not store a user's ${k}`, k, `${field}.set.${k}`)
    if (k === 'role') {
      if (typeof v !== 'string' || v === '') throw inputError('role must be text', v, `${field}.set.role`)
      role = v
    } else if (k === 'custom') {
      if (v === null || typeof v !== 'object' || Array.isArray(v))
        throw inputError('custom must be an object', v, `${field}.set.custom`)
      Object.assign(changes, v)
    } else if ((k === 'name' || k === 'image') && typeof v !== 'string')
      throw inputError(`${k} must be text`, v, `${field}.set.${k}`)
    else changes[k] = v
  }
  const apply = (data: Record<string, unknown>) => {
    Object.assign(data, changes)
    for (const k of removed as string[]) delete data[k.startsWith('custom.') ? k.slice(7) : k]
    return data
  }
  return role === undefined ? { apply } : { apply, role }
}
