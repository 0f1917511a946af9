/**
 * Fan-out on write. Accepted work is a durable job per (activity, feed whose followers receive
 * it), carrying the entry shape each follower slug gets, so the store can run a chunk without
 * engine code. A store may run the first chunk inside the write that accepts the job; this
 * runner drains the rest in the background, chunk by chunk, each chunk one transaction that also
 * advances the job, with a turn of the event loop between chunks. `resume()` claims jobs that an
 * earlier or crashed process accepted and did not finish; `work()` keeps claiming, for a
 * dedicated worker process.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import type { EntryShape, EntryWrite, FanoutJob, Store } from '../store/store.js'
import { type Activity, groupSource } from './activity.js'
import { type DeadLetters, recordFailure } from './dead-jobs.js'
import { type FeedGroup, groupKeyIn } from './feed-groups.js'
import { skMicros, skToId } from './ids.js'

/** How long a failed fan-out waits before it is retried from the store. */
const RETRY_DELAY_MS = 1_000

/** Jobs claimed per round by resume() and work(). */
const CLAIM_BATCH = 100

/**
 * Default number of follower feeds written per transaction. Each chunk holds the (synchronous)
 * store for its length: 500 takes 1–2 ms on SQLite, so reads during a 50,000-follower fan-out
 * wait little (2,000 took 5–9 ms and doubled their p99), while delivery is as fast (bench/,
 * fairness row).
 */
export const DEFAULT_CHUNK_SIZE = 500

/**
 * On a store that blocks the event loop, each chunk aims at this many milliseconds: chunk sizes
 * halve when a chunk takes over twice as long and double (up to the store's or the configured
 * bound) when a full one takes under half. 500 followers took 1–3 ms here when the machine was
 * quiet and 15–170 ms under load, which a fixed size cannot serve both ways: idle, fan-out runs
 * in large chunks; busy, reads wait at most a couple of milliseconds behind each chunk.
 */
const CHUNK_BUDGET_MS = 2
/** Smallest adaptive chunk: below it the per-transaction cost dominates. */
const MIN_ADAPTIVE_CHUNK = 50

/**
 * Resolves on the next turn of the event loop, after pending I/O callbacks. Background work on a
 * synchronous store (better-sqlite3 blocks the thread for each transaction) awaits this between
 * transactions, so requests that arrived meanwhile run before the next one, not after all of them.
 */
export function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve))
}

/**
 * Runs `write` over `count` items in slices of `size` (at least 1) with a turn of the event loop
 * between slices, so a long batch on a synchronous store lets other requests run as it goes.
 */
export async function inSlices(
  count: number,
  size: number,
  write: (from: number, to: number) => Promise<unknown>,
): Promise<void> {
  const step = Math.max(1, Math.floor(size))
  for (let from = 0; from < count; from += step) {
    if (from > 0) await nextTurn()
    await write(from, Math.min(count, from + step))
  }
}

/** The write of one entry into a flat feed (no body needed). */
export function flatEntryWrite(
  group: FeedGroup,
  feed: string,
  sk: string,
  origin: string | null,
): EntryWrite {
  const entry: EntryWrite = { feed, kind: 'flat', sk, origin }
  if (group.maxLength !== undefined) entry.maxLength = group.maxLength
  return entry
}

/** How an activity enters feeds of `group` (group key, actor and group id for grouped feeds). */
export function shapeFor(group: FeedGroup, sk: string, activity: Activity): EntryShape {
  const shape: EntryShape =
    group.kind === 'flat'
      ? { kind: 'flat' }
      : {
          kind: group.kind,
          group: groupKeyIn(group, groupSource(activity, skMicros(sk))),
          actor: activity.actor,
          // A group is named after the activity that creates it.
          groupId: skToId(sk),
        }
  if (group.maxLength !== undefined) shape.maxLength = group.maxLength
  return shape
}

