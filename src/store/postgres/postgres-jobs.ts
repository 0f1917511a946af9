/**
 * The fan-out jobs part of the PostgreSQL store: chunks and claims (postgres-fanout-jobs.ts),
 * failures (dead-jobs.ts).
 */
import type {
  ClaimOptions,
  DeadFanoutJob,
  FanoutDelivered,
  FanoutFailure,
  FanoutJob,
  FanoutJobStore,
} from '../store.js'
import type { DeadJobs } from './dead-jobs.js'
import type { PostgresFanoutJobs } from './postgres-fanout-jobs.js'
import type { Session } from './session.js'
import { afterCommit } from './timelines.js'

/** Fan-out jobs of a PostgreSQL store (accepted inside its write transactions). */
export class PostgresFanoutJobStore implements FanoutJobStore {
  readonly #session: Session
  readonly #jobs: PostgresFanoutJobs
  readonly #dead: DeadJobs
  readonly #committed: (() => Promise<void>) | undefined

  /** `committed`: the timelines part's hook, run after each chunk commits. */
  constructor(session: Session, jobs: PostgresFanoutJobs, dead: DeadJobs, committed?: () => Promise<void>) {
    this.#session = session
    this.#committed = committed
    this.#jobs = jobs
    this.#dead = dead
  }

  async runFanout(job: FanoutJob, chunkSize: number, delivered?: FanoutDelivered): Promise<FanoutJob | null> {
    this.#session.check()
    return afterCommit(this.#jobs.run(job, chunkSize, delivered), this.#committed)
  }

  async claimFanout({ limit, leaseMs }: ClaimOptions): Promise<FanoutJob[]> {
    this.#session.check()
    return this.#jobs.claim(limit, leaseMs)
  }

  async failFanout(job: FanoutJob, failure: FanoutFailure): Promise<'retry' | 'dead' | 'gone'> {
    this.#session.check()
    return this.#dead.fail(job, failure)
  }

  async deadFanout(limit: number): Promise<{ total: number; jobs: DeadFanoutJob[] }> {
    this.#session.check()
    return this.#dead.list(limit)
  }

  async retryFanout(ids: string[] | 'all'): Promise<number> {
    this.#session.check()
    return this.#dead.retry(ids)
  }
}
