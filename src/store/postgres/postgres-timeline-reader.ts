/**
 * Timeline reads on PostgreSQL: flat pages and group pages with their bodies joined in SQL, one
 * statement each, served in order by an index (docs/postgres.md shows the plans). A group page
 * with counts and marks is one transaction: the page and counts in one statement (one
 * snapshot), then the marks.
 */

import { checkWindow } from '../shared/window.js'
import type {
  FlatEntry,
  GroupPage,
  GroupPageQuery,
  GroupReadOptions,
  GroupRow,
  MarkTarget,
  PageQuery,
} from '../store.js'
import { quoted } from './schema.js'
import { type Runner, type Session, type Sql, sql } from './session.js'

const BOUNDS = ['lt', 'lte', 'gt', 'gte'] as const
const OPERATORS = { lt: '<', lte: '<=', gt: '>', gte: '>=' } as const

interface GroupRecord {
  grp: string
  id: string
  first_sk: string
  last_sk: string
  activity_count: number
  actor_count: number
  is_seen: boolean
  is_read: boolean
  /** [sk, origin, body] of the newest entries, newest first; null when none were asked for. */
  items: [string, string | null, string][] | null
  unseen?: number
  unread?: number
}

/** Reads flat pages, group pages, entries and bodies. */
export class PostgresTimelineReader {
  readonly #session: Session
  readonly #s: string
  readonly #statements = new Map<string, Sql>()
  readonly #st: ReturnType<typeof statements>

  constructor(session: Session, schema: string) {
    this.#session = session
    this.#s = quoted(schema)
    this.#st = statements(this.#s)
  }

  /** A page of a flat feed, newest first, cursors being sort keys. */
  async readFlat(feed: string, page: PageQuery): Promise<FlatEntry[]> {
    checkWindow(page.limit, page.offset)
    if (page.limit === 0) return []
    const used = BOUNDS.filter((b) => page[b] !== undefined)
    const statement = this.#cached(`flat|${used.join(',')}`, () => {
      const where = used.map((b, i) => ` AND e.sk ${OPERATORS[b]} $${i + 4}`).join('')
      return `SELECT e.sk, e.origin, coalesce(a.body, 'null') AS body
        FROM ${this.#s}.entries AS e LEFT JOIN ${this.#s}.activities AS a ON a.sk = e.sk
        WHERE e.feed = $1${where} ORDER BY e.sk DESC LIMIT $2 OFFSET $3`
    })
    return this.#session.once('readFlat', (db) =>
      db.rows<FlatEntry>(statement, [feed, page.limit, page.offset, ...used.map((b) => page[b])]),
    )
  }

  /** The newest `limit` sort keys of a feed. */
  async newestEntries(feed: string, limit: number): Promise<string[]> {
    checkWindow(limit, 0)
    if (limit === 0) return []
    const rows = await this.#session.once('newestEntries', (db) =>
      db.rows<{ sk: string }>(this.#st.newest, [feed, limit]),
    )
    return rows.map((r) => r.sk)
  }

  /** Which of `sks` `feed` holds, with their origins. */
  async getEntries(feed: string, sks: string[]): Promise<Map<string, { origin: string | null }>> {
    if (sks.length === 0) return new Map()
    const rows = await this.#session.once('getEntries', (db) =>
      db.rows<{ sk: string; origin: string | null }>(this.#st.entries, [feed, sks]),
    )
    return new Map(rows.map((r) => [r.sk, { origin: r.origin }]))
  }

  /** Sort keys of `feed`'s activities with this foreign_id, newest first. */
  async findByForeignId(feed: string, foreignId: string): Promise<string[]> {
    if (foreignId === '') return []
    const rows = await this.#session.once('findByForeignId', (db) =>
      db.rows<{ sk: string }>(this.#st.byForeignId, [feed, foreignId]),
    )
    return rows.map((r) => r.sk)
  }

  /** A page of groups with counts and marks as asked (store.ts `readGroups`). */
  async readGroups(
    feed: string,
    page: GroupPageQuery,
    perGroup: number,
    options: GroupReadOptions = {},
  ): Promise<GroupPage> {
    checkWindow(page.limit, page.offset)
    checkWindow(perGroup, 0)
    const marks = hasMarks(options.seen) || hasMarks(options.read)
    const read = async (db: Runner): Promise<GroupPage> => {
      const out: GroupPage = { groups: [] }
      if (page.limit > 0) {
        const records = await this.#page(db, feed, page, perGroup, options.counts === true)
        // The statement returns rows in index order; sorting here keeps that a guarantee.
        const groups = records.filter((r) => r.grp !== null).map(toGroup)
        out.groups = groups.sort((a, b) => (a.lastSk < b.lastSk ? 1 : a.lastSk > b.lastSk ? -1 : 0))
        if (options.counts) {
          out.unseen = records[0]?.unseen ?? 0
          out.unread = records[0]?.unread ?? 0
        }
      } else if (options.counts) {
        const [counts] = await db.rows<{ unseen: number; unread: number }>(this.#st.counts, [feed])
        out.unseen = counts.unseen
        out.unread = counts.unread
      }
      if (marks) await this.#mark(db, feed, options.seen, options.read)
      return out
    }
    return marks ? this.#session.transaction('readGroups', read) : this.#session.once('readGroups', read)
  }

  #page(db: Runner, feed: string, page: GroupPageQuery, perGroup: number, counts: boolean) {
    const used = BOUNDS.filter((b) => page[b] !== undefined)
    const statement = this.#cached(`groups|${used.join(',')}|${counts}`, () => {
      // A cursor stands for its group's current newest activity, or else for the sort key the
      // engine gave (an activity id); max(): an id repeats only if its group was recreated.
      const where = used
        .map(
          (
            b,
            i,
          ) => ` AND g.last_sk ${OPERATORS[b]} coalesce((SELECT max(c.last_sk) FROM ${this.#s}.feed_groups AS c
            WHERE c.feed = $1 AND c.id = $${5 + 2 * i}), $${6 + 2 * i})`,
        )
        .join('')
      // Each group's newest entries walk the (feed, grp, sk) index perGroup steps, so the cost
      // follows the rows returned, not the group's size.
      const groups = `SELECT g.grp, g.id, g.first_sk, g.last_sk, g.activity_count, g.actor_count,
          g.is_seen, g.is_read,
          (SELECT json_agg(json_build_array(e.sk, e.origin, coalesce(a.body, 'null')) ORDER BY e.sk DESC)
           FROM (SELECT x.sk, x.origin FROM ${this.#s}.entries AS x WHERE x.feed = g.feed AND x.grp = g.grp
                 ORDER BY x.sk DESC LIMIT $2) AS e
           LEFT JOIN ${this.#s}.activities AS a ON a.sk = e.sk) AS items
        FROM ${this.#s}.feed_groups AS g
        WHERE g.feed = $1${where}
        ORDER BY g.last_sk DESC LIMIT $3 OFFSET $4`
      if (!counts) return groups
      // Counts ride along in the same statement (one snapshot), also when the page is empty.
      return `SELECT p.*, c.unseen, c.unread FROM (${countsQuery(this.#s)}) AS c
        LEFT JOIN LATERAL (${groups}) AS p ON true`
    })
    const values: unknown[] = [feed, perGroup, page.limit, page.offset]
    for (const b of used) {
      const cursor = page[b]
      if (cursor) values.push(cursor.id, cursor.sk) // always: `used` holds only the bounds given
    }
    return db.rows<GroupRecord>(statement, values)
  }

  async #mark(db: Runner, feed: string, seen?: MarkTarget, read?: MarkTarget): Promise<void> {
    await db.run(this.#st.mark, [
      feed,
      seen === true,
      Array.isArray(seen) ? seen : [],
      read === true,
      Array.isArray(read) ? read : [],
    ])
  }

  #cached(key: string, text: () => string): Sql {
    let statement = this.#statements.get(key)
    if (!statement) {
      statement = sql(text())
      this.#statements.set(key, statement)
    }
    return statement
  }
}