/** The entry an activity becomes in `feed` (group key and actor for grouped feeds). */
export function entryFor(
  group: FeedGroup,
  feed: string,
  sk: string,
  activity: Activity,
  origin: string | null,
): EntryWrite {
  // Built key by key: an object spread followed by more keys costs ~1 us per entry on V8 here.
  const shape = shapeFor(group, sk, activity)
  const entry: EntryWrite = { kind: shape.kind, feed, sk, origin }
  if (shape.group !== undefined) entry.group = shape.group
  if (shape.actor !== undefined) entry.actor = shape.actor
  if (shape.groupId !== undefined) entry.groupId = shape.groupId
  if (shape.maxLength !== undefined) entry.maxLength = shape.maxLength
  return entry
}

/**
 * The shape an activity takes in follower feeds of every configured group, computed once per
 * activity (not per follower); followers of a slug that is not configured are skipped.
 */
export function shapesFor(
  groups: ReadonlyMap<string, FeedGroup>,
  sk: string,
  activity: Activity,
): Record<string, EntryShape> {
  const shapes: Record<string, EntryShape> = Object.create(null)
  for (const [slug, group] of groups) shapes[slug] = shapeFor(group, sk, activity)
  return shapes
}

/** Drains fan-out jobs in the background; `idle()` resolves when none are left. */
export class FanoutRunner {
  readonly #store: Store
  /** The upper bound of a chunk, and the size used as is on stores that do not block. */
  readonly #maxChunk: number
  readonly #adaptive: boolean
  #chunk: number
  readonly #leaseMs: number
  /** Completes jobs accepted by older versions, which carry no shapes. */
  readonly #reshape: (job: FanoutJob) => Promise<FanoutJob | null>
  readonly #dead: DeadLetters
  #queue: FanoutJob[] = []
  #running: Promise<void> | undefined
  #error: unknown
  #retryTimer: NodeJS.Timeout | undefined
  #pollTimer: NodeJS.Timeout | undefined
  #closed = false

  constructor(
    store: Store,
    chunkSize: number,
    leaseMs: number,
    reshape: (job: FanoutJob) => Promise<FanoutJob | null>,
    dead: DeadLetters,
  ) {
    this.#store = store
    this.#dead = dead
    this.#maxChunk = chunkSize
    this.#adaptive = store.capabilities.blocksEventLoop
    this.#chunk = this.#adaptive ? Math.min(chunkSize, DEFAULT_CHUNK_SIZE) : chunkSize
    this.#leaseMs = leaseMs
    this.#reshape = reshape
  }

  /** Whether jobs are being delivered now (chunks alternate with other work, turn by turn). */
  get busy(): boolean {
    return this.#running !== undefined
  }

  /** Followers the next chunk handles (adapted to the store's speed on blocking stores). */
  get chunkSize(): number {
    return this.#chunk
  }

  /** Resizes chunks toward {@link CHUNK_BUDGET_MS} after one that took `ms` (`full`: it was not the last). */
  #adapt(ms: number, full: boolean): void {
    if (!this.#adaptive) return
    if (ms > CHUNK_BUDGET_MS * 2) {
      this.#chunk = Math.max(Math.min(MIN_ADAPTIVE_CHUNK, this.#maxChunk), Math.floor(this.#chunk / 2))
    } else if (full && ms < CHUNK_BUDGET_MS / 2) {
      this.#chunk = Math.min(this.#maxChunk, this.#chunk * 2)
    }
  }

  /** Queues jobs that the store reported as pending and starts draining. */
  enqueue(jobs: FanoutJob[]): void {
    if (jobs.length === 0) return
    this.#queue.push(...jobs)
    this.#start()
  }

