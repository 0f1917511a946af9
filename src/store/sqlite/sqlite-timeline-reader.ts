/**
 * Timeline reads: pages of flat entries and of groups, each with bodies joined in SQL. A page
 * statement is prepared once per combination of cursors used (at most 16 per kind of read).
 */

import type {
  FlatEntry,
  GroupCursor,
  GroupPage,
  GroupPageQuery,
  GroupReadOptions,
  GroupRow,
  MarkTarget,
  PageQuery,
} from '../store.js'
import type { Database, Statement, Transaction } from './driver.js'
import { cached, limitClause } from './statements.js'

const BOUNDS = ['lt', 'lte', 'gt', 'gte'] as const
const OPERATORS = { lt: '<', lte: '<=', gt: '>', gte: '>=' } as const
type Bound = (typeof BOUNDS)[number]

/** A group page row as `.raw()` returns it, in SELECT order. */
type GroupRecordRow = [string, string, string, string, number, number, number, number, string | null]

function splitEntry(joined: string): FlatEntry {
  const a = joined.indexOf('\x1f')
  const b = joined.indexOf('\x1f', a + 1)
  const origin = joined.slice(a + 1, b)
  return { sk: joined.slice(0, a), origin: origin === '' ? null : origin, body: joined.slice(b + 1) }
}

/** `entries` sorted newest first; they nearly always arrive so, which costs one pass to see. */
function newestFirst(entries: FlatEntry[]): FlatEntry[] {
  for (let i = 1; i < entries.length; i++) {
    if (entries[i - 1].sk < entries[i].sk) return entries.sort((x, y) => (x.sk < y.sk ? 1 : -1))
  }
  return entries
}

/** Reads flat pages, group pages and the newest entries of a feed. */
export class SqliteTimelineReader {
  readonly #db: Database
  readonly #flatPages = new Map<string, Statement>()
  readonly #groupPages = new Map<string, Statement>()
  readonly #groupLastSk: Statement
  readonly #newest = new Map<string, Statement>()
  readonly #counts: Statement
  readonly #marks: Record<'seenAll' | 'seenIds' | 'readAll' | 'readIds', Statement>
  readonly #readGroups: Transaction<
    (feed: string, page: GroupPageQuery, perGroup: number, options: GroupReadOptions) => GroupPage
  >

