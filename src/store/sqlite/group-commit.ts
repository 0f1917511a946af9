/**
 * Group commit on SQLite. A write marked `groupCommit` (a request among many, e.g. the server's
 * adds) waits for the end of the current turn of the event loop; then every write that arrived
 * in that turn runs in one IMMEDIATE transaction, each inside its own savepoint, and each is
 * resolved only after that transaction has committed. So a write is acknowledged only once
 * durable, exactly as alone, while N concurrent writes pay for one commit (one WAL append of the
 * pages they share) instead of N. A write that fails (a WriteConflict, bad input) rolls back to
 * its savepoint and is rejected alone; if the transaction itself fails (busy, I/O, the commit),
 * every write in it is rejected and none is applied.
 */
import type { FanoutJob, WriteBatch } from '../store.js'
import type { Database, Transaction } from './driver.js'

interface Pending {
  batch: WriteBatch
  resolve: (jobs: FanoutJob[]) => void
  reject: (error: unknown) => void
}

type Outcome = { jobs: FanoutJob[] } | { error: unknown }

/** Batches grouped writes of one connection into shared transactions. */
export class GroupCommit {
  readonly #db: Database
  readonly #group: Transaction<(queue: Pending[]) => Outcome[]>
  readonly #closed: () => Error | undefined
  #queue: Pending[] = []

  /**
   * `write` applies one batch (a transaction function, so it runs as a savepoint inside the
   * group's transaction); `closed` says why the store can no longer write, if it cannot.
   */
  constructor(
    db: Database,
    write: Transaction<(batch: WriteBatch) => FanoutJob[]>,
    closed: () => Error | undefined,
  ) {
    this.#db = db
    this.#closed = closed
    this.#group = db.transaction((queue: Pending[]) => {
      // Inline fan-out is shared out: the group's transaction holds the thread for about one
      // chunk, as a single write does, and the background runner takes the rest.
      const share = Math.max(1, queue.length)
      const outcomes: Outcome[] = []
      for (const { batch } of queue) {
        const one =
          batch.chunkSize === undefined
            ? batch
            : Object.assign({}, batch, { chunkSize: shared(batch.chunkSize, share) })
        try {
          outcomes.push({ jobs: write(one) })
        } catch (error) {
          // Some errors end the whole transaction (SQLite rolls it back): then nothing may commit.
          if (!this.#db.inTransaction) throw error
          outcomes.push({ error })
        }
      }
      return outcomes
    })
  }

  /** Queues `batch` for the group of this turn; resolves after the group's commit. */
  write(batch: WriteBatch): Promise<FanoutJob[]> {
    return new Promise((resolve, reject) => {
      if (this.#queue.length === 0) setImmediate(() => this.flush())
      this.#queue.push({ batch, resolve, reject })
    })
  }

  /** Commits the queued writes now (the store calls this before it closes). */
  flush(): void {
    const queue = this.#queue
    if (queue.length === 0) return
    this.#queue = []
    const closed = this.#closed()
    if (closed) {
      for (const p of queue) p.reject(closed)
      return
    }
    let outcomes: Outcome[]
    try {
      outcomes = this.#group.immediate(queue)
    } catch (error) {
      for (const p of queue) p.reject(error)
      return
    }
    for (let i = 0; i < queue.length; i++) {
      const outcome = outcomes[i]
      if ('jobs' in outcome) queue[i].resolve(outcome.jobs)
      else queue[i].reject(outcome.error)
    }
  }
}

/** A write's inline chunk budget when `share` writes share one transaction. */
function shared(chunkSize: number, share: number): number {
  return Math.max(1, Math.floor(chunkSize / share))
}
