/**
 * The engine's side of store errors: a store reports `StoreError`s (closed, unreachable, a bad
 * location) without knowing the engine, and every call through the engine turns them into the
 * `EddyError` with Stream's fields that Eddy's callers handle everywhere else.
 */
import { StoreError } from '../store/errors.js'
import type { Store } from '../store/store.js'
import { EddyError } from './errors.js'

/** The PostgreSQL store's error shape (src/store/postgres/errors.ts), matched without loading it. */
interface Unavailable extends Error {
  reason: string
}

function isUnavailable(error: unknown): error is Unavailable {
  return error instanceof Error && error.name === 'StoreUnavailable'
}

/** The EddyError for a store's refusal; any other error is returned unchanged. */
export function fromStoreError(error: unknown): unknown {
  if (isUnavailable(error)) {
    // A closed store or a bad URL is the caller's to fix; anything else is the backend's state.
    const theirs = error.reason === 'closed' || error.reason === 'config'
    const out = theirs
      ? new EddyError('InputException', error.message, { store: [error.message] })
      : new EddyError('ServiceUnavailableException', error.message)
    out.cause = error
    return out
  }
  if (!(error instanceof StoreError)) return error
  const fields = error.field ? { [error.field]: [error.message] } : undefined
  const kind = error.reason === 'unavailable' ? 'ServiceUnavailableException' : 'InputException'
  const out = new EddyError(kind, error.message, fields)
  out.cause = error
  return out
}

function rethrow(error: unknown): never {
  throw fromStoreError(error)
}

/** Wraps one object's methods so that StoreErrors leave them as EddyErrors. */
function guard<T extends object>(target: T): T {
  return new Proxy(target, {
    get(object, key) {
      const value = Reflect.get(object, key, object)
      if (typeof value !== 'function') return value
      return (...args: unknown[]) => {
        try {
          const result = value.apply(object, args)
          return result instanceof Promise ? result.catch(rethrow) : result
        } catch (error) {
          rethrow(error)
        }
      }
    },
  })
}

/** The sub-seams a store exposes beside its own methods. */
const PARTS = ['documents', 'reactions', 'audit'] as const

/** `store` with every method (its sub-seams' too) raising EddyErrors instead of StoreErrors. */
export function guardStore(store: Store): Store {
  // A store written against an older seam may lack a part: its first use then says so.
  const parts = new Map<PropertyKey, object>(
    PARTS.map((name) => {
      const part = store[name] as object | undefined
      return [name, typeof part === 'object' && part !== null ? guard(part) : missing(store.name, name)]
    }),
  )
  const guarded = guard(store)
  return new Proxy(guarded, {
    get: (object, key) => parts.get(key) ?? Reflect.get(object, key),
  })
}

/** A stand-in for a part a store lacks: every call is a 501 naming the store and the part. */
function missing(store: string, part: string): object {
  return new Proxy(
    {},
    {
      get: () => async () => {
        throw new EddyError(
          'NotImplementedException',
          `the store ${JSON.stringify(store)} has no ${part} (store.${part} in store.ts); implement it or use a built-in store`,
        )
      },
    },
  )
}
