/**
 * ioredis, loaded on first use and described structurally (as `pg` is for the PostgreSQL store):
 * importing `eddy` must not load it, and Eddy's declarations must not name its types, which
 * consumers without the optional peer dependency do not have.
 *
 * Connection settings follow ../shared scale-out measurements (§3, §5): a cluster client whose
 * redirection retries outlast a failover (replica promoted 3.5–4.7 s after a kill -9 with
 * `cluster-node-timeout 2000`: 40 redirections 200 ms apart), and no autopipelining, which breaks
 * Lua scripts with a variable key count on a cluster.
 */
import { createRequire } from 'node:module'
import { StoreError } from '../errors.js'
import { plainReason, watchRedis } from '../outage.js'

/** The parts of an ioredis pipeline Eddy uses. */
export interface RedisPipeline {
  call(command: string, ...args: (string | number | Buffer)[]): RedisPipeline
  exec(): Promise<[Error | null, unknown][] | null>
  [script: string]: unknown
}

/** The parts of an ioredis client (`Redis` or `Cluster`) Eddy uses. */
export interface RedisClient {
  call(command: string, ...args: (string | number | Buffer)[]): Promise<unknown>
  pipeline(): RedisPipeline
  defineCommand(name: string, definition: { lua: string }): void
  connect(): Promise<void>
  quit(): Promise<unknown>
  disconnect(): void
  on(event: string, listener: (...args: unknown[]) => void): unknown
  readonly status: string
  /** Cluster only: the nodes ("host:port") serving each slot, master first. */
  readonly slots?: string[][]
  /** Cluster only: asks the cluster which node serves which slot again. */
  refreshSlotsCache?(): void
  /** Cluster only: the node clients. */
  nodes?(role: 'master' | 'slave' | 'all'): RedisClient[]
  readonly options?: { host?: string; port?: number }
  [script: string]: unknown
}

interface IoRedisModule {
  new (options: Record<string, unknown>): RedisClient
  Cluster: new (nodes: { host: string; port: number }[], options: Record<string, unknown>) => RedisClient
}

/** A parsed `redis://`, `rediss://` or `redis-cluster://` location. */
export interface RedisLocation {
  cluster: boolean
  tls: boolean
  nodes: { host: string; port: number }[]
  username?: string
  password?: string
  db: number
  /** Query parameters, for Eddy's own settings (`prefix`, `cap`, `wait`). */
  params: URLSearchParams
  /** The location as messages may show it: no user or password. */
  shown: string
}

const SCHEMES = 'redis://host:6379, rediss://host:6380 or redis-cluster://host:7000,host:7001'

/** A bad location: the caller's to fix, named by `field` (never echoing a password). */
export function badLocation(field: string, why: string): StoreError {
  return new StoreError('config', `${field} is not a Redis location (${why}); expected ${SCHEMES}`, { field })
}

/** Parses a Redis location; throws a {@link StoreError} naming `field` when it is not one. */
export function parseLocation(url: string, field: string): RedisLocation {
  const match = /^(redis|rediss|redis-cluster):\/\/(?:([^@/?]*)@)?([^/?]*)(\/\d*)?(\?.*)?$/.exec(url)
  if (!match) {
    const scheme = /^[a-z+-]+:/.exec(url)?.[0]
    throw badLocation(field, scheme ? `its scheme is ${JSON.stringify(scheme)}` : 'it has no scheme')
  }
  const [, scheme, auth, hostList, path, query] = match
  const cluster = scheme === 'redis-cluster'
  const nodes = hostList.split(',').map((part) => {
    const m = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(part)
    if (!m) throw badLocation(field, `${JSON.stringify(part)} is not host:port`)
    const port = Number(m[2] ?? 6379)
    if (!Number.isInteger(port) || port < 1 || port > 65535)
      throw badLocation(field, `port ${m[2]} is out of range`)
    return { host: m[1].replace(/^\[|\]$/g, ''), port }
  })
  if (nodes.length === 0 || nodes[0].host === '') throw badLocation(field, 'it names no host')
  if (!cluster && nodes.length > 1) throw badLocation(field, 'several hosts need redis-cluster://')
  let username: string | undefined
  let password: string | undefined
  if (auth !== undefined) {
    const colon = auth.indexOf(':')
    username = decodeURIComponent(colon < 0 ? auth : auth.slice(0, colon)) || undefined
    password = colon < 0 ? undefined : decodeURIComponent(auth.slice(colon + 1))
  }
  const db = path && path.length > 1 ? Number(path.slice(1)) : 0
  if (cluster && db !== 0) throw badLocation(field, 'a cluster has only database 0')
  const shownNodes = nodes.map((n) => `${n.host.includes(':') ? `[${n.host}]` : n.host}:${n.port}`).join(',')
  return {
    cluster,
    tls: scheme === 'rediss',
    nodes,
    username,
    password,
    db,
    params: new URLSearchParams(query ?? ''),
    shown: `${scheme}://${shownNodes}${db ? `/${db}` : ''}`,
  }
}

