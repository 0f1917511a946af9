/** The engine's options, and validation of the numeric options that many calls share. */
import { inputError } from './errors.js'
import type { FanoutQueue } from './fanout-queue.js'
import type { FeedGroupOptions } from './feed-groups.js'

/** Checks an optional integer option (a number or a decimal string) and returns it or the default. */
export function intOption(value: unknown, field: string, min: number, max: number, fallback: number): number {
  if (value === undefined || value === null || value === '') return fallback
  const n = typeof value === 'string' && /^-?\d+$/.test(value) ? Number(value) : value
  if (typeof n !== 'number' || !Number.isInteger(n) || n < min || n > max) {
    throw inputError(`${field} must be an integer from ${min} to ${max}`, value, field)
  }
  return n
}

/** Options for the engine (`Engine`, `connect()`). */
export interface EngineOptions {
  /** Feed groups, merged over the defaults (user, timeline, timeline_aggregated, notification). */
  feedGroups?: Record<string, FeedGroupOptions>
  /** Follower feeds written per fan-out transaction. */
  fanoutChunkSize?: number
  /**
   * How long this process holds the fan-out jobs it accepted or claimed before another process
   * may take them over (default 30 s): after a crash, the restarted process or a worker finishes
   * them within about this long.
   */
  fanoutLeaseMs?: number
  /**
   * Failed runs after which a fan-out job is set aside as dead, so the jobs behind it keep
   * flowing (default 10; 1–1,000). Dead jobs are listed and put back with `eddy jobs`; an
   * unreachable store never counts as a failure (docs/server.md, "Dead fan-out jobs").
   */
  fanoutMaxFailures?: number
  /** How long a failed fan-out job waits before it is tried again, in ms (default 1,000, or the lease if shorter). */
  fanoutRetryMs?: number
  /**
   * Whether this process delivers the fan-out it accepts (default true). With false, writes only
   * accept jobs, unleased, and `eddy worker` processes deliver them (`eddy serve --workers 0`).
   */
  localFanout?: boolean
  /**
   * A queue carrying fan-out to workers (`eddy/redis`'s BullMQ queue): writes accept jobs and
   * queue them instead of delivering them here, and `work()` consumes the queue.
   */
  fanoutQueue?: FanoutQueue
  /**
   * Record who changed which activity, reaction, user or collection entry (`auditLogs`), in the
   * same transaction as each activity or reaction change (default false: each entry is one more
   * row per add, ~25-35% of single-add throughput on SQLite, measured; `createServer` turns it on).
   */
  auditLog?: boolean
}