  constructor(db: Database) {
    this.#db = db
    this.#counts = db.prepare(
      `SELECT coalesce((SELECT unseen FROM feed_counts WHERE feed = :feed), 0) AS unseen,
              coalesce((SELECT unread FROM feed_counts WHERE feed = :feed), 0) AS unread`,
    )
    // G5 (../shared/group-state.ts): all groups, or every group of the listed ids.
    this.#marks = {
      seenAll: db.prepare('UPDATE feed_groups SET is_seen = 1 WHERE feed = ? AND is_seen = 0'),
      seenIds: db.prepare(
        `UPDATE feed_groups INDEXED BY feed_groups_by_id SET is_seen = 1
         WHERE feed = ? AND id IN (SELECT value FROM json_each(?))`,
      ),
      readAll: db.prepare('UPDATE feed_groups SET is_read = 1 WHERE feed = ? AND is_read = 0'),
      readIds: db.prepare(
        `UPDATE feed_groups INDEXED BY feed_groups_by_id SET is_read = 1
         WHERE feed = ? AND id IN (SELECT value FROM json_each(?))`,
      ),
    }
    // max(): an id is unique unless an activity left a group and then started another one.
    this.#groupLastSk = db.prepare(
      `SELECT max(last_sk) AS last_sk FROM feed_groups INDEXED BY feed_groups_by_id
       WHERE feed = ? AND id = ?`,
    )
    // One transaction: the page, its entries and the counts come from one snapshot, and marks
    // apply right after the read. Deferred, so a plain read never takes the write lock; a read
    // with marks is run as IMMEDIATE by the store.
    this.#readGroups = db.transaction(
      (feed: string, page: GroupPageQuery, perGroup: number, options: GroupReadOptions): GroupPage => {
        const groups = page.limit <= 0 ? [] : this.#groupsNow(feed, page, perGroup)
        const out: GroupPage = { groups }
        if (options.counts) {
          const { unseen, unread } = this.#counts.get({ feed }) as { unseen: number; unread: number }
          out.unseen = unseen
          out.unread = unread
        }
        this.#mark(feed, options.seen, this.#marks.seenAll, this.#marks.seenIds)
        this.#mark(feed, options.read, this.#marks.readAll, this.#marks.readIds)
        return out
      },
    )
  }

  #mark(feed: string, target: MarkTarget | undefined, all: Statement, ids: Statement): void {
    if (target === true) all.run(feed)
    else if (target && target.length > 0) ids.run(feed, JSON.stringify(target))
  }

  /** A page of a flat feed, newest first, cursors being sort keys. */
  readFlat(feed: string, page: PageQuery): FlatEntry[] {
    // SQLite reads a negative LIMIT as "no limit"; a window of nothing is nothing.
    if (page.limit <= 0) return []
    const used = BOUNDS.filter((b) => page[b] !== undefined)
    const statement = cached(this.#flatPages, `${used.join(',')}|${page.limit}|${page.offset}`, () =>
      this.#db.prepare(
        `SELECT e.sk, e.origin, coalesce(a.body, 'null') AS body
         FROM entries AS e LEFT JOIN activities AS a ON a.sk = e.sk
         WHERE e.feed = ?${used.map((b) => ` AND e.sk ${OPERATORS[b]} ?`).join('')}
         ORDER BY e.sk DESC ${limitClause(page.limit, page.offset)}`,
      ),
    )
    return statement.all(feed, ...used.map((b) => page[b])) as FlatEntry[]
  }

  /** The newest `limit` sort keys of a feed. */
  newestEntries(feed: string, limit: number): string[] {
    if (limit <= 0) return []
    const statement = cached(this.#newest, String(limit), () =>
      this.#db
        .prepare(`SELECT sk FROM entries WHERE feed = ? ORDER BY sk DESC ${limitClause(limit, 0)}`)
        .pluck(),
    )
    return statement.all(feed) as string[]
  }

  /** A page of groups by newest activity, with counts and marks as asked (store.ts `readGroups`). */
  readGroups(
    feed: string,
    page: GroupPageQuery,
    perGroup: number,
    options: GroupReadOptions = {},
  ): GroupPage {
    const marks = options.seen !== undefined || options.read !== undefined
    return marks
      ? this.#readGroups.immediate(feed, page, perGroup, options)
      : this.#readGroups(feed, page, perGroup, options)
  }

  #groupsNow(feed: string, page: GroupPageQuery, perGroup: number): GroupRow[] {
    const used: Bound[] = []
    const values: string[] = []
    for (const bound of BOUNDS) {
      const cursor = page[bound]
      if (cursor === undefined) continue
      used.push(bound)
      values.push(this.#cursorSk(feed, cursor))
    }
    // One statement for the page: each group row carries its newest `perGroup` entries joined
    // into one string (sk, origin and body separated by the ASCII unit separator, entries by the
    // record separator; neither can occur in them, since JSON escapes control characters). A
    // second statement for the entries cost one row object per activity: 550 vs 370 us for 25
    // groups here. The correlated subquery walks the (feed, grp, sk) index perGroup steps, so
    // the cost follows the rows returned, not the group size. The entries arrive in the
    // subquery's order (newest first); `newestFirst` only checks it: an ORDER BY inside
    // group_concat sorted every group again (98 vs 86 us for the statement, measured).
    const key = `${used.join(',')}|${page.limit}|${page.offset}|${perGroup}`
    const statement = cached(this.#groupPages, key, () =>
      this.#db
        .prepare(
          `SELECT g.grp, g.id, g.first_sk, g.last_sk, g.activity_count, g.actor_count, g.is_seen, g.is_read,
             (SELECT group_concat(e.sk || char(31) || coalesce(e.origin, '') || char(31) || coalesce(a.body, 'null'),
                                  char(30))
              FROM (SELECT sk, origin FROM entries INDEXED BY entries_by_group
                    WHERE feed = g.feed AND grp = g.grp ORDER BY sk DESC ${limitClause(perGroup, 0)}) AS e
              LEFT JOIN activities AS a ON a.sk = e.sk) AS entries
           FROM feed_groups AS g
           WHERE g.feed = ?${used.map((b) => ` AND g.last_sk ${OPERATORS[b]} ?`).join('')}
           ORDER BY g.last_sk DESC ${limitClause(page.limit, page.offset)}`,
        )
        .raw(),
    )
    const records = statement.all(feed, ...values) as GroupRecordRow[]
    return records.map(
      ([grp, id, firstSk, lastSk, activityCount, actorCount, isSeen, isRead, entries]): GroupRow => ({
        id,
        group: grp,
        firstSk,
        lastSk,
        activityCount,
        actorCount,
        seen: isSeen === 1,
        read: isRead === 1,
        activities: entries === null ? [] : newestFirst(entries.split('\x1e').map(splitEntry)),
      }),
    )
  }

  /** A group cursor's current last sort key in `feed`, else the sort key the engine gave with it. */
  #cursorSk(feed: string, cursor: GroupCursor): string {
    const row = this.#groupLastSk.get(feed, cursor.id) as { last_sk: string | null }
    return row.last_sk ?? cursor.sk
  }
}
