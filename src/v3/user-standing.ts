/**
 * V3's user administration on the engine's standing rules (engine/user-standing.ts): deactivate
 * and reactivate users (one, or a batch answered with a task GetTask reads), and blocks. Only the
 * app (a server token) deactivates, reactivates and reads tasks; a user token blocks, unblocks and
 * lists blocks only as its own user.
 */
import { inputError, notFound } from '../engine/errors.js'
import type { ServerContext } from '../server/context.js'
import { errorBody } from './errors.js'
import type { BlockedUserResponse, UserResponse } from './gen/spec.js'
import { type Caller, type Edge, requireApp, requireSelf, v3route } from './http.js'
import type { Hub } from './hub.js'
import { rfc3339 } from './time.js'
import { partialChange, userResponse, usersById } from './users.js'

/** A user as UserResponse with its role and, while deactivated, its `deactivated_at`. */
async function standingUser(ctx: ServerContext, id: string): Promise<UserResponse> {
  const [doc] = await ctx.engine.users.lookup([id])
  if (!doc) throw notFound(`user ${id} does not exist`)
  const user = userResponse(id, doc, (await ctx.engine.v3.roles([id])).get(id))
  const at = (await ctx.engine.standing.deactivated([id])).get(id)
  if (at !== undefined) user.deactivated_at = rfc3339(at)
  return user
}

/** An optional text field of a body (`created_by_id`, `name`). */
function optionalText(body: Record<string, unknown>, field: string): string | undefined {
  const v = body[field]
  if (v === undefined || v === null) return undefined
  if (typeof v !== 'string') throw inputError(`${field} must be a string`, v, field)
  return v
}

/** The user a block call acts for: a user token's own user (a `user_id` must be it), else the app's named `user_id`. */
function blocker(caller: Caller, named: unknown): string {
  if (caller.kind === 'user') {
    if (named !== undefined && named !== null && named !== '') requireSelf(caller, String(named))
    return caller.userId
  }
  requireApp(caller)
  if (typeof named !== 'string' || named === '')
    throw inputError('user_id must name the blocking user when the app calls', named, 'user_id')
  return named
}

/** The `user_id` of a block request: its own field, else its `user`'s id. */
function namedUser(body: Record<string, unknown>): unknown {
  if (body.user_id !== undefined) return body.user_id
  const user = body.user
  return user !== null && typeof user === 'object' ? (user as { id?: unknown }).id : undefined
}

/** Registers DeactivateUser(s), ReactivateUser(s), GetTask and the block routes. */
export function userStandingRoutes(edge: Edge, hub: Hub): void {
  const { ctx } = edge
  const standing = ctx.engine.standing
  // Closes the deactivated users' WebSockets on every server, with the error their tokens now get.
  const disconnect = (ids: Iterable<string>) => {
    for (const id of ids) hub.disconnectUser(id, errorBody(17, standing.refusal(id).detail, 403, 0))
  }

  v3route(
    edge,
    'POST',
    '/users/:user_id/deactivate',
    async ({ caller, params, body }) => {
      requireApp(caller)
      const by = optionalText(body, 'created_by_id')
      await standing.deactivate([params.user_id], by)
      disconnect([params.user_id])
      return { user: await standingUser(ctx, params.user_id) }
    },
    201,
  )

  v3route(
    edge,
    'POST',
    '/users/:user_id/reactivate',
    async ({ caller, params, body }) => {
      requireApp(caller)
      const name = optionalText(body, 'name')
      await standing.reactivate([params.user_id])
      // ReactivateUser may give the user a new name as it comes back.
      if (name !== undefined)
        await ctx.engine.users.change(params.user_id, partialChange({ name }, [], 'body').apply)
      return { user: await standingUser(ctx, params.user_id) }
    },
    201,
  )

  v3route(
    edge,
    'POST',
    '/users/deactivate',
    async ({ caller, body }) => {
      requireApp(caller)
      const at = await standing.deactivate(body.user_ids, optionalText(body, 'created_by_id'))
      disconnect(at.keys())
      const task_id = crypto.randomUUID()
      await ctx.engine.v3.putTask(task_id, 'deactivate-users', { user_ids: [...at.keys()] })
      return { task_id }
    },
    201,
  )

  v3route(
    edge,
    'POST',
    '/users/reactivate',
    async ({ caller, body }) => {
      requireApp(caller)
      const ids = await standing.reactivate(body.user_ids)
      const task_id = crypto.randomUUID()
      await ctx.engine.v3.putTask(task_id, 'reactivate-users', { user_ids: ids })
      return { task_id }
    },
    201,
  )

  v3route(edge, 'GET', '/tasks/:id', async ({ caller, params }) => {
    requireApp(caller)
    const task = await ctx.engine.v3.task(params.id)
    if (!task) throw notFound(`task ${params.id} does not exist`)
    const result = task.data.result
    return {
      task_id: task.id,
      status: String(task.data.status),
      created_at: rfc3339(task.createdAt),
      updated_at: rfc3339(task.updatedAt),
      ...(result !== null && typeof result === 'object' ? { result } : {}),
    }
  })

  v3route(
    edge,
    'POST',
    '/users/block',
    async ({ caller, body }) => {
      const from = blocker(caller, namedUser(body))
      const block = await standing.block(from, body.blocked_user_id)
      return { blocked_by_user_id: from, blocked_user_id: block.id, created_at: rfc3339(block.at) }
    },
    201,
  )

  v3route(
    edge,
    'POST',
    '/users/unblock',
    async ({ caller, body }) => {
      await standing.unblock(blocker(caller, namedUser(body)), body.blocked_user_id)
      return {}
    },
    201,
  )

  v3route(edge, 'GET', '/users/block', async ({ caller, query }) => {
    const from = blocker(caller, query.user_id)
    const blocks = await standing.blocks(from)
    const users = await usersById(ctx, [from, ...blocks.map((b) => b.id)])
    const out: BlockedUserResponse[] = blocks.map((b) => ({
      user: users.get(from) as UserResponse,
      user_id: from,
      blocked_user: users.get(b.id) as UserResponse,
      blocked_user_id: b.id,
      created_at: rfc3339(b.at),
    }))
    return { blocks: out }
  })
}
