/**
 * Fan-out through a queue (BullMQ in `eddy/redis`): writes accept jobs in the store as always,
 * then hand them to the queue instead of delivering them in-process; workers consume the queue
 * one chunk per queued job, each chunk queueing the next, so a 100,000-follower fan-out is 50
 * queued chunks that interleave with everyone else's instead of one long job.
 *
 * The store's job rows stay the truth (store.ts rules 5 and 6): a queued job only says "run the
 * next chunk of (feed, sk)"; the chunk runs from the stored cursor, so a job queued twice, run
 * twice or run by two workers delivers once. A sweep claims jobs whose lease ran out (the queue
 * lost them, or the process that accepted them died before queueing) and queues them again.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import type { FanoutJob, Store } from '../store/store.js'
import { type DeadLetters, recordFailure } from './dead-jobs.js'

/** A queue that carries fan-out chunks to workers. */
export interface FanoutQueue {
  /** Queues the next chunk of each job; resolves once queued, or once it gave up (the sweep recovers those). */
  enqueue(jobs: FanoutJob[]): Promise<void>
  /**
   * Runs `handle` on queued chunks, `concurrency` at a time, until `signal` aborts (then waits for
   * the chunks in hand). `handle` resolves with the job to queue next, or null when it is done;
   * a rejection is retried with backoff. `lockMs` is how long a worker may hold a chunk before
   * another takes it over.
   */
  consume(
    handle: (job: FanoutJob) => Promise<FanoutJob | null>,
    options: { concurrency: number; signal: AbortSignal; lockMs: number },
  ): Promise<void>
  /**
   * Back-pressure: the waiting chunks and the limit when the queue is full (writes that fan out
   * are then refused before storing anything, and sweeps wait), else undefined. Synchronous: it
   * answers from a recently read depth.
   */
  backlog?(): { queued: number; limit: number } | undefined
  /** Prometheus text of the queue's metrics (depth, delivery lag, chunk time). */
  metrics(): Promise<string>
  /** Resolves once the queue answers; rejects saying why not (for failing fast at start). */
  ready?(): Promise<void>
  /** Releases the queue's connections. */
  close(): Promise<void>
}

/** How a queue worker runs. */
export interface QueueWorkOptions {
  store: Store
  queue: FanoutQueue
  chunkSize: number
  leaseMs: number
  /** Completes jobs accepted by older versions, which carry no shapes. */
  reshape: (job: FanoutJob) => Promise<FanoutJob | null>
  /** How failures are counted before a job is set aside as dead. */
  dead: DeadLetters
  concurrency: number
  signal: AbortSignal
}

/** Jobs one sweep claims at most. */
const SWEEP_BATCH = 100

/**
 * Consumes the queue until `signal` aborts, and every lease period sweeps the store for jobs no
 * live lease holds, queueing them again.
 */
export async function workQueue(options: QueueWorkOptions): Promise<void> {
  const { store, queue, chunkSize, leaseMs, reshape, signal } = options
  const sweeping = (async () => {
    while (!signal.aborted) {
      try {
        // A full queue gets nothing more: what the sweep leaves stays in the store, unleased.
        for (; !queue.backlog?.(); ) {
          const jobs = await store.jobs.claimFanout({ limit: SWEEP_BATCH, leaseMs })
          await queue.enqueue(jobs)
          if (jobs.length < SWEEP_BATCH) break
        }
      } catch {
        // The store is unreachable; the next sweep tries again.
      }
      await sleep(leaseMs, undefined, { signal }).catch(() => undefined)
    }
  })()
  const handle = async (job: FanoutJob) => {
    try {
      const next = job.op === 'add' && !job.shapes ? await reshape(job) : job
      return next ? await store.jobs.runFanout(next, chunkSize) : null
    } catch (error) {
      // Counted against the job in the store: a dead job is done as far as the queue goes (the
      // sweep passes it by), so one bad job is not retried forever; before that, and for an
      // outage, the queue retries the chunk with backoff. The job row keeps its lease meanwhile.
      const dead = { ...options.dead, retryMs: leaseMs }
      const outcome = await recordFailure(store, job, error, dead).catch(() => 'outage' as const)
      if (outcome === 'dead' || outcome === 'gone') return null
      throw error
    }
  }
  try {
    await queue.consume(handle, { concurrency: options.concurrency, signal, lockMs: leaseMs })
  } finally {
    await sweeping
  }
}
