/**
 * The fan-out jobs part: accepted jobs run chunk by chunk, leased to workers, set aside when
 * they keep failing (store.ts rules 4–6).
 */
import type { FanoutJob } from './write-batch.js'

/** Receives the follower feeds a fan-out chunk wrote into or withdrew from (see `runFanout`). */
export type FanoutDelivered = (feeds: string[]) => void

/** A failed run of a fan-out job, as {@link FanoutJobStore.failFanout} records it. */
export interface FanoutFailure {
  /** What went wrong (the error's message), kept with the job. */
  reason: string
  /** Failures at which the job is set aside as dead. */
  maxFailures: number
  /** How long the job waits before it may be claimed again, when it is not dead. */
  retryMs: number
}

/** A fan-out job set aside after failing `failures` times (see {@link FanoutJobStore.deadFanout}). */
export interface DeadFanoutJob {
  id: string
  op: 'add' | 'remove'
  feed: string
  sk: string
  /** How many runs failed. */
  failures: number
  /** The last failure's reason. */
  reason: string
  /** When the last failure was recorded (ISO 8601). */
  failedAt: string
}

/** Options for {@link FanoutJobStore.claimFanout}. */
export interface ClaimOptions {
  /** Most jobs to claim. */
  limit: number
  /** How long the claim holds before another worker may take the job. */
  leaseMs: number
}

/** The fan-out jobs part: jobs are accepted by `StorageAdapter.write`; this part runs and tends them. */
export interface FanoutJobStore {
  /**
   * Runs the next chunk of `job` (at most `chunkSize` followers after the stored cursor) in one
   * transaction: writes their entries (`shapes`, or removals through `job.feed`) and advances or
   * deletes the row, renewing its lease for as long as it was last leased. Resolves with the job
   * as advanced, or null when it is finished, superseded or gone (rule 5). A full chunk may be
   * the last: the next run then finds no follower and finishes the job.
   *
   * `delivered`, when given, is called before the chunk commits with the follower feeds it
   * wrote the entry into (or withdrew it from), by stores that have them at hand: only those
   * that did not hold the entry yet where the store can tell (a priority pass delivers twice).
   * Act on them once the returned promise resolves (a rejected chunk committed nothing). A store
   * that never calls it walks followers by name, its cursors being the last name (realtime then
   * reads the listened followers between the cursors).
   */
  runFanout(job: FanoutJob, chunkSize: number, delivered?: FanoutDelivered): Promise<FanoutJob | null>

  /** Leases up to `limit` accepted jobs that no live lease holds, oldest first (rule 6). */
  claimFanout(options: ClaimOptions): Promise<FanoutJob[]>

  /**
   * Records that a run of `job` failed (rule 6): counts the failure with its reason and, at
   * `maxFailures` failures in a row (a chunk that commits resets the count), sets the job aside
   * as dead (never claimed); else leases it for `retryMs`, so other jobs are claimed first. Resolves `gone` (nothing recorded) when the job is finished or
   * superseded (rule 5).
   */
  failFanout(job: FanoutJob, failure: FanoutFailure): Promise<'retry' | 'dead' | 'gone'>

  /** Up to `limit` dead jobs, oldest first, and how many there are in all. */
  deadFanout(limit: number): Promise<{ total: number; jobs: DeadFanoutJob[] }>

  /**
   * Puts dead jobs back, failures forgotten and claimable at once: those with the given ids, or
   * every one for `'all'`. Resolves with how many were dead and now are not.
   */
  retryFanout(ids: string[] | 'all'): Promise<number>
}