let driver: IoRedisModule | undefined

/** Loads ioredis on the first call; a missing package is a StoreError saying what to install. */
export function loadIoRedis(): IoRedisModule {
  if (driver) return driver
  try {
    const loaded = createRequire(import.meta.url)('ioredis') as IoRedisModule & { default?: IoRedisModule }
    const ioredis = loaded.Cluster ? loaded : loaded.default
    if (!ioredis?.Cluster)
      throw new Error('the `ioredis` module exports no Cluster (neither named nor on its default export)')
    driver = ioredis
    return driver
  } catch (error) {
    throw new StoreError(
      'config',
      'Redis timelines need the `ioredis` package, which is not installed: run `npm install ioredis`',
      { field: 'timelines', cause: error },
    )
  }
}

/** What a client is for: timelines fail fast on an outage; a BullMQ worker waits it out. */
export type ClientRole = 'timelines' | 'queue'

/**
 * A client for `location`, not yet connected (call `connect()`). Commands fail after a few
 * reconnection attempts (timelines: a write inside a PostgreSQL transaction must not wait for an
 * outage to end), or never (BullMQ needs `maxRetriesPerRequest: null`).
 */
export function createClient(location: RedisLocation, role: ClientRole): RedisClient {
  const IoRedis = loadIoRedis()
  const perRequest = role === 'queue' ? null : 3
  const common: Record<string, unknown> = {
    username: location.username,
    password: location.password,
    maxRetriesPerRequest: perRequest,
    enableAutoPipelining: false,
    ...(location.tls ? { tls: {} } : {}),
  }
  if (!location.cluster) {
    const client = new IoRedis({
      ...common,
      host: location.nodes[0].host,
      port: location.nodes[0].port,
      db: location.db,
      lazyConnect: true,
      // Reconnect quickly at first, then every 2 s: the outage ends whenever Redis is back.
      retryStrategy: (times: number) => Math.min(times * 100, 2000),
    })
    // One line when this Redis goes down and one when it is back, however many retries between.
    watchRedis(client, location.shown)
    return client
  }
  const cluster = new IoRedis.Cluster(location.nodes, {
    lazyConnect: true,
    // ioredis's own check reconnects forever while a slot fails; connectChecked says why instead.
    enableReadyCheck: false,
    redisOptions: common,
    enableAutoPipelining: false,
    // Outlast a failover (scale-out.md §3: these settings lost and duplicated nothing).
    retryDelayOnFailover: 200,
    retryDelayOnMoved: 200,
    retryDelayOnClusterDown: 200,
    maxRedirections: 40,
    clusterRetryStrategy: (times: number) => Math.min(times * 100, 2000),
  })
  watchRedis(cluster, location.shown)
  return cluster
}

/** Errors a client reports between commands; kept so an unhandled 'error' event cannot crash the process. */
export function quietErrors(client: RedisClient): void {
  client.on('error', () => undefined)
  client.on('node error', () => undefined)
}

/**
 * Connects and checks the server answers, and for a cluster that every slot is served
 * (`cluster_state:ok`); rejects with a StoreError naming the location otherwise.
 */
export async function connectChecked(
  client: RedisClient,
  location: RedisLocation,
  what: string,
): Promise<void> {
  quietErrors(client)
  // ioredis rejects with "Connection is closed"; the socket's own error says why.
  let cause: Error | undefined
  const remember = (error: unknown) => {
    cause = error as Error
  }
  client.on('error', remember)
  client.on('node error', remember)
  let timer: NodeJS.Timeout | undefined
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`no answer within ${CONNECT_TIMEOUT_MS / 1000} s`)),
      CONNECT_TIMEOUT_MS,
    )
  })
  try {
    await Promise.race([client.connect(), limit])
    if (location.cluster) {
      const info = String(await Promise.race([client.call('CLUSTER', 'INFO'), limit]))
      const state = /cluster_state:(\w+)/.exec(info)?.[1]
      if (state !== 'ok') {
        const failed = /cluster_slots_fail:(\d+)/.exec(info)?.[1] ?? '?'
        throw new Error(
          `the cluster's state is ${state ?? 'unknown'} (${failed} slots failed); every slot must be served`,
        )
      }
    } else await Promise.race([client.call('PING'), limit])
  } catch (error) {
    client.disconnect()
    // ioredis says "Connection is closed"; the socket's error says why, in plain words.
    const reason =
      plainReason(error) === 'the connection is down' && cause ? plainReason(cause) : plainReason(error)
    throw new StoreError(
      'unavailable',
      `cannot use Redis at ${location.shown} for ${what}: ${reason}; check that Redis is running and reachable there and that the URL's host, port and password are right`,
      { cause: error },
    )
  } finally {
    clearTimeout(timer)
  }
}

/** How long opening may take before it fails (a server that accepts but never answers). */
const CONNECT_TIMEOUT_MS = 10_000
