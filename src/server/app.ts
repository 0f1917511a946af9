/**
 * The Fastify application: CORS, body parsing (JSON, tolerated empty bodies, a size limit),
 * Stream-shaped errors for everything that can go wrong, the health endpoint, the routes, the
 * Faye endpoint for realtime, uploads and link previews, and 501s for the endpoints a later issue
 * brings (personalization, moderation...).
 */
import type { ServerResponse } from 'node:http'
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify'
import type { EddyClient } from '../client/client.js'
import { BODY_BOUNDS, checkBounds } from '../engine/bounds.js'
import { EddyError, inputError } from '../engine/errors.js'
import type { GuestOptions } from '../v3/guest-budget.js'
import { registerV3 } from '../v3/index.js'
import { Authenticator, PUBLIC_READ_GROUPS } from './auth.js'
import type { ServerContext } from './context.js'
import { type CorsOption, registerCors } from './cors.js'
import { errorResponse, httpErrorBody, notImplemented } from './errors.js'
import { OPENAPI_PATH, registerOpenApi } from './openapi.js'
import { DEFAULT_PAGE_CACHE_BYTES, PageCache } from './page-cache.js'
import { type RateLimitOptions, rateLimits } from './rate-limit.js'
import { Realtime } from './realtime.js'
import { DEFAULT_REALTIME_LIMITS, type RealtimeLimits } from './realtime-caps.js'
import { activityRoutes } from './routes/activities.js'
import { auditLogRoutes } from './routes/audit-logs.js'
import { collectionRoutes } from './routes/collections.js'
import { feedRoutes } from './routes/feeds.js'
import { followRoutes } from './routes/follows.js'
import { healthRoutes } from './routes/health.js'
import { ogRoutes } from './routes/og.js'
import { reactionRoutes } from './routes/reactions.js'
import { uploadRoutes } from './routes/uploads.js'
import { userRoutes } from './routes/users.js'
import { AJV_OPTIONS, schemaErrorFormatter } from './schema.js'
import { DEFAULT_UPLOAD_BUDGET, registerUploadBudget, UploadBudget } from './upload-budget.js'
import { type DEFAULT_UPLOAD_QUOTA, UploadQuota, type UploadQuotaOptions } from './upload-quota.js'

/** Default largest request body: 100 activities of 10 KB, with room for JSON overhead. */
export const DEFAULT_BODY_LIMIT = 2 * 1024 * 1024

/** Settings {@link buildApp} needs once the client exists. */
export interface AppOptions {
  client: EddyClient
  apiKey: string
  apiSecret: string
  /** Fastify logger setting (false by default). */
  logger?: boolean | object
  bodyLimit?: number
  /** Feed groups whose feeds any user token may read (default `['user']`). */
  publicReadGroups?: string[]
  /** Per-key and per-user rate limits (off when absent). */
  rateLimit?: RateLimitOptions
  /** Budget of the plain-read page cache in bytes (0: off; default {@link DEFAULT_PAGE_CACHE_BYTES}). */
  pageCacheBytes?: number
  /** Let concurrent add requests share a commit (default true). */
  groupCommit?: boolean
  /** Origins allowed to call from a browser (default: any; see cors.ts). */
  cors?: CorsOption
  /** Realtime subscription and connection caps (default {@link DEFAULT_REALTIME_LIMITS}). */
  realtime?: RealtimeLimits
  /** Request-body bytes read at once across the server (default {@link DEFAULT_UPLOAD_BUDGET}). */
  uploadBudget?: number
  /** The start of upload URLs (default: `http://<the request's Host>/`). */
  publicUrl?: string
  /** Bytes each user may upload per window (default {@link DEFAULT_UPLOAD_QUOTA}; undefined here: off). */
  uploadQuota?: Required<UploadQuotaOptions>
  /** Feeds V3 guests made per client address and window, or false for none (default: guest-budget.ts). */
  guests?: Required<GuestOptions> | false
}

/** Endpoints of Stream's API that Eddy answers with 501 NotImplementedException for now. */
const NOT_IMPLEMENTED: [string, string][] = [
  ['enrich/personalization', 'personalization'],
  ['personalization', 'personalization'],
  ['moderation', 'moderation'],
  ['data_privacy', 'data privacy exports'],
]

