/** The timelines part of the SQLite store: entries, flat pages and group pages with marks. */

import { checkWindow } from '../shared/window.js'
import type {
  FlatEntry,
  GroupPage,
  GroupPageQuery,
  GroupReadOptions,
  PageQuery,
  TimelineStore,
} from '../store.js'
import type { Database, Statement } from './driver.js'
import { SqliteTimelineReader } from './sqlite-timeline-reader.js'

/** Timelines of a SQLite store (entries are written by the store's `write` and fan-out chunks). */
export class SqliteTimelineStore implements TimelineStore {
  readonly #check: () => void
  readonly #reader: SqliteTimelineReader
  readonly #entries: Statement

  constructor(db: Database, check: () => void) {
    this.#check = check
    this.#reader = new SqliteTimelineReader(db)
    this.#entries = db.prepare(
      'SELECT sk, origin FROM entries WHERE feed = ? AND sk IN (SELECT value FROM json_each(?))',
    )
  }

  async getEntries(feed: string, sks: string[]): Promise<Map<string, { origin: string | null }>> {
    this.#check()
    const rows = this.#entries.all(feed, JSON.stringify(sks)) as { sk: string; origin: string | null }[]
    return new Map(rows.map((r) => [r.sk, { origin: r.origin }]))
  }

  async readFlat(feed: string, page: PageQuery): Promise<FlatEntry[]> {
    this.#check()
    checkWindow(page.limit, page.offset)
    return this.#reader.readFlat(feed, page)
  }

  async newestEntries(feed: string, limit: number): Promise<string[]> {
    this.#check()
    checkWindow(limit, 0)
    return this.#reader.newestEntries(feed, limit)
  }

  async readGroups(
    feed: string,
    page: GroupPageQuery,
    perGroup: number,
    options?: GroupReadOptions,
  ): Promise<GroupPage> {
    this.#check()
    checkWindow(page.limit, page.offset)
    checkWindow(perGroup, 0)
    return this.#reader.readGroups(feed, page, perGroup, options)
  }
}
