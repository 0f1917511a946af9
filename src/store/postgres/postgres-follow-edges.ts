/**
 * Follow edges on PostgreSQL: created and deleted in batches inside a write, held against
 * concurrent unfollows while chunks and copies write through them, listed newest
 * first from the (target|source, created_at, seq) indexes, and counted by slug as index ranges
 * (`slug:` up to `slug;`, ';' being the character after ':' in the "C" collation).
 */

import { checkWindow } from '../shared/window.js'
import type { FollowCountQuery, FollowEdge, FollowQuery, FollowRow } from '../store.js'
import { quoted } from './schema.js'
import { type Runner, type Session, type Sql, sql } from './session.js'

const byKey = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0)

// pg_advisory_xact_lock(int, int) class of the edge locks (the migration lock is 0x4564).
const EDGE_LOCKS = 0x4565

/** Writes, lists and counts follow edges. */
export class PostgresFollowEdges {
  readonly #session: Session
  readonly #schema: string
  readonly #s: string
  readonly #st: ReturnType<typeof statements>
  readonly #counts = new Map<string, Sql>()

  constructor(session: Session, schema: string) {
    this.#session = session
    this.#schema = schema
    this.#s = quoted(schema)
    this.#st = statements(this.#s)
  }

  /** Creates edges (keeping existing ones and their `created_at`), in batch order. */
  async follow(db: Runner, edges: FollowEdge[]): Promise<void> {
    const unique = dedupe(edges)
    const now = new Date().toISOString()
    await db.run(this.#st.follow, [unique.map((e) => e.source), unique.map((e) => e.target), now])
  }

  /** Deletes edges, after waiting for the chunks and copies in flight through them. */
  async unfollow(db: Runner, edges: FollowEdge[]): Promise<void> {
    await this.holdTargets(
      db,
      edges.map((e) => e.target),
      'exclusive',
    )
    const sorted = dedupe(edges).sort((a, b) => byKey(a.source, b.source) || byKey(a.target, b.target))
    await db.run(this.#st.unfollow, [sorted.map((e) => e.source), sorted.map((e) => e.target)])
  }

  /**
   * Holds the edges into `targets` until the transaction ends (store.ts rule 4): `shared` for a
   * fan-out chunk or a copy (which read edges and write through them), `exclusive` for an
   * unfollow, which so waits for the chunks and copies in flight through its edges, and which
   * they wait for. One transaction-scoped advisory lock per followed feed, taken in name order,
   * instead of a row lock on each edge read: a chunk reads 1,000 edges, and row locks would
   * dirty their pages (and, for concurrent fan-outs of one author, make MultiXacts).
   */
  async holdTargets(db: Runner, targets: string[], mode: 'shared' | 'exclusive'): Promise<void> {
    const sorted = [...new Set(targets)].sort(byKey)
    if (sorted.length === 0) return
    await db.run(mode === 'shared' ? this.#st.holdShared : this.#st.holdExclusive, [
      EDGE_LOCKS,
      this.#schema,
      sorted,
    ])
  }

  /** Which of `edges` exist (call after {@link holdTargets}, so the answer holds until commit). */
  async existing(db: Runner, edges: FollowEdge[]): Promise<Set<string>> {
    const unique = dedupe(edges)
    const rows = await db.rows<FollowEdge>(this.#st.existing, [
      unique.map((e) => e.source),
      unique.map((e) => e.target),
    ])
    return new Set(rows.map((r) => edgeKey(r)))
  }

  /** Followers (`direction` followers) or followed feeds of `feed`, newest edge first. */
  async list(feed: string, query: FollowQuery, direction: 'followers' | 'following'): Promise<FollowRow[]> {
    const { limit, offset, filter } = query
    checkWindow(limit, offset)
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
  const columns = 'source, target, created_at AS "createdAt", updated_at AS "updatedAt"'
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
    existing: sql(`SELECT f.source, f.target FROM ${s}.follows AS f
      JOIN unnest($1::text[], $2::text[]) AS u(source, target) ON f.source = u.source AND f.target = u.target`),
    // unnest yields the (sorted) names in order, so the locks are taken in that order.
    holdShared: sql(`SELECT pg_advisory_xact_lock_shared($1::int, hashtext($2 || ':' || t))
      FROM unnest($3::text[]) AS t`),
    holdExclusive: sql(`SELECT pg_advisory_xact_lock($1::int, hashtext($2 || ':' || t))
      FROM unnest($3::text[]) AS t`),
    followers: sql(`SELECT ${columns} ${page('target')} ${order}`),
    following: sql(`SELECT ${columns} ${page('source')} ${order}`),
    followersIn: sql(`SELECT ${columns} ${page('target')} AND source = ANY($4::text[]) ${order}`),
    followingIn: sql(`SELECT ${columns} ${page('source')} AND target = ANY($4::text[]) ${order}`),
  }
}
