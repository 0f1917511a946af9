/**
 * V3's CreateGuest (`POST /api/v2/guest`): anyone holding the app's key (the client calls it
 * anonymously) gets a new user of role `guest` and a user token for it. A guest is an ordinary
 * user otherwise: its token acts only as itself. It never takes over an existing user: an id that
 * is taken gets a random suffix, as Stream's does. Calls are counted per client address
 * (guest-budget.ts), or refused when the server's guests are off.
 */
import { randomBytes } from 'node:crypto'
import { MAX_DOC_ID, requireId, type UserObject } from '../engine/documents.js'
import { EddyError, inputError } from '../engine/errors.js'
import type { CreateGuestRequest, CreateGuestResponse } from './gen/spec.js'
import type { GuestBudget } from './guest-budget.js'
import { type Edge, v3route } from './http.js'
import { fullUser, userData } from './users.js'

/** The role CreateGuest gives. */
export const GUEST_ROLE = 'guest'
/** Tries at a free id before giving up (each suffix is 8 random hex digits). */
const ATTEMPTS = 4

/** Registers CreateGuest, with `budget` counting its calls. */
export function guestRoutes(edge: Edge, budget: GuestBudget): void {
  const { ctx } = edge
  v3route(
    edge,
    'POST',
    '/guest',
    async ({ body, request, reply }): Promise<Omit<CreateGuestResponse, 'duration'>> => {
      await budget.take(reply, request.ip)
      const input = (body as Partial<CreateGuestRequest>).user
      if (input === null || typeof input !== 'object' || Array.isArray(input))
        throw inputError('user must be an object with an id', input, 'user')
      const wanted = requireId(input.id, 'user.id')
      // Role, teams and the like are not the caller's to choose: a guest is a guest.
      const data = userData(
        { id: wanted, name: input.name, image: input.image, custom: input.custom },
        'user',
      )
      let user: UserObject | undefined
      for (let i = 0; i < ATTEMPTS && !user; i++) {
        const id = i === 0 ? wanted : withSuffix(wanted)
        user = await createIfFree(ctx.engine.users.create.bind(ctx.engine.users), id, data)
      }
      if (!user) throw new EddyError('InputException', `no free id like ${wanted} was found; try another`)
      // Written after the user: a role record never names a user this call did not create.
      await ctx.engine.v3.putRole(user.id, GUEST_ROLE)
      return {
        access_token: await ctx.auth.signUserToken(user.id),
        user: fullUser(user.id, user, GUEST_ROLE),
      }
    },
    201,
  )
}

/** `id` with a random suffix, cut so the result is still a valid id. */
function withSuffix(id: string): string {
  const suffix = `-${randomBytes(4).toString('hex')}`
  return `${id.slice(0, MAX_DOC_ID - suffix.length)}${suffix}`
}

/** Creates the user, or resolves undefined when the id is taken (the engine's 409). */
async function createIfFree(
  create: (id: unknown, data: unknown) => Promise<UserObject>,
  id: string,
  data: Record<string, unknown>,
): Promise<UserObject | undefined> {
  try {
    return await create(id, data)
  } catch (err) {
    if (err instanceof EddyError && err.exception === 'ConflictException') return undefined
    throw err
  }
}
