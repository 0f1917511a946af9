/**
 * Pages past the cap, from PostgreSQL. Redis keeps a feed's newest `cap` entries (groups, for
 * grouped feeds); when a page runs past the oldest of them in a feed that reached the cap, the
 * rest of the page is read as fan-out on read: the feed's own direct entries and those of the
 * feeds it follows now, older than Redis's oldest, newest first (for grouped feeds, the engine
 * groups them: `RedisStore.readPastCap`). That is not always what the timeline held (a follow
 * made later brings older activities, an unfollow with `keepHistory` loses them, copy limits do
 * not apply), which docs/scale-out.md states; pages within the cap are exact.
 */
import { quoted } from '../postgres/schema.js'
import { type Session, type Sql, sql } from '../postgres/session.js'
import type { PageQuery } from '../store.js'
import type { RawEntry } from './timelines.js'

const OPERATORS = { lt: '<', lte: '<=', gt: '>', gte: '>=' } as const
const BOUNDS = ['lt', 'lte', 'gt', 'gte'] as const

/** Reads entries past the cap (flat pages, and the raw entries of grouped ones). */
export class PastCap {
  readonly #session: Session
  readonly #s: string
  readonly #statements = new Map<string, Sql>()

  constructor(session: Session) {
    this.#session = session
    this.#s = quoted(session.target.schema)
  }

  /** Up to `limit` entries of `feed` older than `before`, within the page's bounds, after `offset`. */
  async read(
    feed: string,
    before: string,
    page: PageQuery,
    offset: number,
    limit: number,
  ): Promise<RawEntry[]> {
    const used = BOUNDS.filter((b) => page[b] !== undefined)
    const key = used.join(',')
    let statement = this.#statements.get(key)
    if (!statement) {
      const where = used.map((b, i) => ` AND x.sk ${OPERATORS[b]} $${i + 5}::text`).join('')
      const s = this.#s
      // Each source gives at most offset + limit rows (an index range each); the same activity
      // through two sources counts once, as a direct entry when it is one.
      statement = sql(`SELECT sk, origin FROM (
          SELECT DISTINCT ON (sk) sk, origin FROM (
            (SELECT x.sk, NULL::text AS origin FROM ${s}.entries AS x
             WHERE x.feed = $1 AND x.origin IS NULL AND x.sk < $2::text${where}
             ORDER BY x.sk DESC LIMIT $3::int + $4::int)
            UNION ALL
            SELECT e.sk, f.target FROM ${s}.follows AS f CROSS JOIN LATERAL (
              SELECT x.sk FROM ${s}.entries AS x
              WHERE x.feed = f.target AND x.origin IS NULL AND x.sk < $2::text${where}
              ORDER BY x.sk DESC LIMIT $3::int + $4::int) AS e
            WHERE f.source = $1) AS u
          ORDER BY sk DESC, origin NULLS FIRST) AS d
        ORDER BY sk DESC LIMIT $3::int OFFSET $4::int`)
      this.#statements.set(key, statement)
    }
    const values = [feed, before, limit, offset, ...used.map((b) => page[b])]
    return this.#session.once('read past the cap', (db) => db.rows<RawEntry>(statement, values))
  }
}
