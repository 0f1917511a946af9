/**
 * Fan-out jobs, keyed by (feed, sk) and upserted (rule 5), with leases (rule 6). A chunk reads
 * the next followers after the stored cursor from the follow index (so only followers whose
 * edge exists), writes their entries from the job's shapes (or removes them), and advances or
 * deletes the job, all inside the caller's transaction.
 */

import { TrimPlan } from '../shared/group-state.js'
import type { DeadFanoutJob, EntryShape, EntryWrite, FanoutFailure, FanoutJob } from '../store.js'
import type { MemoryFollowEdges } from './memory-follow-edges.js'
import { type JobRecord, slugOf } from './state.js'
import type { Timelines } from './timelines.js'
import type { UndoLog } from './undo-log.js'

function copyShapes(shapes: Record<string, EntryShape>): Record<string, EntryShape> {
  const out: Record<string, EntryShape> = {}
  for (const slug of Object.keys(shapes)) out[slug] = { ...shapes[slug] }
  return out
}

/** A copy of a job that shares nothing with the stored one. */
export function copyJob(job: FanoutJob): FanoutJob {
  const out: FanoutJob = { id: job.id, op: job.op, feed: job.feed, sk: job.sk, cursor: job.cursor }
  if (job.shapes) out.shapes = copyShapes(job.shapes)
  return out
}

function keyOf(feed: string, sk: string): string {
  return `${feed}\u0000${sk}`
}

/** The store's fan-out jobs and the chunks that advance them. */
export class MemoryFanoutJobs {
  readonly #jobs: Map<string, JobRecord>
  readonly #timelines: Timelines
  readonly #follows: MemoryFollowEdges
  readonly #undo: UndoLog

  constructor(jobs: Map<string, JobRecord>, timelines: Timelines, follows: MemoryFollowEdges, undo: UndoLog) {
    this.#jobs = jobs
    this.#timelines = timelines
    this.#follows = follows
    this.#undo = undo
  }

  /** Accepts a job, replacing any job of its (feed, sk) (new id, cursor reset), leased until `leaseUntil`. */
  accept(job: FanoutJob, leaseUntil: number, leaseMs: number): void {
    const stored = copyJob({ ...job, cursor: null })
    // Map.set keeps a replaced key in place: the job keeps its turn among the oldest.
    this.#undo.set(this.#jobs, keyOf(job.feed, job.sk), { job: stored, leaseUntil, leaseMs })
  }

  /** The stored version of `job`, or undefined when it is finished or replaced. */
  current(job: FanoutJob): JobRecord | undefined {
    const record = this.#jobs.get(keyOf(job.feed, job.sk))
    return record && record.job.id === job.id ? record : undefined
  }

  /**
   * Runs the next chunk of a stored job: at most `chunkSize` followers after its cursor. Returns
   * the job advanced (lease renewed from `now`), or null when this chunk finished it.
   */
  runChunk(record: JobRecord, chunkSize: number, now: number): FanoutJob | null {
    if (!Number.isInteger(chunkSize) || chunkSize < 1) {
      throw new Error(`chunkSize must be a positive integer, got ${chunkSize}`)
    }
    const job = record.job
    const followers = this.#follows.followersAfter(job.feed, job.cursor, chunkSize)
    if (job.op === 'add') {
      const trims = new TrimPlan()
      for (const feed of followers) {
        const slug = slugOf(feed)
        // hasOwn: a slug such as `constructor` must not find Object.prototype's.
        if (!job.shapes || slug === undefined || !Object.hasOwn(job.shapes, slug)) continue
        const entry: EntryWrite = { ...job.shapes[slug], feed, sk: job.sk, origin: job.feed }
        trims.note(entry.feed, entry)
        this.#timelines.add(entry)
      }
      this.#timelines.applyTrims(trims)
    } else {
      for (const feed of followers) this.#timelines.remove(feed, job.sk, job.feed)
    }
    // A full chunk may have been the last one; the next run then finds no follower and ends.
    if (followers.length < chunkSize) {
      this.#undo.delete(this.#jobs, keyOf(job.feed, job.sk))
      return null
    }
    this.#undo.assign(job, 'cursor', followers[followers.length - 1])
    // A chunk that commits ends a run of failures: failures count in a row.
    if (record.failures) this.#undo.assign(record, 'failures', 0)
    this.#undo.assign(record, 'leaseUntil', now + record.leaseMs)
    return copyJob(job)
  }

  /** Counts a failed run of `job` and sets it aside at `maxFailures` (see `Store.failFanout`). */
  fail(job: FanoutJob, failure: FanoutFailure, now: number): 'retry' | 'dead' | 'gone' {
    const record = this.current(job)
    if (!record) return 'gone'
    const failures = (record.failures ?? 0) + 1
    const dead = failures >= failure.maxFailures
    this.#undo.assign(record, 'failures', failures)
    this.#undo.assign(record, 'reason', failure.reason)
    this.#undo.assign(record, 'failedAt', now)
    this.#undo.assign(record, 'dead', dead)
    // A dead job's lease never ends, so claim() passes it by.
    this.#undo.assign(record, 'leaseUntil', dead ? Number.POSITIVE_INFINITY : now + failure.retryMs)
    return dead ? 'dead' : 'retry'
  }

  /** Up to `limit` dead jobs in queue order, and how many there are. */
  dead(limit: number): { total: number; jobs: DeadFanoutJob[] } {
    const jobs: DeadFanoutJob[] = []
    let total = 0
    for (const r of this.#jobs.values()) {
      if (!r.dead) continue
      total++
      if (jobs.length >= limit) continue
      const { id, op, feed, sk } = r.job
      const failedAt = new Date(r.failedAt ?? 0).toISOString()
      jobs.push({ id, op, feed, sk, failures: r.failures ?? 0, reason: r.reason ?? '', failedAt })
    }
    return { total, jobs }
  }

  /** Puts dead jobs (by id, or all) back with no failures, claimable from `now`. */
  retry(ids: string[] | 'all', now: number): number {
    const wanted = ids === 'all' ? undefined : new Set(ids)
    let n = 0
    for (const r of this.#jobs.values()) {
      if (!r.dead || (wanted && !wanted.has(r.job.id))) continue
      this.#undo.assign(r, 'dead', false)
      this.#undo.assign(r, 'failures', 0)
      this.#undo.assign(r, 'leaseUntil', now)
      n++
    }
    return n
  }

  /** Leases up to `limit` jobs whose lease has ended, oldest first, for `leaseMs` from `now`. */
  claim(limit: number, leaseMs: number, now: number): FanoutJob[] {
    const out: FanoutJob[] = []
    if (limit <= 0) return out
    for (const record of this.#jobs.values()) {
      if (record.leaseUntil > now) continue
      this.#undo.assign(record, 'leaseUntil', now + leaseMs)
      this.#undo.assign(record, 'leaseMs', leaseMs)
      out.push(copyJob(record.job))
      if (out.length >= limit) break
    }
    return out
  }
}
