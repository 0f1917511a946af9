/**
 * The Eddy server: Stream's Feeds v1 REST API over Eddy, so the unmodified `getstream` client
 * (and Stream's other SDKs) can use a self-hosted Eddy.
 *
 * @example
 * ```ts
 * import { createServer } from 'eddy/server'
 * const app = createServer({ store: 'sqlite:feeds.db', apiKey: 'key', apiSecret: 'secret' })
 * await app.listen({ port: 8000, host: '127.0.0.1' })
 * // stream.connect('key', 'secret', 'app', { urlOverride: { api: 'http://127.0.0.1:8000/api/' } })
 * ```
 * @module
 */
import type { FastifyInstance } from 'fastify'
import { connect, type EddyClient } from '../client/client.js'
import { inputError } from '../engine/errors.js'
import type { FeedGroupOptions } from '../engine/feed-groups.js'
import { checkOptionNames } from '../engine/option-names.js'
import { intOption } from '../engine/options.js'
import type { Store } from '../store/store.js'
import type { UploadsOptions } from '../uploads/index.js'
import { type GuestOptions, guestOption } from '../v3/guest-budget.js'
import { buildApp, DEFAULT_BODY_LIMIT } from './app.js'
import { type CorsOption, corsOption } from './cors.js'
import { DEFAULT_PAGE_CACHE_BYTES } from './page-cache.js'
import { type RateLimitOptions, rateLimitOptions } from './rate-limit.js'
import { type RealtimeLimits, realtimeLimits } from './realtime-caps.js'
import { uploadBudgetOption } from './upload-budget.js'
import { type UploadQuotaOptions, uploadQuotaOption } from './upload-quota.js'

export type { GuestOptions } from '../v3/guest-budget.js'
export { DEFAULT_BODY_LIMIT } from './app.js'
export { type Principal, PUBLIC_READ_GROUPS } from './auth.js'
export type { CorsOption } from './cors.js'
export { NOT_ALLOWED_DETAIL } from './errors.js'
export type { RateLimitOptions } from './rate-limit.js'
export { DEFAULT_REALTIME_LIMITS, type RealtimeLimits } from './realtime-caps.js'
export type { UploadQuotaOptions } from './upload-quota.js'

/** Options of {@link createServer}. */
export interface ServerOptions {
  /** An existing client to serve (the app keeps owning it: closing the server does not close it). */
  client?: EddyClient
  /**
   * Store to open when no client is given: `'memory'`, `'sqlite:<file>'`,
   * `'postgres://user@host:5432/db'` or a Store. Default SQLite.
   */
  store?: string | Store
  /** Feed groups merged over the defaults, when no client is given. */
  feedGroups?: Record<string, FeedGroupOptions>
  /** The API key clients pass as `api_key`. */
  apiKey: string
  /** The HS256 secret tokens are signed with; must not contain `.` (the client treats that as a token). */
  apiSecret: string
  /** Fastify's logger option (off by default). */
  logger?: boolean | object
  /** Largest request body in bytes (default 2 MiB). */
  bodyLimit?: number
  /** Feed groups whose feeds any user token may read (default `['user']`). */
  publicReadGroups?: string[]
  /**
   * Rate limits like Stream's, per endpoint and window: `{ perKey, perUser, windowSeconds }`
   * (e.g. `{ perUser: 60 }`, Stream's per-user default). Off by default.
   */
  rateLimit?: RateLimitOptions | false
  /**
   * Bytes of plain feed pages kept serialized and served while the store's data is unchanged
   * (any write, from any process, empties the cache); 0 turns it off. Default 16 MiB. Only
   * stores with a data version (SQLite) cache.
   */
  pageCacheBytes?: number
  /**
   * Concurrent add requests share one commit (SQLite: those that arrive in the same turn of the
   * event loop); each is answered only after that commit, so durability is unchanged. Default true.
   */
  groupCommit?: boolean
  /**
   * Record changes for `GET audit_logs/` (default true), when no client is given; a client passed
   * in keeps its own `auditLog` setting.
   */
  auditLog?: boolean
  /**
   * Browser origins allowed to call the server (CORS): `true`/`'*'` any origin (default: tokens,
   * not cookies, authorise every call; docs/server.md), `false` none, or a list such as
   * `['https://app.example.com']`.
   */
  cors?: CorsOption
  /**
   * Realtime (Faye) caps, each optional: `channelsPerConnection` (100), `channelsPerUser` (1,000
   * per server) and `connections` (100,000); docs/server.md, Realtime limits.
   */
  realtime?: Partial<RealtimeLimits>
  /**
   * Request-body bytes the server reads at once, API and Faye together (default 64 MiB): a body
   * that would pass it gets a 503 and its connection closed (docs/server.md, Limits).
   */
  uploadBudget?: number
  /**
   * Bytes each user token's user may upload per window, files and images together (default
   * `{ perUser: 100 MiB, windowSeconds: 3600 }`; `false` off): past it Stream's 429. Server
   * tokens are not counted (docs/server.md, Uploads).
   */
  uploadQuota?: UploadQuotaOptions | false
  /**
   * Uploads and link previews (docs/server.md, Uploads): `publicUrl`, the start of upload URLs
   * (default `http://<the request's Host>/`; set it behind a proxy or CDN), and, when no client
   * is given, where bytes live, size and pixel limits and `og` settings (a client passed in keeps
   * its own, from `connect({ uploads })`).
   */
  uploads?: UploadsOptions & { publicUrl?: string }
  /**
   * Feeds V3 guests (CreateGuest, open to anyone with the API key): at most `perAddress` per client
   * address and window (default `{ perAddress: 60, windowSeconds: 3600 }`; `perAddress: 0`
   * unbounded), or `false` for no guests at all (docs/v3.md, Permissions and bounds).
   */
  guests?: GuestOptions | false
}

