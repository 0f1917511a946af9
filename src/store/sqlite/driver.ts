/**
 * better-sqlite3, loaded on first use and described structurally. Importing `eddy` must not load a
 * native module (a memory-only app never needs one), and Eddy's published declarations must not
 * name `@types/better-sqlite3`, which consumers do not install; so the few parts the store uses
 * are declared here.
 */
import { existsSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname } from 'node:path'
import { StoreError } from '../errors.js'

/** What a write statement reports. */
export interface RunResult {
  changes: number
  lastInsertRowid: number | bigint
}

/** A prepared statement (the methods the store calls). */
export interface Statement {
  run(...params: unknown[]): RunResult
  get(...params: unknown[]): unknown
  all(...params: unknown[]): unknown[]
  /** Rows as their first column only. */
  pluck(toggle?: boolean): this
  /** Rows as arrays in SELECT order. */
  raw(toggle?: boolean): this
}

/** A function wrapped in BEGIN/COMMIT; `immediate` takes the write lock up front. */
export interface Transaction<F extends (...args: never[]) => unknown> {
  (...args: Parameters<F>): ReturnType<F>
  immediate(...args: Parameters<F>): ReturnType<F>
}

/** An open connection (the methods the store calls). */
export interface Database {
  readonly open: boolean
  /** Whether a transaction is open (SQLite may end one itself on some errors). */
  readonly inTransaction: boolean
  prepare(sql: string): Statement
  exec(sql: string): this
  pragma(source: string, options?: { simple?: boolean }): unknown
  transaction<F extends (...args: never[]) => unknown>(fn: F): Transaction<F>
  close(): this
}

type DatabaseConstructor = new (path: string) => Database

let driver: DatabaseConstructor | undefined

/**
 * Opens a connection with better-sqlite3, loading the native module on the first call. A path
 * that cannot be opened is a {@link StoreError} that says what to do.
 */
export function openDatabase(path: string): Database {
  if (path !== ':memory:' && !existsSync(dirname(path))) {
    throw new StoreError(
      'config',
      `cannot open the SQLite file: the directory ${dirname(path)} does not exist; create it first or choose another path, got ${JSON.stringify(path)}`,
      { field: 'store' },
    )
  }
  driver ??= createRequire(import.meta.url)('better-sqlite3') as DatabaseConstructor
  try {
    return new driver(path)
  } catch (error) {
    throw new StoreError(
      'config',
      `cannot open the SQLite file (${(error as Error).message}); check the path and its permissions, got ${JSON.stringify(path)}`,
      { field: 'store', cause: error },
    )
  }
}
