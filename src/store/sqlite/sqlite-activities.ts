/** The activities part of the SQLite store: bodies by sort key, and lookups by foreign_id. */
import type { ActivityStore, StoredActivity } from '../store.js'
import type { Database, Statement } from './driver.js'

/** Activity bodies of a SQLite store (written by the store's `write`). */
export class SqliteActivityStore implements ActivityStore {
  readonly #check: () => void
  readonly #activities: Statement
  readonly #byForeignId: Statement

  constructor(db: Database, check: () => void) {
    this.#check = check
    this.#activities = db.prepare(
      'SELECT sk, body FROM activities WHERE sk IN (SELECT value FROM json_each(?))',
    )
    this.#byForeignId = db.prepare(
      `SELECT a.sk FROM activities AS a JOIN entries AS e ON e.feed = ? AND e.sk = a.sk
       WHERE a.foreign_id = ? ORDER BY a.sk DESC`,
    )
  }

  async getActivities(sks: string[]): Promise<Map<string, StoredActivity>> {
    this.#check()
    const rows = this.#activities.all(JSON.stringify(sks)) as StoredActivity[]
    return new Map(rows.map((r) => [r.sk, { sk: r.sk, body: r.body }]))
  }

  async findByForeignId(feed: string, foreignId: string): Promise<string[]> {
    this.#check()
    if (foreignId === '') return []
    return (this.#byForeignId.all(feed, foreignId) as { sk: string }[]).map((r) => r.sk)
  }
}
