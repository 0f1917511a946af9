/**
 * Whether automatic model tracking is on: the global setting, the manager's switches (global and
 * per model), a scope (`withoutTracking`), and automatic scopes (migrations, seeds).
 */
import { AsyncLocalStorage } from 'node:async_hooks'
import { getSettings } from './settings.js'

/** Why tracking is off inside a scope. */
export type UntrackedReason = 'scope' | 'migration' | 'seed'

const scope = new AsyncLocalStorage<{ reason: UntrackedReason }>()
/** The key stream-django uses for "every model". */
export const EVERY_MODEL = Symbol.for('eddy.EVERY_MODEL')
const disabled = new Set<unknown>()

/**
 * Runs `fn` with automatic tracking off for everything it does (awaited work included); other
 * concurrent work is unaffected. Tracking is back on when `fn` settles.
 */
export function withoutTracking<T>(fn: () => T, reason: UntrackedReason = 'scope'): T {
  return scope.run({ reason }, fn)
}

/** The reason tracking is off in the current async scope, if it is. */
export function untrackedScope(): UntrackedReason | undefined {
  return scope.getStore()?.reason
}

/** Switches tracking off for one model (a class or a model name), or for every model. */
export function disableModelTracking(model: unknown = EVERY_MODEL): void {
  disabled.add(model)
}

/**
 * Switches tracking back on for one model or globally. As in stream-django, enabling one model
 * does not override a global disable; enabling globally does not clear per-model disables.
 */
export function enableModelTracking(model: unknown = EVERY_MODEL): void {
  disabled.delete(model)
}

/** Clears every switch (tests). */
export function resetTracking(): void {
  disabled.clear()
}

/**
 * True when a change to a row of `model` (class or name, or several keys naming the same model)
 * should publish now.
 */
export function shouldTrack(...modelKeys: unknown[]): boolean {
  if (getSettings().disableModelTracking || disabled.has(EVERY_MODEL)) return false
  if (scope.getStore()) return false
  for (const key of modelKeys) if (key !== undefined && disabled.has(key)) return false
  return true
}
