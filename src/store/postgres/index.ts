/**
 * Eddy's PostgreSQL store (`eddy/postgres`): `openPostgresStore(url | pool)` connects, checks the
 * connection and migrates the schema. `pg` is an optional peer dependency, loaded by the first
 * open, never by importing `eddy`. See docs/postgres.md.
 */
import type { StoreError } from '../errors.js'
import { describeTarget, loadPg, type PgPool } from './driver.js'
import { connectError, postgresError } from './errors.js'
import {
  checkActiveWindow,
  DEFAULT_ACTIVE_WINDOW_MS,
  type FeedReadTiming,
  parseActiveWindow,
} from './feed-reads.js'
import { PostgresStore } from './postgres-store.js'
import { migrate, SCHEMA_NAME } from './schema.js'
import { Session } from './session.js'
import type { PostgresTimelines, PostgresTimelinesContext } from './timelines.js'

export { POSTGRES_CAPABILITIES } from './capabilities.js'
export type { PgPool, PgPoolClient, PgQuery, PgResult } from './driver.js'
export type { PostgresTarget } from './errors.js'
export { postgresError } from './errors.js'
export { DEFAULT_ACTIVE_WINDOW_MS, FeedReads, type FeedReadTiming, parseActiveWindow } from './feed-reads.js'
export { PostgresActivityStore } from './postgres-activities.js'
export { PostgresDocuments } from './postgres-documents.js'
export { PostgresFollowStore } from './postgres-follows.js'
export { PostgresFanoutJobStore } from './postgres-jobs.js'
export { PostgresStore } from './postgres-store.js'
export { PostgresTableTimelines } from './postgres-timelines.js'
export { SCHEMA_VERSION } from './schema.js'
export type { Runner, Session, Sql } from './session.js'
export type {
  FollowerWalk,
  OriginRemove,
  PostgresTimelines,
  PostgresTimelinesContext,
  PostgresTimelineWrites,
} from './timelines.js'

/** The schema Eddy's tables go in unless told otherwise. */
export const DEFAULT_SCHEMA = 'eddy'

/** What `openPostgresStore` may tune. */
export interface PostgresOptions<T extends PostgresTimelines = PostgresTimelines> {
  /**
   * The schema holding Eddy's tables, created if missing (default `eddy`, or the URL's
   * `?schema=`): lowercase letters, digits and `_`. Separate schemas are separate stores.
   */
  schema?: string
  /** Most connections of the pool Eddy opens (default 10); unused with a pool passed in. */
  max?: number
  /** How long to wait for a connection before failing, in ms (default 10,000). */
  connectionTimeoutMillis?: number
  /**
   * Called with each statement's text before it is sent (diagnostics, query counts in tests);
   * `roundTrip`: whether it starts a round trip (false: it is pipelined behind unanswered ones).
   */
  onQuery?: (text: string, roundTrip: boolean) => void
  /**
   * Fan-out priority: a job first delivers to followers whose feed was read within this many ms,
   * then to all (default a day, or the URL's `?active=24h`; 0 turns priority and the recording
   * of reads off). Give every process of a deployment the same value.
   */
  activeWindowMs?: number
  /** How often reads are recorded and how long they wait to be batched (tests stretch these). */
  readTiming?: FeedReadTiming
  /**
   * The timelines part, when not the store's own tables (`eddy/redis` plugs in Redis): called
   * once with the store's context; its writes then run inside every write and fan-out chunk.
   */
  timelines?: (context: PostgresTimelinesContext) => T
}

/**
 * Opens a PostgreSQL store on `postgres://user:password@host:port/database` (or a `pg.Pool`,
 * which stays yours: `close()` does not end it), checks the connection and applies the schema
 * migrations. Rejects with a {@link StoreError} naming host and database (never the
 * password) when the URL is wrong, the server unreachable, the user refused, the database
 * missing or its schema newer than this code.
 */
export async function openPostgresStore<T extends PostgresTimelines = PostgresTimelines>(
  connection: string | PgPool,
  options: PostgresOptions<T> = {},
): Promise<PostgresStore<T>> {
  const owned = typeof connection === 'string'
  const { config, urlSchema, urlActive } = owned
    ? parseUrl(connection)
    : { config: { ...connection.options }, urlSchema: undefined, urlActive: undefined }
  const schema = options.schema ?? urlSchema ?? DEFAULT_SCHEMA
  const pg = loadPg()
  const target = describeTarget(pg, config, schema)
  if (!SCHEMA_NAME.test(schema)) {
    throw postgresError(
      'config',
      `the schema name ${JSON.stringify(schema)} is not allowed: use lowercase letters, digits and _ (at most 63, not starting with a digit)`,
    )
  }
  let activeWindowMs: number
  try {
    activeWindowMs =
      options.activeWindowMs !== undefined
        ? checkActiveWindow(options.activeWindowMs, 'activeWindowMs')
        : urlActive !== undefined
          ? parseActiveWindow(urlActive, 'the URL parameter active')
          : DEFAULT_ACTIVE_WINDOW_MS
  } catch (error) {
    throw postgresError('config', (error as Error).message)
  }
  const pool = owned
    ? new pg.Pool({
        connectionTimeoutMillis: 10_000,
        // Queries go out without waiting for the answers before them (pg >= 8.23; older pg
        // ignores it): a transaction's statements share round trips (session.ts).
        pipeline: true,
        ...config,
        max: options.max ?? 10,
        ...timeout(options),
      })
    : connection
  const session = new Session(pool, target, { ownsPool: owned, onQuery: options.onQuery })
  try {
    try {
      const client = await pool.connect()
      client.release()
    } catch (error) {
      throw connectError(target, error)
    }
    await migrate(session)
  } catch (error) {
    await session.close().catch(() => undefined)
    throw error
  }
  const name = `postgres://${target.host}:${target.port}/${target.database}`
  const shown = schema === DEFAULT_SCHEMA ? name : `${name}?schema=${schema}`
  return new PostgresStore<T>(session, shown, {
    timelines: options.timelines,
    activeWindowMs,
    readTiming: options.readTiming,
  })
}

function timeout(options: { connectionTimeoutMillis?: number }) {
  return options.connectionTimeoutMillis === undefined
    ? {}
    : { connectionTimeoutMillis: options.connectionTimeoutMillis }
}

/** pg's settings for a URL, without Eddy's own `schema` and `active` parameters; a wrong URL throws. */
function parseUrl(url: string): {
  config: Record<string, unknown>
  urlSchema: string | undefined
  urlActive: string | undefined
} {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch (error) {
    throw badUrl('it cannot be parsed as a URL', error)
  }
  if (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:') {
    throw badUrl(`its scheme is ${JSON.stringify(parsed.protocol)}`)
  }
  const urlSchema = parsed.searchParams.get('schema') ?? undefined
  const urlActive = parsed.searchParams.get('active') ?? undefined
  parsed.searchParams.delete('schema')
  parsed.searchParams.delete('active')
  return { config: { connectionString: parsed.toString() }, urlSchema, urlActive }
}

// The URL is not echoed: it may hold a password.
function badUrl(why: string, cause?: unknown): StoreError {
  return postgresError(
    'config',
    `not a PostgreSQL URL (${why}); expected postgres://user:password@host:5432/database`,
    cause,
  )
}
