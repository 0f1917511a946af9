/**
 * The Feeds V3 HTTP edge: a Fastify plugin under `/api/v2` with V3's authentication (`api_key`
 * query, `Stream-Auth-Type: jwt` or `anonymous`, a JWT in `Authorization`), V3's error bodies,
 * and a "not supported by this server" answer for every other operation of the V3 spec.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest, HTTPMethods } from 'fastify'
import { BODY_BOUNDS, checkBounds } from '../engine/bounds.js'
import { inputError } from '../engine/errors.js'
import type { Principal } from '../server/auth.js'
import type { ServerContext } from '../server/context.js'
import { apiKeyError, notAllowed } from '../server/errors.js'
import { errorBody, notSupported, v3ErrorResponse } from './errors.js'
import { SERVED_OPERATIONS, SPEC_OPERATIONS } from './gen/spec.js'

/** Who calls a V3 endpoint: the app (server token), a user, or an anonymous visitor. */
export type Caller = { kind: 'server' } | { kind: 'user'; userId: string } | { kind: 'anonymous' }

/** One authorized V3 call. */
export interface V3Call {
  caller: Caller
  params: Record<string, string>
  query: Record<string, string | string[] | undefined>
  body: Record<string, unknown>
  request: FastifyRequest
  reply: FastifyReply
}

/** The user a caller acts as, or undefined for the app. Anonymous callers may not act. */
export function actingUser(caller: Caller): string | undefined {
  if (caller.kind === 'anonymous') throw notAllowed()
  return caller.kind === 'user' ? caller.userId : undefined
}

/** Throws 403 unless the caller is the app (server token). */
export function requireApp(caller: Caller): void {
  if (caller.kind !== 'server') throw notAllowed()
}

/** Throws 403 unless the caller is the app or `userId` itself. */
export function requireSelf(caller: Caller, userId: string): void {
  if (caller.kind === 'server') return
  if (caller.kind !== 'user' || caller.userId !== userId) throw notAllowed()
}

/** Turns a V1 principal into a V3 caller; a scoped V1 server token must be app-wide. */
export function callerOf(principal: Principal): Caller {
  if (principal.kind === 'user') return { kind: 'user', userId: principal.userId }
  const all = (claims: string[]) => claims.includes('*')
  if (!all(principal.resource) || !all(principal.action) || !all(principal.feedId)) throw notAllowed()
  return { kind: 'server' }
}

/** Authenticates a V3 request (or a WebSocket's first message) from its api key, auth type and token; a deactivated user is refused. */
export async function authenticate(
  ctx: ServerContext,
  apiKey: unknown,
  authType: unknown,
  token: unknown,
): Promise<Caller> {
  if (authType === 'anonymous') {
    // Anonymous callers still need the app's key; they read what is public and write nothing.
    ctx.auth.checkKey(apiKey)
    return { kind: 'anonymous' }
  }
  const caller = callerOf(await ctx.auth.authenticate(apiKey, authType, token))
  // A deactivated user's tokens are refused until the app reactivates it (user-standing.ts).
  if (caller.kind === 'user') await ctx.engine.standing.requireActive(caller.userId)
  return caller
}

/** The V3 plugin's instance, the server's shared state, and the operations registered so far. */
export interface Edge {
  app: FastifyInstance
  ctx: ServerContext
  served: Set<string>
}

/**
 * An answer already serialized: its JSON text without the closing brace, so the route appends
 * `duration` as it does to every answer (a cached V3 feed page is sent as the bytes it was).
 */
export class JsonHead {
  /** `head`: a JSON object's text without its closing `}` (and at least one field). */
  constructor(readonly head: string) {}
}

