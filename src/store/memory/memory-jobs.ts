/** The fan-out jobs part of the memory store: chunks, claims, failures, each one atomic write. */
import type { ClaimOptions, DeadFanoutJob, FanoutFailure, FanoutJob, FanoutJobStore } from '../store.js'
import type { MemoryFanoutJobs } from './memory-fanout-jobs.js'
import type { MemoryRuntime } from './memory-runtime.js'

/** Fan-out jobs of the memory store. */
export class MemoryFanoutJobStore implements FanoutJobStore {
  readonly #rt: MemoryRuntime
  readonly #jobs: MemoryFanoutJobs

  constructor(rt: MemoryRuntime, jobs: MemoryFanoutJobs) {
    this.#rt = rt
    this.#jobs = jobs
  }

  async runFanout(job: FanoutJob, chunkSize: number): Promise<FanoutJob | null> {
    return this.#rt.atomic(() => {
      // Rule 5: the stored row is the truth; a job that is gone or replaced does nothing.
      const record = this.#jobs.current(job)
      return record ? this.#jobs.runChunk(record, chunkSize, this.#rt.now()) : null
    })
  }

  async claimFanout(options: ClaimOptions): Promise<FanoutJob[]> {
    return this.#rt.atomic(() => this.#jobs.claim(options.limit, options.leaseMs, this.#rt.now()))
  }

  async failFanout(job: FanoutJob, failure: FanoutFailure): Promise<'retry' | 'dead' | 'gone'> {
    return this.#rt.atomic(() => this.#jobs.fail(job, failure, this.#rt.now()))
  }

  async deadFanout(limit: number): Promise<{ total: number; jobs: DeadFanoutJob[] }> {
    this.#rt.check()
    return this.#jobs.dead(limit)
  }

  async retryFanout(ids: string[] | 'all'): Promise<number> {
    return this.#rt.atomic(() => this.#jobs.retry(ids, this.#rt.now()))
  }
}
