/**
 * Settings of the integration, read on every use (unlike stream-django, which freezes them at
 * import): `configure({ userFeed: 'profile' })` takes effect on the next call.
 */
import { createRequire } from 'node:module'
import { type ConnectOptions, connect, type EddyClient } from '../client/client.js'
import { inputError } from '../engine/errors.js'
import { checkOptionNames } from '../engine/option-names.js'
import type { FeedManager } from './feed-manager.js'
import { type FeedClient, isFeedClient } from './types.js'

/** What publishing a tracked row was doing when it failed. */
export interface PublishErrorInfo {
  action: 'create' | 'delete'
  instance: unknown
  model: string
}

/** Which client the integration talks to. */
export type ClientSetting =
  /** The embedded Eddy client (`connect()`), created on first use. The default. */
  | 'embedded'
  /** The official `getstream` package, built from apiKey/apiSecret/appId/location/timeout/baseUrl. */
  | 'getstream'
  /** Options for an embedded client, e.g. `{ store: 'sqlite:data/feeds.db', feedGroups }`. */
  | ConnectOptions
  /** Any getstream-shaped client: an `EddyClient`, `stream.connect(...)`, a test double. */
  | FeedClient
  /** A factory, called once on first use (and again after the settings change). */
  | (() => FeedClient)

/** Every setting, with stream-django's names in TypeScript form. */
export interface EddySettings {
  /** Stream (or Eddy server) API key; used when `client` is `'getstream'`. */
  apiKey: string | undefined
  /** API secret; used when `client` is `'getstream'`. */
  apiSecret: string | undefined
  /** Stream app id (optional for server-side clients). */
  appId: string | undefined
  /** Stream region, e.g. `us-east`. */
  location: string | undefined
  /** Request timeout in seconds (stream-django's default: 6). */
  timeout: number
  /** API base URL for `'getstream'`, e.g. the Eddy server's `http://127.0.0.1:8000/api/`. */
  baseUrl: string | undefined
  /** The feed manager class; `feedManager` becomes a new instance of it when this changes. */
  feedManagerClass: (new () => FeedManager) | undefined
  /** Feed group activities are written to (stream-django's `STREAM_USER_FEED`). */
  userFeed: string
  /** News feeds that follow user feeds; only the keys are used, as in stream-django. */
  newsFeeds: Record<string, string> | string[]
  /** Notification feed group (the setting the code reads, unlike stream-django). */
  notificationFeed: string
  /** Turns automatic model tracking off everywhere. */
  disableModelTracking: boolean
  /** The client to use; the embedded Eddy client by default. */
  client: ClientSetting
  /**
   * Called when publishing a tracked row fails. Without it the error propagates out of the ORM
   * call that committed the row (as in stream-django, where it escapes `save()`).
   */
  onPublishError: ((error: unknown, info: PublishErrorInfo) => void) | undefined
}

/** The defaults, stream-django's. */
export const DEFAULT_SETTINGS: Readonly<EddySettings> = Object.freeze({
  apiKey: undefined,
  apiSecret: undefined,
  appId: undefined,
  location: undefined,
  timeout: 6,
  baseUrl: undefined,
  feedManagerClass: undefined,
  userFeed: 'user',
  newsFeeds: { timeline: 'timeline', timeline_aggregated: 'timeline_aggregated' },
  notificationFeed: 'notification',
  disableModelTracking: false,
  client: 'embedded',
  onPublishError: undefined,
})

const CLIENT_KEYS = ['client', 'apiKey', 'apiSecret', 'appId', 'location', 'timeout', 'baseUrl'] as const

let current: EddySettings = { ...DEFAULT_SETTINGS }
let cachedClient: FeedClient | undefined
let ownedClient: EddyClient | undefined
let version = 0

/** The current settings (read-only view). */
export function getSettings(): Readonly<EddySettings> {
  return current
}

/** A number that changes whenever the settings do (lets caches notice). */
export function settingsVersion(): number {
  return version
}

