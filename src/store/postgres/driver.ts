/**
 * node-postgres (`pg`), loaded on first use and described structurally. Importing `eddy` must
 * not load it (it is an optional peer dependency), and Eddy's published declarations must not
 * name `@types/pg`, which consumers may not install; so the few parts the store uses are
 * declared here, and a `pg.Pool` passes as a {@link PgPool}.
 */

import { createRequire } from 'node:module'
import type { StoreError } from '../errors.js'
import { type PostgresTarget, postgresError } from './errors.js'

/** A query as the store sends it: named statements are prepared once per connection. */
export interface PgQuery {
  name?: string
  text: string
  values?: unknown[]
}

/** What a query resolves with (the parts the store reads). */
export interface PgResult<R> {
  rows: R[]
  rowCount: number | null
  /** The command tag's verb (`COMMIT`, or `ROLLBACK` for a COMMIT of a failed transaction). */
  command?: string
}

/** A connection checked out of a pool. */
export interface PgPoolClient {
  query<R = Record<string, unknown>>(query: PgQuery): Promise<PgResult<R>>
  /** Returns the connection; with an error, the pool closes it instead of reusing it. */
  release(error?: Error | boolean): void
  on(event: 'error', listener: (error: Error) => void): unknown
  removeListener(event: 'error', listener: (error: Error) => void): unknown
}

/** A connection pool: `pg.Pool` or anything shaped like it. */
export interface PgPool {
  connect(): Promise<PgPoolClient>
  end(): Promise<void>
  on(event: 'error', listener: (error: Error) => void): unknown
  removeListener(event: 'error', listener: (error: Error) => void): unknown
  /** The settings the pool was made with (pg-pool keeps them here). */
  readonly options?: object
}

interface PgModule {
  Pool: new (config: Record<string, unknown>) => PgPool
  Client: new (
    config: Record<string, unknown>,
  ) => { connectionParameters?: { host?: string; port?: number; database?: string; user?: string } }
}

let driver: PgModule | undefined

/** Loads `pg` on the first call; a missing package is a {@link StoreError} saying what to install. */
export function loadPg(): PgModule {
  if (driver) return driver
  try {
    const loaded = createRequire(import.meta.url)('pg') as PgModule & { default?: PgModule }
    const pg = loaded.Pool ? loaded : loaded.default
    if (!pg?.Pool)
      throw new Error('the `pg` module exports no Pool (neither named nor on its default export)')
    driver = pg
    return driver
  } catch (error) {
    throw postgresError(
      'config',
      'the PostgreSQL store needs the `pg` package, which is not installed: run `npm install pg`',
      error,
    )
  }
}

/**
 * Host, port, database and user a pool connects to, as pg resolves them (URL, then PG*
 * environment variables, then pg's defaults). The password is never read out.
 */
export function describeTarget(
  pg: PgModule,
  config: Record<string, unknown>,
  schema: string,
): PostgresTarget {
  const params = new pg.Client(config).connectionParameters ?? {}
  const user = params.user ?? String(config.user ?? '')
  return {
    host: params.host ?? String(config.host ?? 'localhost'),
    port: params.port ?? Number(config.port ?? 5432),
    database: params.database ?? String(config.database ?? user),
    user,
    schema,
  }
}
