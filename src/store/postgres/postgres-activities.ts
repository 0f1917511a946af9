/**
 * The activities part of the PostgreSQL store: bodies read by sort key, and written inside the
 * store's write transaction with rule 7's check (expected bodies compared under FOR UPDATE).
 */
import { type ActivityStore, type ExpectedBody, type StoredActivity, WriteConflict } from '../store.js'
import { quoted } from './schema.js'
import { type Runner, type Session, type Step, sql } from './session.js'
import type { PostgresTimelines } from './timelines.js'

const byKey = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0)

/** Activity bodies of a PostgreSQL store. */
export class PostgresActivityStore implements ActivityStore {
  readonly #session: Session
  readonly #st: ReturnType<typeof statements>
  readonly #timelines: () => Pick<PostgresTimelines, 'findByForeignId'>

  /** `timelines`: the store's timelines part, which says which entries a feed holds. */
  constructor(session: Session, timelines: () => Pick<PostgresTimelines, 'findByForeignId'>) {
    this.#session = session
    this.#timelines = timelines
    this.#st = statements(quoted(session.target.schema))
  }

  async getActivities(sks: string[]): Promise<Map<string, StoredActivity>> {
    this.#session.check()
    if (sks.length === 0) return new Map()
    const rows = await this.#session.once('getActivities', (db) =>
      db.rows<StoredActivity>(this.#st.activities, [sks]),
    )
    return new Map(rows.map((r) => [r.sk, { sk: r.sk, body: r.body }]))
  }

  async findByForeignId(feed: string, foreignId: string): Promise<string[]> {
    return this.#timelines().findByForeignId(feed, foreignId)
  }

  /**
   * Rule 7, inside the write transaction `db`: the expected bodies are compared with their rows
   * locked (FOR UPDATE), so no other writer can change them before the transaction ends; then
   * `activities` are stored. A body expected absent must be inserted: a row that appeared after
   * the check (no row to lock then) makes the write conflict instead of overwriting it.
   */
  async write(db: Runner, expect: ExpectedBody[], activities: StoredActivity[]): Promise<void> {
    const mustBeNew = await this.#checkExpected(db, expect)
    if (activities.length === 0) return
    const sorted = latest(activities)
    const fresh = sorted.filter((a) => mustBeNew.has(a.sk))
    const rest = sorted.filter((a) => !mustBeNew.has(a.sk))
    if (fresh.length > 0) {
      const inserted = await db.rows<{ sk: string }>(this.#st.insertNew, args(fresh))
      const made = new Set(inserted.map((r) => r.sk))
      const taken = fresh.find((a) => !made.has(a.sk))
      if (taken) throw new WriteConflict(taken.sk)
    }
    if (rest.length > 0) await db.run(this.#st.putActivities, args(rest))
  }

  /**
   * `write` without `expect`, as a statement to send with others (one round trip): inserts or
   * replaces the bodies; undefined when there are none.
   */
  putStep(activities: StoredActivity[]): Step | undefined {
    if (activities.length === 0) return undefined
    return { statement: this.#st.putActivities, values: args(latest(activities)) }
  }

  /** Returns the sort keys expected absent (see `write`). */
  async #checkExpected(db: Runner, expect: ExpectedBody[]): Promise<Set<string>> {
    if (expect.length === 0) return new Set()
    const sks = [...new Set(expect.map((e) => e.sk))].sort(byKey)
    const rows = await db.rows<{ sk: string; body: string }>(this.#st.lockBodies, [sks])
    const stored = new Map(rows.map((r) => [r.sk, r.body]))
    for (const e of expect) if ((stored.get(e.sk) ?? null) !== e.body) throw new WriteConflict(e.sk)
    return new Set(expect.filter((e) => e.body === null).map((e) => e.sk))
  }
}

/** The last body for each sk (as if the batch ran in order), in sk order (lock order). */
function latest(activities: StoredActivity[]): StoredActivity[] {
  const bySk = new Map(activities.map((a) => [a.sk, a]))
  return [...bySk.values()].sort((a, b) => byKey(a.sk, b.sk))
}

function args(list: StoredActivity[]): unknown[] {
  return [list.map((a) => a.sk), list.map((a) => a.body), list.map((a) => a.foreignId || null)]
}

function statements(s: string) {
  const rows = 'SELECT * FROM unnest($1::text[], $2::text[], $3::text[])'
  return {
    activities: sql(`SELECT sk, body FROM ${s}.activities WHERE sk = ANY($1::text[])`),
    lockBodies: sql(`SELECT sk, body FROM ${s}.activities WHERE sk = ANY($1::text[]) ORDER BY sk FOR UPDATE`),
    insertNew: sql(
      `INSERT INTO ${s}.activities (sk, body, foreign_id) ${rows} ON CONFLICT DO NOTHING RETURNING sk`,
    ),
    putActivities: sql(`INSERT INTO ${s}.activities (sk, body, foreign_id) ${rows}
      ON CONFLICT (sk) DO UPDATE SET body = excluded.body, foreign_id = excluded.foreign_id`),
  }
}
