/**
 * The one place that builds storage backends from what a user names (`connect({ store,
 * timelines })`, `eddy serve --store`): memory, SQLite, PostgreSQL, or PostgreSQL with timelines
 * in Redis. PostgreSQL and Redis load their drivers only now, and open in the background: they
 * come back as a {@link PendingStorage} whose capabilities their own modules state, which the
 * engine's runtime storage waits for on every call.
 */
import { parseStoreSpec } from './client/store-spec.js'
import { inputError } from './engine/errors.js'
import { fromStoreError } from './engine/store-errors.js'
import { MemoryStore } from './store/memory/memory-store.js'
import { POSTGRES_CAPABILITIES } from './store/postgres/capabilities.js'
import { POSTGRES_REDIS_CAPABILITIES } from './store/redis/capabilities.js'
import { BullFanoutQueue } from './store/redis/queue.js'
import { openSqliteStore } from './store/sqlite/index.js'
import { PendingStorage, type StorageAdapter } from './store/store.js'

/** The SQLite file `connect()` opens when no store is given, relative to the working directory. */
export const DEFAULT_SQLITE_FILE = 'eddy.sqlite'

/**
 * The storage a `store` option names (an adapter passes through); with `timelines`, PostgreSQL
 * with timelines in Redis. Bad locations throw the EddyError that says which forms work.
 */
export function openStore(
  spec: string | StorageAdapter | undefined,
  timelines?: unknown,
): StorageAdapter | PendingStorage {
  if (timelines !== undefined) return openWithTimelines(spec, timelines)
  if (spec !== undefined && typeof spec === 'object' && spec !== null) return spec
  const parsed = parseStoreSpec(spec ?? `sqlite:${DEFAULT_SQLITE_FILE}`)
  if (parsed.kind === 'memory') return new MemoryStore()
  if (parsed.kind === 'sqlite') {
    try {
      return openSqliteStore(parsed.path)
    } catch (error) {
      throw fromStoreError(error)
    }
  }
  const url = parsed.url
  // pg loads only now; the store connects and migrates in the background (see ready()).
  return new PendingStorage(postgresName(url), POSTGRES_CAPABILITIES, () =>
    import('./store/postgres/index.js').then((m) => m.openPostgresStore(url)),
  )
}

/** PostgreSQL with timelines in Redis; ioredis and pg load only now, the store opens in the background. */
function openWithTimelines(spec: string | StorageAdapter | undefined, timelines: unknown): PendingStorage {
  if (typeof timelines !== 'string' || !/^(redis|rediss|redis-cluster):\/\/./.test(timelines)) {
    throw inputError(
      "timelines must be 'redis://host:6379' or 'redis-cluster://host:7000,host:7001'",
      typeof timelines === 'string' ? timelines.replace(/\/\/[^@/]*@/, '//<hidden>@') : timelines,
      'timelines',
    )
  }
  if (typeof spec !== 'string' || !/^postgres(ql)?:\/\//.test(spec)) {
    throw inputError(
      "timelines needs store: 'postgres://…': PostgreSQL keeps what Redis may lose",
      typeof spec === 'string' ? spec : typeof spec,
      'store',
    )
  }
  const shown = timelines.replace(/\/\/[^@/]*@/, '//').replace(/\?.*$/, '')
  return new PendingStorage(`${postgresName(spec)}+${shown}`, POSTGRES_REDIS_CAPABILITIES, () =>
    import('./store/redis/index.js').then((m) => m.openRedisStore({ store: spec, timelines })),
  )
}

/** The BullMQ fan-out queue the `queue` option names (bullmq loads only now). */
export function openQueue(queue: unknown, timelines: unknown): BullFanoutQueue | undefined {
  if (queue === undefined || queue === false) return undefined
  const location = queue === true ? timelines : queue
  if (typeof location !== 'string') {
    throw inputError(
      "queue must be true (the timelines' Redis) or a Redis location such as 'redis://host:6379'",
      queue,
      'queue',
    )
  }
  try {
    return new BullFanoutQueue(location)
  } catch (error) {
    throw fromStoreError(error)
  }
}

/** A PostgreSQL URL as messages may show it: no user, no password. */
function postgresName(url: string): string {
  try {
    const u = new URL(url)
    return `postgres://${u.hostname}${u.port ? `:${u.port}` : ''}${u.pathname}`
  } catch {
    throw inputError(
      'the PostgreSQL URL is not a valid URL (postgres://user@host:5432/database)',
      '<hidden>',
      'store',
    )
  }
}
