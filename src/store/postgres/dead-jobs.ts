/**
 * Dead fan-out jobs on PostgreSQL (store.ts rule 6): a failed run is counted on the job's row
 * with its reason and time; at the engine's limit the row is set aside as dead, its lease at
 * `infinity`, so claims (`lease_until <= now()`) pass it by unchanged. Retrying clears the mark
 * and the count and frees the lease. Single statements: each is atomic on its own.
 */
import type { DeadFanoutJob, FanoutFailure, FanoutJob } from '../store.js'
import { quoted } from './schema.js'
import { type Session, sql } from './session.js'

interface DeadRow {
  id: string
  op: 'add' | 'remove'
  feed: string
  sk: string
  failures: number
  failure: string | null
  failed_at: Date | null
}

/** Records, lists and retries dead fan-out jobs. */
export class DeadJobs {
  readonly #session: Session
  readonly #st: ReturnType<typeof statements>

  constructor(session: Session, schema: string) {
    this.#session = session
    this.#st = statements(quoted(schema))
  }

  /** Counts a failed run of `job` (the version with its id) and sets it aside at `maxFailures`. */
  async fail(job: FanoutJob, failure: FanoutFailure): Promise<'retry' | 'dead' | 'gone'> {
    const values = [job.feed, job.sk, job.id, failure.reason, failure.maxFailures, failure.retryMs]
    const [row] = await this.#session.once('failFanout', (db) =>
      db.rows<{ dead: boolean }>(this.#st.fail, values),
    )
    if (!row) return 'gone'
    return row.dead ? 'dead' : 'retry'
  }

  /** Up to `limit` dead jobs in queue order, and how many there are. */
  async list(limit: number): Promise<{ total: number; jobs: DeadFanoutJob[] }> {
    const [rows, [count]] = await this.#session.once('deadFanout', async (db) => [
      await db.rows<DeadRow>(this.#st.list, [limit]),
      await db.rows<{ n: string }>(this.#st.count),
    ])
    const jobs = rows.map(({ failure, failed_at, ...job }) => ({
      ...job,
      reason: failure ?? '',
      failedAt: (failed_at ?? new Date(0)).toISOString(),
    }))
    return { total: Number(count?.n ?? 0), jobs }
  }

  /** Puts dead jobs (by id, or all) back, claimable at once; resolves with how many. */
  retry(ids: string[] | 'all'): Promise<number> {
    return this.#session.once('retryFanout', (db) =>
      db.run(this.#st.retry, [ids === 'all', ids === 'all' ? [] : ids]),
    )
  }
}

function statements(s: string) {
  return {
    fail: sql(`UPDATE ${s}.fanout_jobs SET failures = failures + 1, failure = $4, failed_at = now(),
        dead = failures + 1 >= $5,
        lease_until = CASE WHEN failures + 1 >= $5 THEN 'infinity'::timestamptz
          ELSE now() + $6::int * interval '1 millisecond' END
      WHERE feed = $1 AND sk = $2 AND id = $3 RETURNING dead`),
    list: sql(`SELECT id, op, feed, sk, failures, failure, failed_at FROM ${s}.fanout_jobs
      WHERE dead ORDER BY seq LIMIT $1`),
    count: sql(`SELECT count(*) AS n FROM ${s}.fanout_jobs WHERE dead`),
    retry: sql(`UPDATE ${s}.fanout_jobs SET dead = false, failures = 0, lease_until = '-infinity'
      WHERE dead AND ($1 OR id = ANY($2::text[]))`),
  }
}
