/**
 * CORS (`@fastify/cors`), so a browser app on its own origin calls the server directly, as apps
 * call Stream's API. The default allows every origin: calls are authorised by a token in the
 * Authorization header, never by cookies (credentials are not allowed), so another site's page
 * can do nothing a visitor's browser could not already do with a token it holds; a user token
 * acts only as its user. docs/server.md says when to narrow it.
 */
import cors from '@fastify/cors'
import type { FastifyInstance } from 'fastify'
import { inputError } from '../engine/errors.js'

/** `true` or `'*'`: any origin (default); `false`: no CORS headers; a list: only these origins. */
export type CorsOption = boolean | '*' | string[]

/** Every method the official client uses, and the headers it sends (stream-api.md §2). */
export const CORS_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE']
/** Request headers a browser may send cross-origin (the Feeds V3 client adds x-client-request-id). */
export const CORS_HEADERS = [
  'Authorization',
  'stream-auth-type',
  'X-Stream-Client',
  'Content-Type',
  'x-client-request-id',
]
/** Response headers a browser app may read (rate-limit state). */
const EXPOSED = ['x-ratelimit-limit', 'x-ratelimit-remaining', 'x-ratelimit-reset', 'retry-after']
/** Seconds a browser may reuse a preflight answer. */
const MAX_AGE = 86_400

/** Validates the `cors` option: undefined is the permissive default. */
export function corsOption(value: unknown): CorsOption {
  if (value === undefined) return true
  if (typeof value === 'boolean' || value === '*') return value
  if (Array.isArray(value) && value.length > 0 && value.every((o) => typeof o === 'string' && validOrigin(o)))
    return value as string[]
  throw inputError(
    "cors must be true, false, '*' or a non-empty list of origins such as 'https://app.example.com' (scheme, host, optional port)",
    value,
    'cors',
  )
}

function validOrigin(origin: string): boolean {
  try {
    const url = new URL(origin)
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.origin === origin
  } catch {
    return false
  }
}

/** Registers CORS on `app` as `option` says (nothing for false). */
export function registerCors(app: FastifyInstance, option: CorsOption): void {
  if (option === false) return
  app.register(cors, {
    origin: option === true || option === '*' ? '*' : option,
    methods: CORS_METHODS,
    allowedHeaders: CORS_HEADERS,
    exposedHeaders: EXPOSED,
    credentials: false,
    maxAge: MAX_AGE,
    // Answer preflights before anything else (authentication, rate limits, the 501 routes).
    hook: 'onRequest',
  })
}

/** Whether `option` lets a browser page on `origin` read answers (the REST routes' rule). */
export function corsAllows(option: CorsOption, origin: string): boolean {
  return option === true || option === '*' || (Array.isArray(option) && option.includes(origin))
}