function hasMarks(target: MarkTarget | undefined): boolean {
  return target === true || (Array.isArray(target) && target.length > 0)
}

function countsQuery(s: string): string {
  return `SELECT coalesce((SELECT unseen FROM ${s}.feed_counts WHERE feed = $1), 0) AS unseen,
    coalesce((SELECT unread FROM ${s}.feed_counts WHERE feed = $1), 0) AS unread`
}

function toGroup(r: GroupRecord): GroupRow {
  return {
    id: r.id,
    group: r.grp,
    firstSk: r.first_sk,
    lastSk: r.last_sk,
    activityCount: r.activity_count,
    actorCount: r.actor_count,
    seen: r.is_seen,
    read: r.is_read,
    activities: (r.items ?? []).map(([sk, origin, body]) => ({ sk, origin, body })),
  }
}

function statements(s: string) {
  return {
    newest: sql(`SELECT sk FROM ${s}.entries WHERE feed = $1 ORDER BY sk DESC LIMIT $2`),
    entries: sql(`SELECT sk, origin FROM ${s}.entries WHERE feed = $1 AND sk = ANY($2::text[])`),
    byForeignId:
      sql(`SELECT a.sk FROM ${s}.activities AS a JOIN ${s}.entries AS e ON e.feed = $1 AND e.sk = a.sk
      WHERE a.foreign_id = $2 ORDER BY a.sk DESC`),
    counts: sql(countsQuery(s)),
    // G5 marks after the read: the groups to flip are locked in key order first (as writers lock
    // them), so a mark and a fan-out into the same feed cannot deadlock.
    mark: sql(`UPDATE ${s}.feed_groups AS g
      SET is_seen = g.is_seen OR $2 OR g.id = ANY($3::text[]),
          is_read = g.is_read OR $4 OR g.id = ANY($5::text[])
      FROM (SELECT grp FROM ${s}.feed_groups
            WHERE feed = $1 AND ((NOT is_seen AND ($2 OR id = ANY($3::text[])))
                              OR (NOT is_read AND ($4 OR id = ANY($5::text[]))))
            ORDER BY grp FOR UPDATE) AS l
      WHERE g.feed = $1 AND g.grp = l.grp`),
  }
}
