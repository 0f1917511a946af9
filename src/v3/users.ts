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

/** The users of `ids` (each once), as UserResponse, by id. */
export async function usersById(
  ctx: ServerContext,
  ids: Iterable<string>,
): Promise<Map<string, UserResponse>> {
  const unique = [...new Set(ids)].filter((id) => id !== '')
  const docs = unique.length === 0 ? [] : await ctx.engine.users.lookup(unique)
  const byId = new Map(docs.map((d) => [d.id, d]))
  return new Map(unique.map((id) => [id, userResponse(id, byId.get(id))]))
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
    }
    const out: Record<string, FullUserResponse> = {}
    for (const [key, u] of entries) {
      const row = await upsertUser(ctx, u, `users.${key}`)
      out[row.id] = fullUser(row.id, row)
    }
    return { users: out, membership_deletion_task_id: '' }
  })

  v3route(edge, 'PATCH', '/users', async ({ caller, body }) => {
    const users = body.users
    if (!Array.isArray(users) || users.length === 0 || users.length > MAX_USERS)
      throw inputError(`users must be a list of 1 to ${MAX_USERS} { id, set, unset }`, users, 'users')
    const out: Record<string, FullUserResponse> = {}
    for (const [i, u] of users.entries()) {
      const change = u as { id?: unknown; set?: Record<string, unknown>; unset?: unknown }
      const id = requireId(change?.id, `users[${i}].id`)
      requireSelf(caller, id)
      const [existing] = await people.lookup([id])
      if (!existing) throw inputError(`user ${id} does not exist`, id, `users[${i}].id`)
      const set = change.set ?? {}
      const data = { ...existing.data }
      for (const [k, v] of Object.entries(set)) {
        if (k === 'custom' && v && typeof v === 'object') Object.assign(data, v)
        else if (k === 'name' || k === 'image') data[k] = v
      }
      for (const k of Array.isArray(change.unset) ? change.unset : []) delete data[String(k)]
      const row = await people.update(id, requireData(data, `users[${i}]`, false))
      out[id] = fullUser(id, row)
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
    return { task_id: crypto.randomUUID() }
  })
}
