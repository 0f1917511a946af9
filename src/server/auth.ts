/**
 * Authentication (api_key + HS256 JWT, verified with jose) and authorization: scope checks for
 * server tokens and Stream's default permission policy for user tokens (stream-api.md §2).
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto'
import { errors as joseErrors, jwtVerify, SignJWT } from 'jose'
import type { FeedRef } from '../engine/feed-groups.js'
import { mayReadFeed, type Reader } from '../engine/read-policy.js'
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
  /**
   * The feeds the call touches, each `<slug>:<userId>` (every one must be covered), or `*` for
   * app-wide calls. Tokens sign a feed as `<slug><userId>`, with no colon (see {@link coversFeed}).
   */
  feedId: string | string[]
}

/** Most verified tokens remembered, so a hot client does not pay for HMAC on every call. */
const CACHE_SIZE = 10_000
const USER_ID = /^[\w-]+$/
/** A compact JWT: three base64url segments, with no padding, whitespace or other characters. */
const COMPACT_JWT = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/
/** Longest token accepted, in characters; Stream's tokens are a few hundred. Bounds the cache's memory. */
export const MAX_TOKEN_LENGTH = 4_096

/**
 * True when `token` is a JWT in canonical compact form: only base64url characters, and each
 * segment re-encodes to the same text. A lenient decoder maps many texts to one signature (spare
 * low bits in the last character, `=` padding, spaces); each would verify and take its own cache
 * slot. Only the canonical text does, so one signed token is one cache entry.
 */
export function isCanonicalJwt(token: string): boolean {
  if (token.length > MAX_TOKEN_LENGTH || !COMPACT_JWT.test(token)) return false
  for (const segment of token.split('.')) {
    if (Buffer.from(segment, 'base64url').toString('base64url') !== segment) return false
  }
  return true
}

