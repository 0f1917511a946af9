/**
 * The bare limits the SQLite rows are measured against, in the same run: a second better-sqlite3
 * connection on the bench's own database file, with the store's pragmas (`configure()`) and
 * copies of its tables (same columns, keys and indexes), running the bare statements an
 * operation needs and nothing else. Eddy and its limit take turns, block by block or call by
 * call, so both see the same load on a shared machine (this VM varies ~2x between runs).
 */
import { randomBytes } from 'node:crypto'
import { type Database, openDatabase, type Statement, type Transaction } from '../src/store/sqlite/driver.js'
import { configure } from '../src/store/sqlite/schema.js'

/** p-th percentile of `samples` (nearest rank). */
export function percentile(samples: number[], p: number): number {
  const sorted = [...samples].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]
}

/** A fresh 31-character sort key (the store's key width; the order does not matter here). */
export function bareSk(): string {
  return randomBytes(16).toString('hex').slice(0, 31)
}

/**
 * Calls each kind in turn, round after round (each round starting with the next kind, so none
 * always follows the heaviest), and returns each kind's durations in ms after `warm` rounds.
 */
export async function takeTurns<K extends string>(
  kinds: Record<K, () => unknown>,
  rounds: number,
  warm = 0,
): Promise<Record<K, number[]>> {
  const order = Object.keys(kinds) as K[]
  const times = Object.fromEntries(order.map((k) => [k, [] as number[]])) as Record<K, number[]>
  for (let i = 0; i < warm + rounds; i++) {
    for (let j = 0; j < order.length; j++) {
      const kind = order[(i + j) % order.length]
      const t = performance.now()
      await kinds[kind]()
      if (i >= warm) times[kind].push(performance.now() - t)
    }
  }
  return times
}

/** Operations per second of each kind over `rounds` alternating blocks of `block` sequential calls. */
export async function blockRates<K extends string>(
  kinds: Record<K, (i: number) => unknown>,
  rounds: number,
  block: number,
): Promise<Record<K, number>> {
  let i = 0
  const blocks = Object.fromEntries(
    Object.entries(kinds).map(([k, fn]) => [
      k,
      async () => {
        for (let n = 0; n < block; n++) await (fn as (i: number) => unknown)(i++)
      },
    ]),
  ) as Record<K, () => Promise<void>>
  const times = await takeTurns(blocks, rounds)
  const sum = (v: number[]) => v.reduce((a, b) => a + b, 0)
  return Object.fromEntries(
    Object.entries(times).map(([k, t]) => [k, (rounds * block) / (sum(t as number[]) / 1000)]),
  ) as Record<K, number>
}

/** Eddy's share of the limit as a percentage, for throughput rows (100 % = at the limit). */
export const share = (eddy: number, limit: number) => `${Math.round((100 * eddy) / limit)} %`

/**
 * Bare better-sqlite3 on an Eddy database: `bare_activities` and `bare_entries` are copies of the
 * store's `activities` and `entries` (taken from `sqlite_master`, indexes included), written by
 * plain prepared statements; pages read the store's own tables with the store's page statement.
 */
export class BareSqlite {
  readonly db: Database
  readonly #insertActivity: Statement
  readonly #insertEntry: Statement
  readonly #page: Statement
  readonly #fanout: Transaction<(feeds: string[], sk: string, origin: string) => void>
  readonly #add: Transaction<(sk: string, body: string, feed: string) => void>
  readonly #row: Transaction<(sk: string, body: string) => void>

  /** Opens `path` (an Eddy store's file, already migrated) and copies the two tables once. */
  constructor(path: string) {
    this.db = openDatabase(path)
    configure(this.db)
    const exists = this.db.prepare("SELECT 1 FROM sqlite_master WHERE name = 'bare_entries'").get()
    if (!exists) {
      const ddl = this.db
        .prepare(
          `SELECT sql FROM sqlite_master WHERE tbl_name IN ('activities', 'entries') AND sql IS NOT NULL
           ORDER BY type DESC`,
        )
        .pluck()
        .all() as string[]
      for (const sql of ddl) {
        this.db.exec(
          sql
            .replace(/\b(TABLE|INDEX) (activities|entries)/, '$1 bare_$2')
            .replace(/\bON (activities|entries)\b/, 'ON bare_$1'),
        )
      }
    }
    this.#insertActivity = this.db.prepare(
      'INSERT INTO bare_activities (sk, body, foreign_id) VALUES (?, ?, NULL)',
    )
    this.#insertEntry = this.db.prepare('INSERT INTO bare_entries (feed, sk, origin) VALUES (?, ?, ?)')
    // The store's flat page statement (sqlite/sqlite-timeline-reader.ts), LIMIT inlined as the store does.
    this.#page = this.db.prepare(
      `SELECT e.sk, e.origin, coalesce(a.body, 'null') AS body
       FROM entries AS e LEFT JOIN activities AS a ON a.sk = e.sk
       WHERE e.feed = ? ORDER BY e.sk DESC LIMIT 25`,
    )
    this.#fanout = this.db.transaction((feeds: string[], sk: string, origin: string) => {
      for (const feed of feeds) this.#insertEntry.run(feed, sk, origin)
    })
    this.#add = this.db.transaction((sk: string, body: string, feed: string) => {
      this.#insertActivity.run(sk, body)
      this.#insertEntry.run(feed, sk, null)
    })
    this.#row = this.db.transaction((sk: string, body: string) => {
      this.#insertActivity.run(sk, body)
    })
  }

  /** One entry into each of `feeds` for a new sort key, in one transaction (fan-out's limit). */
  fanout(feeds: string[], origin: string): void {
    this.#fanout.immediate(feeds, bareSk(), origin)
  }

  /** One commit of an activity row and a timeline row (a durable add's limit). */
  add(body: string, feed: string): void {
    this.#add.immediate(bareSk(), body, feed)
  }

  /** One commit of one row (the limit for adds that write more than a row). */
  row(body: string): void {
    this.#row.immediate(bareSk(), body)
  }

  /** The newest 25 entries of `feed` with their bodies, each body parsed (a client needs objects). */
  page(feed: string): unknown[] {
    const rows = this.#page.all(feed) as { body: string }[]
    const out = new Array(rows.length)
    for (let i = 0; i < rows.length; i++) out[i] = JSON.parse(rows[i].body)
    return out
  }

  /** Drops the copies (they stay out of the bytes-per-entry row) and closes the connection. */
  close(): void {
    this.db.exec('DROP TABLE IF EXISTS bare_activities; DROP TABLE IF EXISTS bare_entries')
    this.db.close()
  }
}
