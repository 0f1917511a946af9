/**
 * Tracked writes waiting for the outermost transaction to commit. ORMs whose hooks fire before
 * COMMIT (all of them) buffer here: a savepoint marks the buffer, rolling back to it drops what
 * was written after the mark, releasing it keeps the rows for the enclosing transaction, and
 * only the outermost commit hands the items to {@link publishPending}.
 */
import { type PendingPublish, publishPending } from './feed-manager.js'

interface Mark {
  name: string
  at: number
}

/** One root transaction's pending writes and its open savepoints. */
export class CommitBuffer {
  #items: PendingPublish[] = []
  #marks: Mark[] = []

  /** Writes buffered so far (not yet published). */
  get size(): number {
    return this.#items.length
  }

  /** Buffers a created or deleted row of a tracked model. */
  push(...items: PendingPublish[]): void {
    this.#items.push(...items)
  }

  /** A savepoint was opened: later writes belong to it. */
  savepoint(name: string): void {
    this.#marks.push({ name, at: this.#items.length })
  }

  /**
   * `ROLLBACK TO SAVEPOINT name`: drops the rows written since it. The savepoint stays open, as
   * in SQL; savepoints opened after it are gone.
   */
  rollbackTo(name: string): void {
    const i = this.#find(name)
    if (i < 0) return
    this.#items.length = this.#marks[i].at
    this.#marks.length = i + 1
  }

  /** `RELEASE SAVEPOINT name`: its rows now belong to the enclosing transaction. */
  release(name: string): void {
    const i = this.#find(name)
    if (i >= 0) this.#marks.length = i
  }

  /** The outermost transaction committed: publishes everything, in write order. */
  async commit(): Promise<void> {
    const items = this.#items
    this.#items = []
    this.#marks = []
    await publishPending(items)
  }

  /** The outermost transaction rolled back: nothing is published. */
  rollback(): void {
    this.#items = []
    this.#marks = []
  }

  #find(name: string): number {
    for (let i = this.#marks.length - 1; i >= 0; i--) if (this.#marks[i].name === name) return i
    return -1
  }
}
