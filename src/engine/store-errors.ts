/**
 * The engine's side of store errors: a store reports `StoreError`s (closed, unreachable, a bad
 * location) without knowing the engine, and every call through the engine's `RuntimeStorage`
 * turns them into the `EddyError` with Stream's fields that Eddy's callers handle everywhere else.
 */
import { StoreError } from '../store/errors.js'
import { EddyError } from './errors.js'

/** The EddyError for a store's refusal; any other error is returned unchanged. */
export function fromStoreError(error: unknown): unknown {
  if (!(error instanceof StoreError)) return error
  // A closed store or a bad location is the caller's to fix; anything else is the backend's state.
  const theirs = error.reason === 'closed' || error.reason === 'config'
  const fields = error.field ? { [error.field]: [error.message] } : undefined
  const out = theirs
    ? new EddyError('InputException', error.message, fields)
    : new EddyError('ServiceUnavailableException', error.message, fields)
  out.cause = error
  return out
}
