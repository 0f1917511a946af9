/** What the parts of the memory store share: the open check, atomic writes, the clock. */
import type { UndoLog } from './undo-log.js'

/** What every part of the memory store shares: the open check, atomic writes, the clock. */
export interface MemoryRuntime {
  /** Throws when the store is closed. */
  check(): void
  /** Runs `fn` as one atomic write (undone on a throw). */
  atomic<T>(fn: () => T): T
  /** The store's clock, in ms. */
  now(): number
  /** The undo log atomic writes record into. */
  undo: UndoLog
}
