/** Shared test helpers: the backends every engine test runs on, and small builders. */
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type ConnectOptions, connect, type EddyClient } from '../src/client/client.js'

/** The stores the engine suites run against: the memory reference and SQLite. */
export const STORES: { name: string; spec: () => string }[] = [
  { name: 'memory', spec: () => 'memory' },
  { name: 'sqlite', spec: () => `sqlite:${join(mkdtempSync(join(tmpdir(), 'eddy-test-')), 'feeds.sqlite')}` },
]

/** Opens a client on `store` with the given options; remember to close it. */
export function open(store: { spec: () => string }, options: Omit<ConnectOptions, 'store'> = {}): EddyClient {
  return connect({ ...options, store: store.spec() })
}

/** Resolves with the EddyError a promise rejects with (fails when it resolves). */
export async function rejection(promise: Promise<unknown> | (() => unknown)): Promise<{
  code: number
  exception: string
  status_code: number
  detail: string
}> {
  try {
    await (typeof promise === 'function' ? promise() : promise)
  } catch (error) {
    return error as { code: number; exception: string; status_code: number; detail: string }
  }
  throw new Error('expected a rejection, but it resolved')
}

/** A fixed activity time, `minutes` after a reference instant. */
export function at(minutes: number): string {
  return new Date(Date.UTC(2026, 10, 20, 12, 0, 0) + minutes * 60_000).toISOString()
}

/** Returns `value`, or throws a clear error naming `what` when it is null or undefined (narrowing that also asserts). */
export function must<T>(value: T | null | undefined, what: string): T {
  if (value === null || value === undefined) throw new Error(`expected ${what}, got ${value}`)
  return value
}
