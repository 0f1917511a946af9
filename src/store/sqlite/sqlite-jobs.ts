/** The fan-out jobs part of the SQLite store: chunks, claims, failures, each one IMMEDIATE transaction. */
import type { ClaimOptions, DeadFanoutJob, FanoutFailure, FanoutJob, FanoutJobStore } from '../store.js'
import type { Database, Transaction } from './driver.js'
import type { SqliteFanoutJobs } from './sqlite-fanout-jobs.js'

/** Fan-out jobs of a SQLite store (accepted by the store's `write`). */
export class SqliteFanoutJobStore implements FanoutJobStore {
  readonly #check: () => void
  readonly #jobs: SqliteFanoutJobs
  readonly #run: Transaction<(job: FanoutJob, chunkSize: number) => FanoutJob | null>
  readonly #claim: Transaction<(limit: number, leaseMs: number) => FanoutJob[]>
  readonly #fail: Transaction<(job: FanoutJob, failure: FanoutFailure) => 'retry' | 'dead' | 'gone'>
  readonly #retry: Transaction<(ids: string[] | 'all') => number>

  constructor(db: Database, check: () => void, jobs: SqliteFanoutJobs) {
    this.#check = check
    this.#jobs = jobs
    this.#run = db.transaction((job: FanoutJob, chunkSize: number) => jobs.resume(job, chunkSize))
    this.#claim = db.transaction((limit: number, leaseMs: number) => jobs.claim(limit, leaseMs))
    this.#fail = db.transaction((job: FanoutJob, failure: FanoutFailure) => jobs.fail(job, failure))
    this.#retry = db.transaction((ids: string[] | 'all') => jobs.retry(ids))
  }

  async runFanout(job: FanoutJob, chunkSize: number): Promise<FanoutJob | null> {
    this.#check()
    return this.#run.immediate(job, chunkSize)
  }

  async claimFanout({ limit, leaseMs }: ClaimOptions): Promise<FanoutJob[]> {
    this.#check()
    return this.#claim.immediate(limit, leaseMs)
  }

  async failFanout(job: FanoutJob, failure: FanoutFailure): Promise<'retry' | 'dead' | 'gone'> {
    this.#check()
    return this.#fail.immediate(job, failure)
  }

  async deadFanout(limit: number): Promise<{ total: number; jobs: DeadFanoutJob[] }> {
    this.#check()
    return this.#jobs.dead(limit)
  }

  async retryFanout(ids: string[] | 'all'): Promise<number> {
    this.#check()
    return this.#retry.immediate(ids)
  }
}
