/**
 * Eddy on PostgreSQL with timelines in Redis or a Redis Cluster (`eddy/redis`); see
 * docs/scale-out.md. `ioredis` (and `pg`) are optional peer dependencies, loaded by the first open.
 */

import { StoreError } from '../errors.js'
import type { PgPool } from '../postgres/driver.js'
import { checkActiveWindow, type FeedReadTiming, parseActiveWindow } from '../postgres/feed-reads.js'
import { openPostgresStore } from '../postgres/index.js'
import type { PostgresStore } from '../postgres/postgres-store.js'
import { connectChecked, createClient, parseLocation, type RedisClient } from './driver.js'
import { migrateTimelines } from './pg-schema.js'
import { RedisTimelineStore } from './redis-timelines.js'
import { RedisTimelines, type TimelineSettings } from './timelines.js'

export { POSTGRES_REDIS_CAPABILITIES, REDIS_CAPABILITIES } from './capabilities.js'
export type { RedisClient, RedisLocation, RedisPipeline } from './driver.js'
export { parseLocation } from './driver.js'
export { BUCKETS, bucketOf } from './keys.js'
export { BullFanoutQueue, chunkId, type QueueOptions } from './queue.js'
export { type RebuildOptions, type RebuildProgress, rebuildTimelines } from './rebuild.js'
export { RedisTimelineStore } from './redis-timelines.js'
export type { RawEntry, RawGroup, TimelineSettings } from './timelines.js'
export { RedisTimelines } from './timelines.js'

/** PostgreSQL composed with timelines in Redis: what `openRedisStore` resolves with. */
export type RedisStore = PostgresStore<RedisTimelineStore>

/** The layout version of Eddy's Redis keys; a store refuses keys written by another. */
export const REDIS_LAYOUT_VERSION = 1

/** What `openRedisStore` needs. */
export interface RedisStoreOptions {
  /** PostgreSQL, the source of truth: `postgres://…` (with `?schema=`) or a `pg.Pool`. */
  store: string | PgPool
  /**
   * Where timelines live: `redis://host:6379[/db]`, `rediss://…` (TLS) or
   * `redis-cluster://host:7000,host:7001` (seed nodes). Eddy's settings may ride along as query
   * parameters: `?prefix=eddy&cap=1000&wait=1&active=24h`.
   */
  timelines: string
  /** PostgreSQL schema (default `eddy`, or the URL's `?schema=`). */
  schema?: string
  /** Connections of the PostgreSQL pool Eddy opens (default 10). */
  max?: number
  /** Key prefix (default `eddy`): separate prefixes are separate timelines on one Redis. */
  prefix?: string
  /** Entries (flat feeds) or groups (grouped feeds) Redis keeps per feed (default 1,000). */
  cap?: number
  /** Replicas that must acknowledge each timeline write (Redis WAIT) before it commits (default 0). */
  wait?: number
  /**
   * Fan-out priority: a job first delivers to followers whose feed was read within this many ms,
   * then to all (default a day; location `?active=24h`; 0 turns it off). The same on every process.
   */
  activeWindowMs?: number
  /** How often reads are recorded and how long they wait to be batched (tests stretch these). */
  readTiming?: FeedReadTiming
}

/** Defaults of {@link RedisStoreOptions}. */
export const REDIS_DEFAULTS = { prefix: 'eddy', cap: 1000, wait: 0, waitMs: 2000 } as const

/**
 * Opens PostgreSQL (migrating it) and Redis, checks both answer (a cluster must serve every
 * slot), and resolves with the store. Rejects with a StoreError naming what failed, never a
 * password.
 */
export async function openRedisStore(options: RedisStoreOptions): Promise<RedisStore> {
  const location = parseLocation(options.timelines, 'timelines')
  const settings = settingsOf(options, location.params)
  const client = createClient(location, 'timelines')
  await connectChecked(client, location, 'timelines')
  try {
    await checkLayout(client, settings.prefix, location.shown)
    const timelines = new RedisTimelines(client, location.cluster, location.shown, settings)
    // From here the store owns the client: its timelines part closes it.
    const store = await openPostgresStore(options.store, {
      schema: options.schema,
      max: options.max,
      activeWindowMs: activeWindowOf(options, location.params),
      readTiming: options.readTiming,
      timelines: (context) => new RedisTimelineStore(context, timelines, client, location.cluster),
    })
    try {
      await migrateTimelines(store.session)
    } catch (error) {
      await store.close()
      throw error
    }
    return store
  } catch (error) {
    client.disconnect()
    throw error
  }
}

function settingsOf(options: RedisStoreOptions, params: URLSearchParams): TimelineSettings {
  const int = (name: 'cap' | 'wait' | 'waitMs', given: number | undefined, min: number, max: number) => {
    const raw = given ?? (params.has(name) ? Number(params.get(name)) : REDIS_DEFAULTS[name])
    if (!Number.isSafeInteger(raw) || raw < min || raw > max) {
      throw new StoreError(
        'config',
        `timelines ${name} must be a whole number from ${min} to ${max}, got ${raw}`,
        {
          field: 'timelines',
        },
      )
    }
    return raw
  }
  const prefix = options.prefix ?? params.get('prefix') ?? REDIS_DEFAULTS.prefix
  if (!/^[A-Za-z0-9_.-]{1,64}$/.test(prefix)) {
    throw new StoreError(
      'config',
      `timelines prefix must be 1 to 64 letters, digits, _ . or -, got ${JSON.stringify(prefix)}`,
      {
        field: 'timelines',
      },
    )
  }
  return {
    prefix,
    cap: int('cap', options.cap, 1, 100_000),
    wait: int('wait', options.wait, 0, 16),
    waitMs: int('waitMs', undefined, 1, 60_000),
  }
}

/** The fan-out priority window of the option or the location's `?active=`; undefined: PostgreSQL's. */
function activeWindowOf(options: RedisStoreOptions, params: URLSearchParams): number | undefined {
  const raw = params.get('active')
  try {
    if (options.activeWindowMs !== undefined)
      return checkActiveWindow(options.activeWindowMs, 'activeWindowMs')
    return raw === null ? undefined : parseActiveWindow(raw, 'timelines active')
  } catch (error) {
    throw new StoreError('config', (error as Error).message, { field: 'timelines' })
  }
}

/** Records the key layout version under the prefix, or refuses keys written by another one. */
async function checkLayout(client: RedisClient, prefix: string, shown: string): Promise<void> {
  const key = `${prefix}:{meta}:version`
  await client.call('SET', key, String(REDIS_LAYOUT_VERSION), 'NX')
  const stored = Number(await client.call('GET', key))
  if (stored !== REDIS_LAYOUT_VERSION) {
    throw new StoreError(
      'unavailable',
      `the Redis keys under "${prefix}" at ${shown} have layout version ${stored}, not ${REDIS_LAYOUT_VERSION} (this Eddy's); use the Eddy that wrote them, another prefix, or rebuild them`,
    )
  }
}
