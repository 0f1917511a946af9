/**
 * Dead fan-out jobs: a job whose runs keep failing (bad data a store cannot take, a bug) is
 * counted and, after `maxFailures` failures, set aside as dead with its reason (store.ts rule 6),
 * so the jobs behind it keep flowing, before and after a restart. Dead jobs are listed and put
 * back by `eddy jobs` (src/cli/jobs.ts) and counted in the metrics. A store that cannot be
 * reached is nobody's fault: its errors are retried as before and never counted.
 */
import type { DeadFanoutJob, FanoutJob, Store } from '../store/store.js'
import { EddyError } from './errors.js'

/** How failures are counted: at `maxFailures` a job is dead; before, it waits `retryMs`. */
export interface DeadLetters {
  maxFailures: number
  retryMs: number
}

/** Failures after which a job is set aside as dead (the `fanoutMaxFailures` option's default). */
export const DEFAULT_MAX_FAILURES = 10
/** How long a failed job waits before it is claimed again (`fanoutRetryMs`'s default). */
export const DEFAULT_RETRY_MS = 1_000
/** Longest reason kept with a dead job, in characters. */
const MAX_REASON = 1_000

/** Whether `error` says the store is unreachable or closed (retried, never counted). */
export function isOutage(error: unknown): boolean {
  if (!(error instanceof EddyError)) return false
  if (error.exception === 'ServiceUnavailableException') return true
  return (error.cause as { reason?: unknown } | undefined)?.reason === 'closed'
}

/** An error's message as a reason every store can keep: short, no NUL, no lone surrogate. */
export function reasonOf(error: unknown): string {
  const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error)
  const clean = (text.slice(0, MAX_REASON) as string & { toWellFormed(): string }).toWellFormed()
  return clean.replaceAll('\u0000', '\ufffd')
}

/**
 * Counts a failed run of `job` in the store, unless the failure is an outage. Resolves with the
 * store's answer (`retry`: the job waits `retryMs`; `dead`; `gone`: finished or replaced), or
 * `outage` when nothing was counted and the caller should retry later.
 */
export async function recordFailure(
  store: Store,
  job: FanoutJob,
  error: unknown,
  dead: DeadLetters,
): Promise<'retry' | 'dead' | 'gone' | 'outage'> {
  if (isOutage(error)) return 'outage'
  return store.jobs.failFanout(job, { reason: reasonOf(error), ...dead })
}

/** Prometheus text of the dead jobs, appended to the queue's metrics (docs/scale-out.md). */
export function deadJobMetrics(total: number): string {
  return [
    '# HELP eddy_fanout_dead_jobs Fan-out jobs set aside after failing too often (eddy jobs list)',
    '# TYPE eddy_fanout_dead_jobs gauge',
    `eddy_fanout_dead_jobs ${total}`,
    '',
  ].join('\n')
}

/** One dead job as `eddy jobs list` prints it. */
export function describeDeadJob(job: DeadFanoutJob): string {
  return `${job.id}  ${job.op} ${job.feed} ${job.sk}  ${job.failures} failures, last ${job.failedAt}: ${job.reason}`
}