function validate(s: EddySettings): void {
  const name = (value: unknown, field: string) => {
    if (typeof value !== 'string' || !/^\w+$/.test(value))
      throw inputError(`${field} must be a feed group name`, value, field)
  }
  name(s.userFeed, 'userFeed')
  name(s.notificationFeed, 'notificationFeed')
  const keys = Array.isArray(s.newsFeeds)
    ? s.newsFeeds
    : s.newsFeeds && typeof s.newsFeeds === 'object'
      ? Object.keys(s.newsFeeds)
      : null
  if (!keys)
    throw inputError(
      'newsFeeds must be an object like { timeline: "timeline" } or a list',
      s.newsFeeds,
      'newsFeeds',
    )
  for (const k of keys) name(k, 'newsFeeds')
  if (typeof s.timeout !== 'number' || !(s.timeout > 0))
    throw inputError('timeout must be a positive number of seconds', s.timeout, 'timeout')
  if (typeof s.disableModelTracking !== 'boolean') {
    throw inputError('disableModelTracking must be a boolean', s.disableModelTracking, 'disableModelTracking')
  }
  if (s.feedManagerClass !== undefined && typeof s.feedManagerClass !== 'function') {
    throw inputError(
      'feedManagerClass must be a class extending FeedManager',
      s.feedManagerClass,
      'feedManagerClass',
    )
  }
}

/**
 * Changes settings; what is not given keeps its value. Takes effect immediately: a new client
 * is made on next use if a client setting changed, a new manager if `feedManagerClass` did.
 * Returns the settings now in force.
 */
export function configure(changes: Partial<EddySettings> = {}): Readonly<EddySettings> {
  if (changes === null || typeof changes !== 'object')
    throw inputError('configure takes an object', changes, 'settings')
  checkOptionNames(changes, Object.keys(DEFAULT_SETTINGS), 'configure()', 'setting')
  const next: EddySettings = { ...current }
  for (const [key, value] of Object.entries(changes)) {
    ;(next as any)[key] = value === undefined ? (DEFAULT_SETTINGS as any)[key] : value
  }
  validate(next)
  const clientChanged = CLIENT_KEYS.some((k) => next[k] !== current[k])
  current = next
  version++
  if (clientChanged) dropClient()
  return current
}

/**
 * Back to the defaults (tests). Closes the embedded client the integration created, if any.
 */
export async function resetSettings(): Promise<void> {
  const owned = ownedClient
  current = { ...DEFAULT_SETTINGS }
  version++
  cachedClient = undefined
  ownedClient = undefined
  if (owned) await owned.close()
}

function dropClient(): void {
  const owned = ownedClient
  cachedClient = undefined
  ownedClient = undefined
  if (owned) void owned.close().catch(() => undefined)
}

function getstreamClient(s: EddySettings): FeedClient {
  if (!s.apiKey || !s.apiSecret) {
    throw inputError("client 'getstream' needs apiKey and apiSecret", { apiKey: s.apiKey }, 'apiKey')
  }
  let stream: any
  try {
    stream = createRequire(import.meta.url)('getstream')
  } catch (error) {
    throw new Error(
      `client 'getstream' needs the getstream package (npm install getstream): ${(error as Error).message}`,
    )
  }
  const connectFn = stream.connect ?? stream.default?.connect
  return connectFn(s.apiKey, s.apiSecret, s.appId, {
    location: s.location,
    timeout: s.timeout * 1000,
    ...(s.baseUrl ? { urlOverride: { api: s.baseUrl } } : {}),
  })
}

/** The configured client, created on first use. */
export function getClient(): FeedClient {
  if (cachedClient) return cachedClient
  const setting = current.client
  let made: FeedClient
  if (setting === undefined || setting === 'embedded') {
    ownedClient = connect()
    made = ownedClient
  } else if (setting === 'getstream') {
    made = getstreamClient(current)
  } else if (isFeedClient(setting)) {
    made = setting
  } else if (typeof setting === 'function') {
    made = (setting as () => FeedClient)()
    if (!isFeedClient(made))
      throw inputError('the client factory must return an object with feed(slug, id)', made, 'client')
  } else if (typeof setting === 'object' && setting !== null) {
    ownedClient = connect(setting as ConnectOptions)
    made = ownedClient
  } else {
    throw inputError(
      "client must be 'embedded', 'getstream', connect options or a client with feed(slug, id)",
      setting,
      'client',
    )
  }
  cachedClient = made
  return made
}

/**
 * The configured client, for low-level access:
 * `client.feed('special', '42').follow('timeline', '60')`. Always forwards to the client in
 * force at call time.
 */
export const client: FeedClient & Partial<EddyClient> = new Proxy({} as FeedClient & Partial<EddyClient>, {
  get(_target, property) {
    const target = getClient() as any
    const value = target[property]
    return typeof value === 'function' ? value.bind(target) : value
  },
  has(_target, property) {
    return property in (getClient() as object)
  },
})
