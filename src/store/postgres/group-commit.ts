/**
 * Group commit on PostgreSQL. Writes marked `groupCommit` (a request among many, e.g. the
 * server's adds) that check nothing (plain writes: no `expect`, edges or removals) wait for the
 * end of the current turn of the event loop; then every one that arrived in that turn is merged
 * into one batch (bodies, entries, audit rows and jobs concatenated in arrival order) and written
 * in one transaction: the same few statements over longer arrays, one round trip and one WAL
 * flush for all of them instead of one each. Each write resolves only after that commit, with
 * its own jobs, exactly as alone. If the shared transaction fails, nothing of it is applied and
 * every write of the group runs again alone, so a write that fails does so by itself.
 *
 * Merging is what running the writes one after another would do: a later body for the same sort
 * key replaces an earlier one, an entry already present stays, and a later job for the same
 * (feed, sk) replaces an earlier one (rule 5; the earlier caller's job then finds another id in
 * the row and does nothing).
 */
import type { FanoutJob, WriteBatch } from '../store.js'

interface Pending {
  batch: WriteBatch
  resolve: (jobs: FanoutJob[]) => void
  reject: (error: unknown) => void
}

/** Batches the plain grouped writes of one turn into shared transactions. */
export class PostgresGroupCommit {
  readonly #write: (batch: WriteBatch) => Promise<FanoutJob[]>
  #queue: Pending[] = []

  /** `write`: the store's own write of one batch (a transaction of its own). */
  constructor(write: (batch: WriteBatch) => Promise<FanoutJob[]>) {
    this.#write = write
  }

  /** Queues `batch` (a plain write) for the group of this turn; resolves after the group's commit. */
  write(batch: WriteBatch): Promise<FanoutJob[]> {
    return new Promise((resolve, reject) => {
      if (this.#queue.length === 0) setImmediate(() => this.#flush())
      this.#queue.push({ batch, resolve, reject })
    })
  }

  async #flush(): Promise<void> {
    const queue = this.#queue
    this.#queue = []
    // Only writes leased alike share a transaction (one engine leases all its writes alike).
    const byLease = new Map<number | undefined, Pending[]>()
    for (const p of queue) {
      const same = byLease.get(p.batch.leaseMs)
      if (same) same.push(p)
      else byLease.set(p.batch.leaseMs, [p])
    }
    await Promise.all([...byLease.values()].map((group) => this.#commit(group)))
  }

  async #commit(queue: Pending[]): Promise<void> {
    if (queue.length === 1) {
      const [one] = queue
      await this.#write(one.batch).then(one.resolve, one.reject)
      return
    }
    let pending: FanoutJob[]
    try {
      pending = await this.#write(merge(queue.map((p) => p.batch)))
    } catch {
      // Nothing of the group committed (or, with the connection lost at COMMIT, perhaps all of
      // it: every plain write is safe to apply again). Each runs alone and fails alone.
      await Promise.all(queue.map((p) => this.#write(p.batch).then(p.resolve, p.reject)))
      return
    }
    // Jobs left to run (the store ended those of feeds without followers; a job replaced by a
    // later write of the group is not among them, as its row now holds the later one).
    const left = new Set(pending.map(key))
    for (const p of queue) p.resolve(stored(p.batch.fanout ?? []).filter((j) => left.has(key(j))))
  }
}

/** One batch doing what `batches` (all plain, leased alike) do one after another. */
function merge(batches: WriteBatch[]): WriteBatch {
  const merged: WriteBatch = { activities: [], add: [], audit: [], fanout: [], leaseMs: batches[0].leaseMs }
  for (const b of batches) {
    if (b.activities) merged.activities?.push(...b.activities)
    if (b.add) merged.add?.push(...b.add)
    if (b.audit) merged.audit?.push(...b.audit)
    if (b.fanout) merged.fanout?.push(...b.fanout)
  }
  return merged
}

const key = (job: FanoutJob) => `${job.feed}\u0000${job.sk}\u0000${job.id}`

/** The jobs one write accepted, as stored (cursor reset; the last of one key wins). */
function stored(jobs: FanoutJob[]): FanoutJob[] {
  const byKey = new Map<string, FanoutJob>()
  for (const job of jobs) {
    const key = `${job.feed}\u0000${job.sk}`
    byKey.delete(key)
    const copy: FanoutJob = { id: job.id, op: job.op, feed: job.feed, sk: job.sk, cursor: null }
    if (job.shapes !== undefined) copy.shapes = job.shapes
    byKey.set(key, copy)
  }
  return [...byKey.values()]
}