  /**
   * Claims the jobs no live process holds (accepted earlier, or by a crashed process) and drains
   * them; from then on checks again every lease period in the background, so jobs whose holder
   * died mid-way are finished here once its lease ends.
   */
  async resume(): Promise<void> {
    this.#poll()
    for (;;) {
      const jobs = await this.#store.jobs.claimFanout({ limit: CLAIM_BATCH, leaseMs: this.#leaseMs })
      this.enqueue(jobs)
      if (jobs.length < CLAIM_BATCH) return
      await this.idle()
    }
  }

  #poll(): void {
    if (this.#pollTimer || this.#closed) return
    this.#pollTimer = setInterval(() => {
      if (!this.#running && !this.#closed) this.resume().catch(() => this.#retry())
    }, this.#leaseMs)
    // Background upkeep must not keep a process alive that has nothing else to do.
    this.#pollTimer.unref()
  }

  /**
   * Works as a fan-out worker until `signal` aborts: claims jobs, drains them, and polls every
   * `pollMs` while there are none. Any number of workers in any number of processes may share
   * one store: a claim leases a job to one of them, and a dead worker's lease runs out.
   */
  async work(signal: AbortSignal, pollMs = 200): Promise<void> {
    while (!signal.aborted) {
      const jobs = await this.#store.jobs.claimFanout({ limit: CLAIM_BATCH, leaseMs: this.#leaseMs })
      this.enqueue(jobs)
      try {
        await this.idle()
      } catch {
        // The job stays claimable at its last committed chunk; the lease hands it back.
      }
      if (jobs.length === 0) await sleep(pollMs, undefined, { signal }).catch(() => undefined)
    }
  }

  /** Resolves when every queued job is finished; rejects with the error that stopped one. */
  async idle(): Promise<void> {
    while (this.#running) await this.#running
    if (this.#error !== undefined) {
      const error = this.#error
      this.#error = undefined
      throw error
    }
  }

  #retry(): void {
    if (this.#retryTimer || this.#closed) return
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined
      this.resume().catch(() => this.#retry())
    }, RETRY_DELAY_MS)
    this.#retryTimer.unref()
  }

  /** Stops retrying (the store is closing); queued work stays in the store for the next open. */
  stop(): void {
    this.#closed = true
    if (this.#retryTimer) clearTimeout(this.#retryTimer)
    if (this.#pollTimer) clearInterval(this.#pollTimer)
    this.#retryTimer = undefined
    this.#pollTimer = undefined
  }

  #start(): void {
    if (this.#running) return
    this.#running = this.#drain().finally(() => {
      this.#running = undefined
      if (this.#queue.length > 0 && this.#error === undefined) this.#start()
    })
  }

  async #drain(): Promise<void> {
    // Let the write that queued the job resolve first; delivery is not on the caller's path.
    await nextTurn()
    while (this.#queue.length > 0) {
      const batch = this.#queue.splice(0, this.#queue.length)
      for (const queued of batch) {
        if (this.#closed) return
        try {
          let next: FanoutJob | null =
            queued.op === 'add' && !queued.shapes ? await this.#reshape(queued) : queued
          while (next && !this.#closed) {
            const started = performance.now()
            next = await this.#store.jobs.runFanout(next, this.#chunk)
            this.#adapt(performance.now() - started, next !== null)
            // Awaiting a synchronous store only yields to microtasks: without a turn of the event
            // loop here, a 50,000-follower delivery would hold every other request until it ends.
            await nextTurn()
          }
        } catch (error) {
          // The job stays in the store at its last committed chunk; the error goes to the next
          // flush(). A failure of this job is counted against it (dead-jobs.ts) and the batch goes
          // on: one bad job never holds up the jobs claimed behind it. An unreachable store is
          // nobody's fault: stop, and retry everything from the store a little later.
          this.#error ??= error
          const outcome = await recordFailure(this.#store, queued, error, this.#dead).catch(() => 'outage')
          if (outcome !== 'outage') {
            this.#retry()
            continue
          }
          this.#queue = []
          this.#retry()
          return
        }
      }
    }
  }
}
