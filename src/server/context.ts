/** What every route shares: the client, the authenticator, and helpers to declare authorized routes. */
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { FastifyInstance, FastifyReply, FastifyRequest, HTTPMethods } from 'fastify'
import type { Static, TSchema } from 'typebox'
import type { EddyClient } from '../client/client.js'
import { BOOLEAN_SPELLINGS, booleanValue } from '../engine/booleans.js'
import { BODY_BOUNDS, checkBounds } from '../engine/bounds.js'
import type { Engine } from '../engine/engine.js'
import { inputError } from '../engine/errors.js'
import { timed } from '../wire/duration.js'
import { type Authenticator, actionFor, checkScope, type Principal } from './auth.js'
import type { PageCache } from './page-cache.js'
import type { RateLimits } from './rate-limit.js'

/** Shared state of one server. */
export interface ServerContext {
  client: EddyClient
  engine: Engine
  auth: Authenticator
  /** Feed groups any user token may read (default: `user`). */
  publicRead: Set<string>
  /** Rate limits, when any is configured. */
  limits?: RateLimits
  /** Serialized plain read pages (absent when disabled). */
  pages?: PageCache
  /** Serialized V3 feed pages, checked against the store's every-write version (absent when disabled). */
  v3Pages?: PageCache
  /** How adds are written: `groupCommit` lets concurrent requests share a commit. */
  adds: { groupCommit: boolean }
}

/** Path parameters, URL-decoded by the router. */
export type Params = Record<string, string>
/** The parsed query string (a repeated key gives a list). */
export type Query = Record<string, string | string[] | undefined>

/** The schema of one route: TypeBox schemas of its parts, and what the OpenAPI document says about it. */
export interface RouteSchema {
  /** One line for the OpenAPI document. */
  summary: string
  description?: string
  /** The OpenAPI tag grouping it (feeds, activities, follows...). */
  tags: string[]
  params?: TSchema
  querystring?: TSchema
  body?: TSchema
  /** Documented answers by status (responses are sent as built; see docs/server.md, "Route schemas"). */
  response?: Record<number, TSchema>
}

/** The validated type of one part of a request, or `fallback` when the route has no schema for it. */
type Part<S extends RouteSchema, K extends 'params' | 'querystring' | 'body', Fallback> = S[K] extends TSchema
  ? Static<S[K]>
  : Fallback

/** One authorized call: who calls, with what (typed by the route's schema). */
export interface Call<S extends RouteSchema = RouteSchema> {
  principal: Principal
  params: Part<S, 'params', Params>
  query: Part<S, 'querystring', Query>
  body: Part<S, 'body', unknown>
  request: FastifyRequest
  /** The reply, for headers such as `Retry-After` (the handler returns the body). */
  reply: FastifyReply
}

/** A response already serialized to JSON text (the hot read path builds it without parsing). */
export class RawJson {
  constructor(readonly text: string) {}
}

/** What {@link route} registers: the endpoint, the scope a server token needs, and the schema. */
export interface RouteSpec<S extends RouteSchema> {
  method: HTTPMethods
  url: string
  /** The token `resource` this call needs (`feed`, `follower`, `reactions`...). */
  resource: string
  /** The `<slug>:<id>` feeds a server token's feed_id must cover, or `*` for app-wide calls. */
  feedOf: (params: Params, query: Query) => string | string[]
  schema: S
}

/**
 * Declares a route: authenticates, checks the server token's scope, then reports the schema's
 * verdict, runs `handler` with the validated request, and sends its JSON. The schema check runs
 * before the handler but is reported after authentication, so an unauthenticated caller learns
 * nothing about what a body should be (a 401 comes first, as before schemas).
 */
export function route<S extends RouteSchema>(
  app: FastifyInstance,
  ctx: ServerContext,
  spec: RouteSpec<S>,
  handler: (call: Call<S>) => Promise<object>,
): void {
  const { method, url, resource, feedOf } = spec
  const action = actionFor(method)
  const endpoint = `${method} ${url}`
  app.withTypeProvider<TypeBoxTypeProvider>().route({
    method,
    url,
    schema: spec.schema as RouteSchema,
    attachValidation: true,
    handler: async (request: FastifyRequest, reply: FastifyReply) => {
      const query = request.query as Query
      const headers = request.headers
      const authenticated = ctx.auth.authenticate(
        query.api_key,
        headers['stream-auth-type'],
        headers.authorization,
      )
      // A known token comes back synchronously; only a new one needs awaiting (see Authenticator).
      const principal = authenticated instanceof Promise ? await authenticated : authenticated
      // A user the app deactivated (V3's DeactivateUser) has its tokens refused on V1 too.
      if (principal.kind === 'user') await ctx.engine.standing.requireActive(principal.userId)
      if (ctx.limits) await ctx.limits.take(reply, endpoint, principal)
      const params = request.params as Params
      // Text no store can keep is refused in any parameter, named (the body is checked as parsed).
      checkBounds(params, 'path', 'the path', BODY_BOUNDS, '')
      checkBounds(query, 'query', 'the query string', BODY_BOUNDS, '')
      checkScope(principal, { resource, action, feedId: feedOf(params, query) }, ctx.engine.groups)
      // The schema's verdict (schemaErrorFormatter made it Stream's InputException).
      if (request.validationError) throw request.validationError
      // The parts are what schema S validated (a failure was thrown above).
      const call = { principal, params, query, body: request.body, request, reply } as Call<S>
      const body = await handler(call)
      // Prebuilt JSON text: set the type so Fastify sends the string as is (no serializer pass).
      if (body instanceof RawJson) return reply.type(JSON_TYPE).send(body.text)
      return reply.send(body)
    },
  })
}

const JSON_TYPE = 'application/json; charset=utf-8'

/** A single-valued query parameter, or undefined; a repeated one is a 400. */
export function qstr(query: Query, name: string): string | undefined {
  const v = query[name]
  if (Array.isArray(v)) throw inputError(`query parameter ${name} must be given once`, v, name)
  return v
}

/** A boolean query parameter, in any spelling Stream accepts (`true`, `True`, `1`...; see booleans.ts). */
export function qbool(query: Query, name: string): boolean {
  const v = booleanValue(qstr(query, name))
  if (v === undefined)
    throw inputError(`query parameter ${name} must be ${BOOLEAN_SPELLINGS}`, query[name], name)
  return v
}

/** A comma-separated list query parameter (empty items dropped), at most `max` items. */
export function qlist(query: Query, name: string, max = 100): string[] | undefined {
  const v = qstr(query, name)
  if (v === undefined) return undefined
  const items = v
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
  if (items.length > max) throw inputError(`${name} may list at most ${max} items`, items.length, name)
  return items
}

/** Times a handler's own response: `{ ...body, duration }` (Stream's wire, src/wire). */
export { timed }
