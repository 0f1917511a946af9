/**
 * Errors of the PostgreSQL store, as {@link StoreError}s (stores import nothing from the engine;
 * `connect()` and `eddy serve` turn them into `EddyError`s). Every message names the
 * host, port and database (never the password) and says what failed and what to do.
 */

import { StoreError, type StoreErrorReason } from '../errors.js'
import { plainReason } from '../outage.js'

/** Where a store connects: what messages may show of its connection settings. */
export interface PostgresTarget {
  host: string
  port: number
  database: string
  user: string
  schema: string
}

/**
 * The error of a PostgreSQL store that cannot serve a call: which server, what failed (a
 * {@link StoreErrorReason}) and the cause. A refusal that is the caller's to fix (`config`,
 * `closed`) names the `store` option.
 */
export function postgresError(reason: StoreErrorReason, message: string, cause?: unknown): StoreError {
  const field = reason === 'config' || reason === 'closed' ? 'store' : undefined
  return new StoreError(reason, message, { field, cause })
}

/** `host:port` and database as messages show them. */
export function where(target: PostgresTarget): string {
  return `PostgreSQL at ${target.host}:${target.port} (database "${target.database}")`
}

/** The error for a failed connection attempt, by what the server or the network said. */
export function connectError(target: PostgresTarget, error: unknown): StoreError {
  const code = codeOf(error)
  const said = messageOf(error)
  if (code === '28P01' || code === '28000') {
    return postgresError(
      'auth',
      `${where(target)} refused user "${target.user}": ${said}; check the user and password in the URL`,
      error,
    )
  }
  if (code === '3D000') {
    return postgresError(
      'database',
      `${where(target)}: the database does not exist (${said}); create it (createdb ${target.database}) or fix the URL`,
      error,
    )
  }
  return postgresError(
    'unreachable',
    `cannot reach ${where(target)}: ${plainReason(firstOf(error))}; check the host and port in the URL and that the server is running`,
    error,
  )
}

/** The error for a connection lost during `call`; `committing` when COMMIT itself was cut off. */
export function lostError(
  target: PostgresTarget,
  call: string,
  error: unknown,
  committing: boolean,
): StoreError {
  const outcome = committing
    ? 'the connection broke while committing, so the change may or may not be applied (every write is safe to retry)'
    : 'nothing of it was applied'
  return postgresError(
    'lost',
    `lost the connection to ${where(target)} during ${call}: ${plainReason(firstOf(error))}; ${outcome}; check that PostgreSQL is running and reachable at ${target.host}:${target.port} (Eddy reconnects by itself)`,
    error,
  )
}

/** Node's or PostgreSQL's error code (`ECONNREFUSED`, `40001`...), if any. */
export function codeOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code
  return typeof code === 'string' ? code : undefined
}

/** The first error of an AggregateError (pg reports each address it tried), else the error. */
function firstOf(error: unknown): unknown {
  return error instanceof AggregateError && error.errors.length > 0 ? firstOf(error.errors[0]) : error
}

function messageOf(error: unknown): string {
  if (error instanceof AggregateError && error.errors.length > 0) return messageOf(error.errors[0])
  const message = error instanceof Error ? error.message : String(error)
  return message === '' ? (codeOf(error) ?? 'unknown error') : message
}

/**
 * Whether `error` means the connection is gone (server shut down or terminated the backend,
 * socket reset): the transaction it was in is rolled back by the server.
 */
export function isConnectionLoss(error: unknown): boolean {
  const code = codeOf(error)
  if (code !== undefined) {
    if (code.startsWith('08') || code === '57P01' || code === '57P02' || code === '57P03') return true
    if (['ECONNRESET', 'EPIPE', 'ECONNREFUSED', 'ETIMEDOUT', 'ENOTCONN'].includes(code)) return true
  }
  const message = error instanceof Error ? error.message : ''
  return /Connection terminated|not queryable|Client was closed|Connection ended/i.test(message)
}