// Every option createServer() reads; typed so that a new option cannot be forgotten here.
const SERVER_OPTIONS = Object.keys({
  client: true,
  store: true,
  feedGroups: true,
  apiKey: true,
  apiSecret: true,
  logger: true,
  bodyLimit: true,
  publicReadGroups: true,
  rateLimit: true,
  pageCacheBytes: true,
  groupCommit: true,
  auditLog: true,
  cors: true,
  realtime: true,
  uploadBudget: true,
  uploadQuota: true,
  uploads: true,
  guests: true,
} satisfies Record<keyof ServerOptions, true>)

function booleanOption(value: unknown, field: string, fallback: boolean): boolean {
  if (value === undefined) return fallback
  if (typeof value !== 'boolean') throw inputError(`${field} must be true or false`, value, field)
  return value
}

/** Builds the server (not listening yet): call `.listen()`, or `.inject()` in tests. */
export function createServer(options: ServerOptions): FastifyInstance {
  if (options === null || typeof options !== 'object')
    throw inputError('server options must be an object', options, 'options')
  checkOptionNames(options, SERVER_OPTIONS, 'createServer()')
  const { apiKey, apiSecret } = options
  if (typeof apiKey !== 'string' || apiKey === '')
    throw inputError('apiKey must be a non-empty string', apiKey, 'apiKey')
  if (typeof apiSecret !== 'string' || apiSecret === '' || apiSecret.includes('.')) {
    throw inputError('apiSecret must be a non-empty string without "."', '(hidden)', 'apiSecret')
  }
  const rateLimit = rateLimitOptions(options.rateLimit)
  const owned = options.client === undefined
  const { publicUrl, ...uploads } = options.uploads ?? {}
  if (publicUrl !== undefined && (typeof publicUrl !== 'string' || !/^https?:\/\/[^/]+\/?/.test(publicUrl)))
    throw inputError(
      'uploads.publicUrl must be an http(s) URL such as https://cdn.example.com/',
      publicUrl,
      'uploads.publicUrl',
    )
  if (!owned && Object.keys(uploads).length > 0)
    throw inputError(
      'uploads settings other than publicUrl belong to connect({ uploads }) of the client passed in',
      Object.keys(uploads),
      'uploads',
    )
  const client =
    options.client ??
    connect({
      store: options.store,
      feedGroups: options.feedGroups,
      auditLog: options.auditLog ?? true,
      uploads,
    })
  const app = buildApp({
    client,
    apiKey,
    apiSecret,
    logger: options.logger,
    bodyLimit: options.bodyLimit ?? DEFAULT_BODY_LIMIT,
    publicReadGroups: options.publicReadGroups,
    rateLimit,
    pageCacheBytes: intOption(options.pageCacheBytes, 'pageCacheBytes', 0, 2 ** 31, DEFAULT_PAGE_CACHE_BYTES),
    groupCommit: booleanOption(options.groupCommit, 'groupCommit', true),
    cors: corsOption(options.cors),
    realtime: realtimeLimits(options.realtime),
    uploadBudget: uploadBudgetOption(options.uploadBudget),
    uploadQuota: uploadQuotaOption(options.uploadQuota),
    guests: guestOption(options.guests),
    publicUrl: publicUrl === undefined || publicUrl.endsWith('/') ? publicUrl : `${publicUrl}/`,
  })
  // The store must be open before the server answers: a store that cannot open (PostgreSQL
  // unreachable, refused login) fails listen()/ready() with the EddyError that says why.
  app.addHook('onReady', async () => {
    await client.ready()
  })
  // A client we opened is ours to close: pending fan-out finishes, then the store is released.
  if (owned) app.addHook('onClose', async () => client.close())
  return app
}
