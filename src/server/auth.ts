/**
 * Authentication (api_key + HS256 JWT, verified with jose) and authorization: scope checks for
 * server tokens and Stream's default permission policy for user tokens (stream-api.md §2).
 */
import { timingSafeEqual } from 'node:crypto'
import { errors as joseErrors, jwtVerify } from 'jose'
import type { FeedRef } from '../engine/feed-groups.js'
import { apiKeyError, notAllowed, signatureError } from './errors.js'

/** Who is calling: a server (scope) token, or a user token. */
export type Principal =
  | { kind: 'server'; resource: string[]; action: string[]; feedId: string[]; userId?: string }
  | { kind: 'user'; userId: string }

/** The scope a route needs from a server token. */
export interface Scope {
  /** go2's resource names: feed, follower, activities, feed_targets, collections, users... */
  resource: string
  action: 'read' | 'write' | 'delete'
  /** `<slug><userId>` (no colon, as the client signs it) or `*` for app-wide calls. */
  feedId: string
}

/** Most verified tokens remembered, so a hot client does not pay for HMAC on every call. */
const CACHE_SIZE = 10_000
const USER_ID = /^[\w-]+$/

/**
 * Constant-time equality of `value` with `expected` (only the length can leak, as usual).
 * `scratch` is a buffer of expected.length bytes reused on every call: the key is checked on
 * every request, and encoding into it avoids allocating a Buffer each time.
 */
function sameKey(value: string, expected: Buffer, scratch: Buffer): boolean {
  if (Buffer.byteLength(value) !== expected.length) return false
  scratch.write(value)
  return timingSafeEqual(scratch, expected)
}

function claimList(value: unknown, name: string): string[] {
  if (typeof value !== 'string' || value === '')
    throw signatureError(`token claim ${name} must be a non-empty string`)
  return value.split(',').map((v) => v.trim())
}

/** Checks api keys and tokens for one app. */
export class Authenticator {
  readonly #key: Buffer
  readonly #keyScratch: Buffer
  readonly #secret: Uint8Array
  readonly #cache = new Map<string, { principal: Principal; expMs?: number }>()

  constructor(apiKey: string, apiSecret: string) {
    this.#key = Buffer.from(apiKey)
    this.#keyScratch = Buffer.alloc(this.#key.length)
    this.#secret = new TextEncoder().encode(apiSecret)
  }

  /**
   * Verifies the request's api_key and Authorization header and returns the caller. A token
   * verified before (and not expired) is answered synchronously, saving a promise and a microtask
   * on nearly every request of a busy client. Unknown tokens are always verified with jose (the
   * promise branch).
   */
  authenticate(apiKey: unknown, authType: unknown, token: unknown): Principal | Promise<Principal> {
    if (typeof apiKey !== 'string' || apiKey === '') throw apiKeyError('api_key query parameter is missing')
    if (!sameKey(apiKey, this.#key, this.#keyScratch)) throw apiKeyError('api_key not found')
    if (authType !== undefined && authType !== 'jwt') {
      throw signatureError(`stream-auth-type must be jwt, got ${JSON.stringify(authType).slice(0, 40)}`)
    }
    if (typeof token !== 'string' || token === '')
      throw signatureError('Authorization header with a JWT is missing')
    const cached = this.#cache.get(token)
    if (cached && (cached.expMs === undefined || cached.expMs > Date.now())) return cached.principal
    return this.#verify(token)
  }

  async #verify(token: string): Promise<Principal> {
    let payload: Record<string, unknown>
    try {
      ;({ payload } = await jwtVerify(token, this.#secret, { algorithms: ['HS256'] }))
    } catch (err) {
      if (err instanceof joseErrors.JWTExpired) throw signatureError('signature has expired')
      throw signatureError(
        'signature is not valid; the token must be an HS256 JWT signed with the API secret',
      )
    }
    const principal = toPrincipal(payload)
    if (this.#cache.size >= CACHE_SIZE) this.#cache.clear()
    const exp = typeof payload.exp === 'number' ? payload.exp * 1000 : undefined
    this.#cache.set(token, exp === undefined ? { principal } : { principal, expMs: exp })
    return principal
  }
}

function toPrincipal(payload: Record<string, unknown>): Principal {
  if (payload.resource === undefined) {
    const userId = payload.user_id
    if (typeof userId !== 'string' || !USER_ID.test(userId) || userId.length > 255) {
      throw signatureError('a user token needs a user_id of letters, numbers, - or _')
    }
    return { kind: 'user', userId }
  }
  const principal: Principal = {
    kind: 'server',
    resource: claimList(payload.resource, 'resource'),
    action: claimList(payload.action, 'action'),
    feedId: payload.feed_id === undefined ? [] : claimList(payload.feed_id, 'feed_id'),
  }
  if (typeof payload.user_id === 'string') principal.userId = payload.user_id
  return principal
}

function allows(claims: string[], wanted: string): boolean {
  return claims.includes('*') || claims.includes(wanted)
}

/** Throws 403 unless a server token's resource, action and feed_id cover `scope`. */
export function checkScope(principal: Principal, scope: Scope): void {
  if (principal.kind !== 'server') return
  if (!allows(principal.resource, scope.resource) || !allows(principal.action, scope.action))
    throw notAllowed()
  if (!allows(principal.feedId, scope.feedId)) throw notAllowed()
}

/** The action a method needs, as go2 names them. */
export function actionFor(method: string): Scope['action'] {
  if (method === 'GET' || method === 'HEAD') return 'read'
  return method === 'DELETE' ? 'delete' : 'write'
}

/** A feed's id as the client signs it into `feed_id`: slug and user id with no colon. */
export function scopeFeedId(feed: FeedRef): string {
  return feed.slug + feed.userId
}

/** Feed groups any user may read (others' `user` feeds, as on Stream's default policy). */
export const PUBLIC_READ_GROUPS = new Set(['user'])

/** The user a user token acts as, or undefined for server tokens (which skip permission checks). */
export function userOf(principal: Principal): string | undefined {
  return principal.kind === 'user' ? principal.userId : undefined
}

/** Throws 403 unless a user token may read `feed`. */
export function requireRead(principal: Principal, feed: FeedRef, publicRead = PUBLIC_READ_GROUPS): void {
  const user = userOf(principal)
  if (user !== undefined && feed.userId !== user && !publicRead.has(feed.slug)) throw notAllowed()
}

/** Throws 403 unless a user token owns `feed` (writes, follows, follow listings). */
export function requireOwn(principal: Principal, feed: FeedRef): void {
  const user = userOf(principal)
  if (user !== undefined && feed.userId !== user) throw notAllowed()
}

/** Throws 403 unless a user token may deliver to each `to` target: its own feeds or notification feeds. */
export function requireTargets(principal: Principal, targets: FeedRef[]): void {
  const user = userOf(principal)
  if (user === undefined) return
  for (const t of targets) if (t.userId !== user && t.group.kind !== 'notification') throw notAllowed()
}

/** Throws 403 when a user token writes an activity whose actor is someone else. */
export function requireActor(principal: Principal, actor: unknown): void {
  const user = userOf(principal)
  if (user === undefined) return
  if (actor !== `SU:${user}` && actor !== user) throw notAllowed()
}

/** Throws 403 unless the caller is a server token (batch and admin calls). */
export function requireServer(principal: Principal): void {
  if (principal.kind !== 'server') throw notAllowed()
}
