/**
 * The one error a store raises about itself (closed, unreachable, misconfigured), without
 * depending on the engine: the engine turns it into the `EddyError` its callers expect (a
 * `config` or `closed` refusal is the caller's to fix, every other reason is the backend's state).
 */

/** Why a store refused a call. */
export type StoreErrorReason =
  /** `close()` was called on the store (or its client). */
  | 'closed'
  /** The location or an option is wrong (not a PostgreSQL URL, a bad Redis setting, a driver package missing). */
  | 'config'
  /** No server answered at host:port (refused, unknown host, timeout). */
  | 'unreachable'
  /** The server refused the user or password. */
  | 'auth'
  /** The database does not exist. */
  | 'database'
  /** The schema or key layout could not be created or migrated, or is newer than this code. */
  | 'schema'
  /** The connection was lost in the middle of a call. */
  | 'lost'
  /** The backend cannot serve the call for another reason (a Redis cluster with failed slots...). */
  | 'unavailable'

/** A store refused a call: `reason` says what kind of refusal, `cause` what the driver said. */
export class StoreError extends Error {
  /** What kind of refusal this is, for callers that map it to their own errors. */
  readonly reason: StoreErrorReason
  /** The option the caller should fix (`store`, `timelines`), when the cause is theirs. */
  readonly field?: string

  constructor(reason: StoreErrorReason, message: string, options: { field?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.name = 'StoreError'
    this.reason = reason
    if (options.field !== undefined) this.field = options.field
  }
}

/** A call on a closed store: says which store and what to do instead. */
export function closedError(name: string): StoreError {
  return new StoreError(
    'closed',
    `the store ${JSON.stringify(name)} is closed (close() was called on it or on its client); open a new one, e.g. connect() again`,
  )
}