/** A claim the token itself carries: own properties only, never one inherited from a prototype. */
function claim(payload: Record<string, unknown>, name: string): unknown {
  return Object.hasOwn(payload, name) ? payload[name] : undefined
}

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
    this.checkKey(apiKey)
    if (authType !== undefined && authType !== 'jwt') {
      throw signatureError(`stream-auth-type must be jwt, got ${JSON.stringify(authType).slice(0, 40)}`)
    }
    if (typeof token !== 'string' || token === '')
      throw signatureError('Authorization header with a JWT is missing')
    // stream-php signs its batch calls with an HTTP Signature over the method, path and Date only:
    // not the body, so one seen request would authorize any body on that path. Refused, saying so.
    if (token.startsWith('Signature '))
      throw signatureError(
        'HTTP Signature authentication is not accepted: it signs the method, path and date but not the body; send a JWT signed with the API secret',
      )
    return this.verify(token)
  }

  /** A user token for `userId`, signed with the app's secret (V3's CreateGuest hands one out). */
  signUserToken(userId: string): Promise<string> {
    return new SignJWT({ user_id: userId })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setIssuedAt()
      .sign(this.#secret)
  }

  /** Throws 401 unless `apiKey` is this app's key (compared in constant time). */
  checkKey(apiKey: unknown): void {
    if (typeof apiKey !== 'string' || apiKey === '') throw apiKeyError('api_key query parameter is missing')
    if (!sameKey(apiKey, this.#key, this.#keyScratch)) throw apiKeyError('api_key not found')
  }

  /**
   * Verifies a token (the Authorization header's, or one a client signs into a body, such as a
   * follow's `target_token`) and returns whom it names; a 401 when it does not verify.
   */
  verify(token: string): Principal | Promise<Principal> {
    const cached = this.#cache.get(token)
    if (cached && (cached.expMs === undefined || cached.expMs > Date.now())) return cached.principal
    // Only canonical tokens reach jose (and so the cache); the cache holds nothing else, so hits skip this.
    if (!isCanonicalJwt(token)) {
      throw signatureError(
        `the token must be a compact JWT: three base64url segments (A-Z a-z 0-9 - _, no padding or spaces), at most ${MAX_TOKEN_LENGTH} characters`,
      )
    }
    return this.#verify(token)
  }

  /**
   * Whether `signature` is the legacy feed signature of `together` (`<slug><userId>`) that older
   * clients (stream-php) still sign `to` targets and follow targets with: base64url, unpadded, of
   * HMAC-SHA1 keyed with the SHA-1 of the API secret. Compared in constant time.
   */
  isFeedSignature(together: string, signature: string): boolean {
    const key = createHash('sha1').update(this.#secret).digest()
    const expected = Buffer.from(createHmac('sha1', key).update(together).digest('base64url'))
    const given = Buffer.from(signature)
    return given.length === expected.length && timingSafeEqual(given, expected)
  }

  /** How many verified tokens are remembered (at most 10,000; the cache empties when full). */
  get cachedTokens(): number {
    return this.#cache.size
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
    const expClaim = claim(payload, 'exp')
    const exp = typeof expClaim === 'number' ? expClaim * 1000 : undefined
    this.#cache.set(token, exp === undefined ? { principal } : { principal, expMs: exp })
    return principal
  }
}

function toPrincipal(payload: Record<string, unknown>): Principal {
  const resource = claim(payload, 'resource')
  const userId = claim(payload, 'user_id')
  // Stream's current server SDKs (node-sdk, stream-py...) sign `{ server: true }`: the whole app.
  if (resource === undefined && claim(payload, 'server') === true)
    return { kind: 'server', resource: ['*'], action: ['*'], feedId: ['*'] }
  if (resource === undefined) {
    if (typeof userId !== 'string' || !USER_ID.test(userId) || userId.length > 255) {
      throw signatureError('a user token needs a user_id of letters, numbers, - or _')
    }
    return { kind: 'user', userId }
  }
  const feedId = claim(payload, 'feed_id')
  const principal: Principal = {
    kind: 'server',
    resource: claimList(resource, 'resource'),
    action: claimList(claim(payload, 'action'), 'action'),
    feedId: feedId === undefined ? [] : claimList(feedId, 'feed_id'),
  }
  if (typeof userId === 'string') principal.userId = userId
  return principal
}

function allows(claims: string[], wanted: string): boolean {
  return claims.includes('*') || claims.includes(wanted)
}

/**
 * The configured slug a `<slug><userId>` text starts with: the longest one that leaves a user id.
 * The client joins the two with no separator, so `timeline_aggregatedbob` could also be read as
 * timeline:_aggregatedbob; it names one feed only, the longest slug's (Faye channels read the same).
 */
export function leadingSlug(together: string, slugs: Iterable<string>): string | undefined {
  let best: string | undefined
  for (const slug of slugs) {
    if (together.length > slug.length && together.startsWith(slug) && slug.length > (best?.length ?? -1))
      best = slug
  }
  return best
}

/**
 * Whether a `feed_id` claim covers `feed` (`<slug>:<userId>`, or `*` for app-wide calls): `*`
 * covers everything; otherwise the claim must be exactly `<slug><userId>` and read with the
 * longest configured slug (or the feed's own slug, when that is not configured: the route then
 * answers with its own 400) as this very feed.
 */
export function coversFeed(claims: string[], feed: string, slugs: ReadonlyMap<string, unknown>): boolean {
  if (claims.includes('*')) return true
  if (feed === '*') return false
  const colon = feed.indexOf(':')
  if (colon <= 0) return false
  const slug = feed.slice(0, colon)
  const together = slug + feed.slice(colon + 1)
  if (!claims.includes(together)) return false
  const known = slugs.has(slug) ? slugs.keys() : [...slugs.keys(), slug]
  return leadingSlug(together, known) === slug
}

/**
 * Throws 403 unless a server token's resource, action and feed_id cover `scope`; `slugs` are the
 * configured feed groups, which decide how a `feed_id` claim splits into slug and user id.
 */
export function checkScope(principal: Principal, scope: Scope, slugs: ReadonlyMap<string, unknown>): void {
  if (principal.kind !== 'server') return
  if (!allows(principal.resource, scope.resource) || !allows(principal.action, scope.action))
    throw notAllowed()
  for (const feed of [scope.feedId].flat()) if (!coversFeed(principal.feedId, feed, slugs)) throw notAllowed()
}

/** The action a method needs, as go2 names them. */
export function actionFor(method: string): Scope['action'] {
  if (method === 'GET' || method === 'HEAD') return 'read'
  return method === 'DELETE' ? 'delete' : 'write'
}

/** Feed groups any user may read (others' `user` feeds, as on Stream's default policy). */
export const PUBLIC_READ_GROUPS = new Set(['user'])

/** The user a user token acts as, or undefined for server tokens (which skip permission checks). */
export function userOf(principal: Principal): string | undefined {
  return principal.kind === 'user' ? principal.userId : undefined
}

/** The reader a user token reads as (see engine/read-policy.ts), or undefined for server tokens. */
export function readerOf(principal: Principal, publicRead: ReadonlySet<string>): Reader | undefined {
  return principal.kind === 'user' ? { user: principal.userId, publicRead } : undefined
}

/** Throws 403 unless a user token may read `feed`. */
export function requireRead(
  principal: Principal,
  feed: FeedRef,
  publicRead: ReadonlySet<string> = PUBLIC_READ_GROUPS,
): void {
  const reader = readerOf(principal, publicRead)
  if (reader !== undefined && !mayReadFeed(reader, feed)) throw notAllowed()
}

/** Throws 403 unless a user token owns `feed` (writes, follows, follow listings). */
export function requireOwn(principal: Principal, feed: FeedRef): void {
  const user = userOf(principal)
  if (user !== undefined && feed.userId !== user) throw notAllowed()
}

/** Throws 403 unless the caller is a server token (batch and admin calls). */
export function requireServer(principal: Principal): void {
  if (principal.kind !== 'server') throw notAllowed()
}
