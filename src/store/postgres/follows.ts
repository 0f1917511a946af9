/**
 * Follow edges on PostgreSQL: created and deleted in batches inside a write, listed newest
 * first from the (target|source, created_at, seq) indexes, and counted by slug as index ranges
 * (`slug:` up to `slug;`, ';' being the character after ':' in the "C" collation).
 */
import type { FollowCountQuery, FollowEdge, FollowQuery, FollowRow } from '../store.js'
import { quoted } from './schema.js'
import { type Runner, type Session, type Sql, sql } from './session.js'

const byKey = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0)

/** Writes, lists and counts follow edges. */
export class Follows {
  readonly #session: Session
  readonly #s: string
  readonly #st: ReturnType<typeof statements>
  readonly #counts = new Map<string, Sql>()

  constructor(session: Session, schema: string) {
    this.#session = session
    this.#s = quoted(schema)
    this.#st = statements(this.#s)
  }

  /** Creates edges (keeping existing ones and their `created_at`), in batch order. */
  async follow(db: Runner, edges: FollowEdge[]): Promise<void> {
    const unique = dedupe(edges)
    const now = new Date().toISOString()
    await db.run(this.#st.follow, [unique.map((e) => e.source), unique.map((e) => e.target), now])
  }

  /** Deletes edges. */
  async unfollow(db: Runner, edges: FollowEdge[]): Promise<void> {
    const sorted = dedupe(edges).sort((a, b) => byKey(a.source, b.source) || byKey(a.target, b.target))
    await db.run(this.#st.unfollow, [sorted.map((e) => e.source), sorted.map((e) => e.target)])
  }

  /**
   * Which of `edges` exist, each held FOR SHARE until the transaction ends (an unfollow of one
   * of them waits, then sees what was written through it).
   */
  async holdExisting(db: Runner, edges: FollowEdge[]): Promise<Set<string>> {
    const sorted = dedupe(edges).sort((a, b) => byKey(a.source, b.source) || byKey(a.target, b.target))
    const rows = await db.rows<FollowEdge>(this.#st.hold, [
      sorted.map((e) => e.source),
      sorted.map((e) => e.target),
    ])
    return new Set(rows.map((r) => edgeKey(r)))
  }

  /** Followers (`direction` followers) or followed feeds of `feed`, newest edge first. */
  async list(feed: string, query: FollowQuery, direction: 'followers' | 'following'): Promise<FollowRow[]> {
    const { limit, offset, filter } = query
    if (!Number.isSafeInteger(limit) || !Number.isSafeInteger(offset) || limit < 0 || offset < 0) {
      throw new Error(`limit and offset must be non-negative integers, got ${limit} and ${offset}`)
    }
    if (limit === 0) return []
    const filtered = filter !== undefined && filter.length > 0
    const statement = this.#st[`${direction}${filtered ? 'In' : ''}`]
    const values: unknown[] = [feed, limit, offset]
    if (filtered) values.push(filter)
    return this.#session.once(direction, (db) => db.rows<FollowRow>(statement, values))
  }

  /** Follower and following counts, by slug, in one statement. */
  async count(feed: string, query: FollowCountQuery): Promise<{ followers?: number; following?: number }> {
    const sides: { key: 'followers' | 'following'; mine: string; other: string; slugs: string[] }[] = []
    if (query.followers)
      sides.push({ key: 'followers', mine: 'target', other: 'source', slugs: query.followers })
    if (query.following)
      sides.push({ key: 'following', mine: 'source', other: 'target', slugs: query.following })
    if (sides.length === 0) return {}
    const values: unknown[] = [feed]
    const parts = sides.map((side) => {
      if (side.slugs.length === 0) {
        return `(SELECT count(*) FROM ${this.#s}.follows WHERE ${side.mine} = $1)::int AS ${side.key}`
      }
      values.push([...new Set(side.slugs)])
      const n = values.length
      return `(SELECT coalesce(sum((SELECT count(*) FROM ${this.#s}.follows
          WHERE ${side.mine} = $1 AND ${side.other} >= s.slug || ':' AND ${side.other} < s.slug || ';')), 0)
        FROM unnest($${n}::text[]) AS s(slug))::int AS ${side.key}`
    })
    const text = `SELECT ${parts.join(', ')}`
    let statement = this.#counts.get(text)
    if (!statement) {
      statement = sql(text)
      this.#counts.set(text, statement)
    }
    const [row] = await this.#session.once('countFollows', (db) =>
      db.rows<{ followers?: number; following?: number }>(statement, values),
    )
    return row
  }
}

/** A map key for an edge. */
export function edgeKey(edge: FollowEdge): string {
  return `${edge.source}\u0000${edge.target}`
}

function dedupe(edges: FollowEdge[]): FollowEdge[] {
  const unique = new Map<string, FollowEdge>()
  for (const e of edges) if (!unique.has(edgeKey(e))) unique.set(edgeKey(e), e)
  return [...unique.values()]
}

function statements(s: string) {
  const columns = 'source, target, created_at, updated_at'
  const page = (mine: string) => `FROM ${s}.follows WHERE ${mine} = $1`
  const order = 'ORDER BY created_at DESC, seq DESC LIMIT $2 OFFSET $3'
  return {
    // WITH ORDINALITY ... ORDER BY: seq follows batch order, so the later edge of a batch is newer.
    follow: sql(`INSERT INTO ${s}.follows AS f (source, target, created_at, updated_at)
      SELECT u.source, u.target, $3, $3
      FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS u(source, target, i) ORDER BY u.i
      ON CONFLICT (source, target) DO UPDATE SET updated_at = excluded.updated_at`),
    unfollow: sql(`DELETE FROM ${s}.follows AS f USING unnest($1::text[], $2::text[]) AS u(source, target)
      WHERE f.source = u.source AND f.target = u.target`),
    hold: sql(`SELECT f.source, f.target FROM ${s}.follows AS f
      WHERE (f.source, f.target) IN (SELECT * FROM unnest($1::text[], $2::text[]))
      ORDER BY f.source, f.target FOR SHARE OF f`),
    followers: sql(`SELECT ${columns} ${page('target')} ${order}`),
    following: sql(`SELECT ${columns} ${page('source')} ${order}`),
    followersIn: sql(`SELECT ${columns} ${page('target')} AND source = ANY($4::text[]) ${order}`),
    followingIn: sql(`SELECT ${columns} ${page('source')} AND target = ANY($4::text[]) ${order}`),
  }
}
