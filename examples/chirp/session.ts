/** A demo session: a signed cookie holding the user id. No passwords. */
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { ChirpContext } from './context.js'
import type { User } from './entities.js'

const COOKIE = 'chirp_user'

/** `onRequest` hook: sets `request.me` from the cookie. */
export function sessionHook(ctx: ChirpContext) {
  return async (request: FastifyRequest) => {
    const raw = request.cookies[COOKIE]
    if (!raw) return
    const { valid, value } = request.unsignCookie(raw)
    const id = valid && value ? Number(value) : Number.NaN
    if (Number.isSafeInteger(id)) request.me = (await ctx.users.findOneBy({ id })) ?? undefined
  }
}

export function signIn(reply: FastifyReply, user: User): void {
  reply.setCookie(COOKIE, String(user.id), {
    signed: true,
    httpOnly: true,
    sameSite: 'lax',
    path: '/',
    maxAge: 30 * 86_400,
  })
}

export function signOut(reply: FastifyReply): void {
  reply.clearCookie(COOKIE, { path: '/' })
}

/** The signed-in user; otherwise redirects to the sign-in page and returns undefined. */
export function requireMe(request: FastifyRequest, reply: FastifyReply): User | undefined {
  if (request.me) return request.me
  void reply.redirect('/signin', 303)
  return undefined
}

/** A local path to go back to after a form post (never another site). */
export function safeBack(value: unknown, fallback = '/'): string {
  return typeof value === 'string' && /^\/(?![/\\])/.test(value) ? value : fallback
}
