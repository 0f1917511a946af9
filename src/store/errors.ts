/**
 * Errors a store raises about itself (closed, unreachable, unusable), without depending on the
 * engine: the engine turns each into the `EddyError` its callers expect.
 */

/** Why a store refused a call. */
export type StoreErrorReason = 'closed' | 'unavailable' | 'input'

/** A store refused a call: `closed` after close(), `unavailable` when its backend is unreachable, `input` for a bad location. */
export class StoreError extends Error {
  /** What kind of refusal this is. */
  readonly reason: StoreErrorReason
  /** The option the caller should fix (`store`), when the cause is theirs. */
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