const started = Symbol('started')
type Timed = FastifyRequest & { [started]?: number }

function startOf(request: FastifyRequest): number {
  return (request as Timed)[started] ?? performance.now()
}

// The router rejects some URLs before Fastify's hooks run, so these write the Stream body themselves.
function rawError(res: ServerResponse, status: number, detail: string): void {
  const body = JSON.stringify(httpErrorBody(status, detail, performance.now()))
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
  })
  res.end(body)
}

/**
 * For a path outside `/api/v1.0/`, the likely mistake: a client whose base URL lacks `/api/`
 * (getstream appends `v1.0/...` to the base it is given).
 */
function apiHint(path: string, host: string | undefined): string {
  if (path.startsWith('/api/v1.0/') || path === '/health') return ''
  const base = `http://${host ?? '<host>:<port>'}/api/`
  return `; Stream's endpoints are under /api/v1.0/, so point the client at ${base} (getstream: urlOverride: { api: '${base}' })`
}

/** Builds the Fastify instance with every route registered (not listening). */
export function buildApp(options: AppOptions): FastifyInstance {
  const app = Fastify({
    logger: options.logger ?? false,
    bodyLimit: options.bodyLimit ?? DEFAULT_BODY_LIMIT,
    return503OnClosing: true,
    // Route schemas validate without coercing or dropping fields; failures are Stream's 400 (schema.ts).
    ajv: { customOptions: AJV_OPTIONS },
    schemaErrorFormatter,
    routerOptions: {
      ignoreTrailingSlash: true,
      ignoreDuplicateSlashes: true,
      // Stream ids may be 255 characters; longer path segments still reach the handlers and get a 400.
      maxParamLength: 2048,
      onBadUrl: (path, _req, res) =>
        rawError(res, 400, `the path is not valid URL encoding: ${path.slice(0, 200)}`),
      onMaxParamLength: (_path, _req, res) =>
        rawError(res, 414, 'a path segment is longer than 2048 characters'),
    },
  })
  // An answer sent once the server is closing says `Connection: close`, so its keep-alive socket
  // ends with it: otherwise close() waited out Node's keep-alive timeout (5 s) after the last one.
  let closing = false
  app.addHook('preClose', (done) => {
    closing = true
    done()
  })
  app.addHook('onSend', (_request, reply, payload, done) => {
    if (closing) reply.header('connection', 'close')
    done(null, payload)
  })
  registerCors(app, options.cors ?? true)
  const bodyLimit = options.bodyLimit ?? DEFAULT_BODY_LIMIT
  const uploads = new UploadBudget(options.uploadBudget ?? DEFAULT_UPLOAD_BUDGET)
  registerUploadBudget(app, uploads, bodyLimit)
  const ctx: ServerContext = {
    client: options.client,
    engine: options.client.engine,
    auth: new Authenticator(options.apiKey, options.apiSecret),
    publicRead: new Set(options.publicReadGroups ?? PUBLIC_READ_GROUPS),
    limits: rateLimits(options.rateLimit),
    adds: { groupCommit: options.groupCommit ?? true },
  }
  const cacheBytes = options.pageCacheBytes ?? DEFAULT_PAGE_CACHE_BYTES
  if (cacheBytes > 0) {
    const engine = ctx.engine
    ctx.pages = new PageCache(
      cacheBytes,
      (feeds) => engine.pageVersions(feeds),
      // Reads of a turn share one version call, but not behind a fan-out chunk holding the loop.
      () => !engine.deliveringFanout || !engine.blocksEventLoop,
    )
    // A V3 page shows documents, follows and reactions too: only a version that moves with every
    // write vouches for it (none on PostgreSQL + Redis, whose versions follow timelines only).
    ctx.v3Pages = new PageCache(
      cacheBytes,
      (feeds) => engine.everyWriteVersion()?.then((v) => feeds.map(() => v)),
      () => !engine.deliveringFanout || !engine.blocksEventLoop,
    )
  }

  // Callback style, not async: an async hook costs a promise and a microtask on every request.
  app.addHook('onRequest', (request, _reply, done) => {
    ;(request as Timed)[started] = performance.now()
    done()
  })

  // JSON with Fastify's prototype-poisoning guard; an empty body (axios PUT without data) is no body.
  // JSON.parse and the guard are iterative; the depth check then keeps deep bodies away from every
  // recursive step after them (validation, JSON.stringify, structuredClone).
  const json = app.getDefaultJsonParser('error', 'error')
  const parseJson = (
    request: FastifyRequest,
    body: string,
    done: (err: Error | null, value?: unknown) => void,
  ) => {
    if (body.trim() === '') return done(null, undefined)
    json(request, body, (err, value) => {
      if (err) {
        const rule = 'the body must be valid JSON, with no __proto__ key and no constructor.prototype'
        return done(inputError(rule, err.message, 'body'))
      }
      try {
        // Field paths start at the body's keys (`activities[1].verb`), as Stream names fields.
        checkBounds(value, 'body', 'the body', BODY_BOUNDS, '')
      } catch (error) {
        return done(error as Error)
      }
      done(null, value)
    })
  }
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('application/json', { parseAs: 'string' }, parseJson)
  // Other media types: tolerate empty bodies, and read a non-empty one as JSON (clients differ in headers).
  app.addContentTypeParser('*', { parseAs: 'string' }, parseJson)

  app.setErrorHandler((err, request, reply) => {
    const { status, body } = errorResponse(err, startOf(request))
    // Deliberate answers (bad input, auth, the 501s) are the caller's business: info, no stack.
    // Only what Eddy did not mean to throw is an error worth a stack trace.
    if (status >= 500 && !(err instanceof EddyError)) request.log.error({ err }, 'unexpected error')
    else request.log.info({ status, exception: body.exception, detail: body.detail }, 'request rejected')
    return reply.status(status).send(body)
  })
  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0]
    const body = httpErrorBody(
      404,
      `${request.method} ${path} is not an endpoint of this API${apiHint(path, request.headers.host)}`,
      startOf(request),
    )
    return reply.status(404).send(body)
  })

  // Response schemas document answers; bodies are sent as built (a schema-driven serializer
  // would drop or coerce custom activity fields).
  app.setSerializerCompiler(() => (data) => JSON.stringify(data))
  registerOpenApi(app)

  // In a plugin, after the OpenAPI generator: it sees every route added from here on.
  app.register(async (api) => {
    api.get(OPENAPI_PATH, { schema: { hide: true } }, async () => app.swagger())
    healthRoutes(api, ctx)
    feedRoutes(api, ctx)
    followRoutes(api, ctx)
    activityRoutes(api, ctx)
    userRoutes(api, ctx)
    collectionRoutes(api, ctx)
    reactionRoutes(api, ctx)
    auditLogRoutes(api, ctx)
    uploadRoutes(api, ctx, {
      uploads: ctx.client.uploads,
      publicUrl: options.publicUrl,
      budget: uploads,
      bodyLimit,
      quota: options.uploadQuota && new UploadQuota(options.uploadQuota),
    })
    ogRoutes(api, ctx, ctx.client.openGraph)
    for (const [prefix, what] of NOT_IMPLEMENTED) {
      const reject = async () => {
        throw notImplemented(what)
      }
      for (const url of [`/api/v1.0/${prefix}`, `/api/v1.0/${prefix}/*`]) {
        api.route({
          method: ['GET', 'POST', 'PUT', 'DELETE', 'PATCH'],
          url,
          // Not part of the documented API (yet).
          schema: { hide: true },
          onRequest: reject,
          handler: reject,
        })
      }
    }
  })
  // Feeds V3 (/api/v2 and its WebSocket): before Faye attaches, which hands it the other upgrades.
  registerV3(app, ctx, {
    // One cap for realtime connections: Faye clients and V3 WebSockets are each held to it.
    socket: { connections: (options.realtime ?? DEFAULT_REALTIME_LIMITS).connections },
    guests: options.guests,
  })

  const realtime = new Realtime({
    engine: ctx.engine,
    auth: ctx.auth,
    publicRead: ctx.publicRead,
    // Faye's transports read bodies outside Fastify's parser: the same limit holds there.
    bodyLimit,
    cors: options.cors ?? true,
    uploads,
    limits: options.realtime ?? DEFAULT_REALTIME_LIMITS,
  })
  realtime.attach(app.server)
  // Before the HTTP server closes: open long polls and WebSockets would otherwise hold it.
  app.addHook('preClose', (done) => {
    realtime.close()
    done()
  })
  return app
}