/** Registers a V3 route (url relative to `/api/v2`; it must be an operation of the spec). */
export function v3route(
  { app, ctx, served }: Edge,
  method: HTTPMethods,
  url: string,
  handler: (call: V3Call) => Promise<object>,
  status = 200,
): void {
  const endpoint = `${method} /api/v2${url}`
  served.add(specOperation(method, url))
  app.route({
    method,
    url,
    // V3's own document is Stream's OpenAPI spec; the server's V1 document leaves these out.
    schema: { hide: true },
    handler: async (request, reply) => {
      const query = request.query as V3Call['query']
      const h = request.headers
      const caller = await authenticate(ctx, query.api_key, h['stream-auth-type'], h.authorization)
      if (ctx.limits) {
        const principal: Principal =
          caller.kind === 'user'
            ? { kind: 'user', userId: caller.userId }
            : { kind: 'server', resource: ['*'], action: ['*'], feedId: ['*'] }
        await ctx.limits.take(reply, endpoint, principal)
      }
      const params = request.params as Record<string, string>
      checkBounds(params, 'path', 'the path', BODY_BOUNDS, '')
      checkBounds(query, 'query', 'the query string', BODY_BOUNDS, '')
      const raw = request.body ?? {}
      if (raw === null || typeof raw !== 'object' || Array.isArray(raw))
        throw inputError('the body must be a JSON object', raw, 'body')
      const body = raw as Record<string, unknown>
      const started = performance.now()
      // The operation's status; a handler may set another (getOrCreate: 200 for an existing feed).
      reply.status(status)
      const result = await handler({ caller, params, query, body, request, reply })
      const duration = `${(performance.now() - started).toFixed(2)}ms`
      if (result instanceof JsonHead)
        return reply
          .type('application/json; charset=utf-8')
          .send(`${result.head},"duration":${JSON.stringify(duration)}}`)
      return { ...result, duration }
    },
  })
}

/** Spec paths (`/api/v2/feeds/{id}`) as Fastify routes (`/feeds/:id`) under the plugin's prefix. */
function fastifyPath(path: string): string {
  return path.replace(/^\/api\/v2/, '').replace(/\{(\w+)\}/g, ':$1')
}

/** What an unsupported operation is part of, for its error message. */
function areaOf(path: string, operationId: string): string {
  const rest = path.replace(/^\/api\/v2\//, '')
  if (rest.startsWith('moderation')) return 'moderation'
  if (rest.startsWith('polls') || rest.includes('/polls')) return 'polls'
  if (rest.startsWith('uploads')) return 'uploads'
  if (rest.startsWith('og')) return 'URL previews'
  if (rest.startsWith('devices') || rest.startsWith('push')) return 'push notifications'
  if (rest.includes('translate')) return 'translation'
  return `the ${operationId} operation`
}

/** Registers the V3 plugin's error handling and the not-supported answers; call inside the plugin. */
export function v3Errors(app: FastifyInstance, served: ReadonlySet<string>): void {
  app.setErrorHandler((err, request, reply) => {
    const { status, body } = v3ErrorResponse(err, performance.now())
    if (status >= 500 && status !== 501) request.log.error({ err }, 'unexpected error')
    return reply.status(status).send(body)
  })
  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0]
    const body = errorBody(
      16,
      `${request.method} ${path} is not an endpoint of the Feeds V3 API`,
      404,
      performance.now(),
    )
    return reply.status(404).send(body)
  })
  for (const [method, path, operationId] of SPEC_OPERATIONS) {
    if (served.has(`${method} ${path}`)) continue
    const area = areaOf(path, operationId)
    const reject = async (request: FastifyRequest) => {
      const query = request.query as Record<string, unknown>
      if (query.api_key === undefined) throw apiKeyError('api_key query parameter is missing')
      throw notSupported(area)
    }
    app.route({
      method: method as HTTPMethods,
      url: fastifyPath(path),
      schema: { hide: true },
      handler: reject,
    })
  }
}

/** Whether the spec has this operation and Eddy serves it (checked when a route is declared). */
export function specOperation(method: string, url: string): string {
  const path = `/api/v2${url.replace(/:(\w+)/g, '{$1}')}`
  const op = SPEC_OPERATIONS.find((o) => o[0] === method && o[1] === path)
  if (!op) throw new Error(`${method} ${path} is not an operation of the Feeds V3 spec`)
  if (!SERVED_OPERATIONS.has(op[2]))
    throw new Error(`${op[2]} is not listed as served in scripts/v3-spec-types.ts`)
  return `${method} ${path}`
}
