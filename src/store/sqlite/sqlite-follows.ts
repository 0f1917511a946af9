/** The follows part of the SQLite store: follower and following lists and counts. */

import { checkWindow } from '../shared/window.js'
import type { FollowCountQuery, FollowQuery, FollowRow, FollowStore } from '../store.js'
import type { Database, Statement } from './driver.js'

/** Follow edges of a SQLite store (edges are written by the store's `write`). */
export class SqliteFollowStore implements FollowStore {
  readonly #check: () => void
  readonly #st: ReturnType<typeof prepare>

  constructor(db: Database, check: () => void) {
    this.#check = check
    this.#st = prepare(db)
  }

  async followers(feed: string, query: FollowQuery): Promise<FollowRow[]> {
    this.#check()
    checkWindow(query.limit, query.offset)
    return this.#list(feed, query, 'followers')
  }

  async following(feed: string, query: FollowQuery): Promise<FollowRow[]> {
    this.#check()
    checkWindow(query.limit, query.offset)
    return this.#list(feed, query, 'following')
  }

  async countFollows(
    feed: string,
    query: FollowCountQuery,
  ): Promise<{ followers?: number; following?: number }> {
    this.#check()
    const st = this.#st
    const count = (statement: Statement, args: unknown) => (statement.get(args) as { n: number }).n
    const side = (slugs: string[], all: Statement, bySlug: Statement) => {
      if (slugs.length === 0) return count(all, { feed })
      let total = 0
      for (const slug of new Set(slugs)) total += count(bySlug, { feed, slug })
      return total
    }
    const out: { followers?: number; following?: number } = {}
    if (query.followers) out.followers = side(query.followers, st.countFollowers, st.countFollowersFrom)
    if (query.following) out.following = side(query.following, st.countFollowing, st.countFollowingFrom)
    return out
  }

  #list(feed: string, query: FollowQuery, direction: 'followers' | 'following'): FollowRow[] {
    const st = this.#st
    const { limit, offset, filter } = query
    if (filter === undefined || filter.length === 0) {
      return (direction === 'followers' ? st.followers : st.following).all(feed, limit, offset) as FollowRow[]
    }
    const statement = direction === 'followers' ? st.followersIn : st.followingIn
    return statement.all({ feed, filter: JSON.stringify(filter), limit, offset }) as FollowRow[]
  }
}

function prepare(db: Database) {
  const s = (sql: string): Statement => db.prepare(sql)
  return {
    followers: s(
      `SELECT source, target, created_at AS createdAt, updated_at AS updatedAt FROM follows WHERE target = ?
       ORDER BY created_at DESC, rowid DESC LIMIT ? OFFSET ?`,
    ),
    // Filtered lists look each listed feed up (the filter is short, the follower list may be
    // huge) and sort what they find; CROSS JOIN keeps the planner from scanning instead.
    followersIn: s(
      `SELECT f.source, f.target, f.created_at AS createdAt, f.updated_at AS updatedAt
       FROM (SELECT DISTINCT value FROM json_each(:filter)) AS j CROSS JOIN follows AS f
       WHERE f.target = :feed AND f.source = j.value
       ORDER BY f.created_at DESC, f.rowid DESC LIMIT :limit OFFSET :offset`,
    ),
    following: s(
      `SELECT source, target, created_at AS createdAt, updated_at AS updatedAt FROM follows WHERE source = ?
       ORDER BY created_at DESC, rowid DESC LIMIT ? OFFSET ?`,
    ),
    followingIn: s(
      `SELECT f.source, f.target, f.created_at AS createdAt, f.updated_at AS updatedAt
       FROM (SELECT DISTINCT value FROM json_each(:filter)) AS j CROSS JOIN follows AS f
       WHERE f.source = :feed AND f.target = j.value
       ORDER BY f.created_at DESC, f.rowid DESC LIMIT :limit OFFSET :offset`,
    ),
    countFollowers: s('SELECT count(*) AS n FROM follows WHERE target = :feed'),
    countFollowing: s('SELECT count(*) AS n FROM follows WHERE source = :feed'),
    // A slug is a prefix `slug:`; ';' is the character after ':', so this is an index range.
    countFollowersFrom: s(
      `SELECT count(*) AS n FROM follows
       WHERE target = :feed AND source >= :slug || ':' AND source < :slug || ';'`,
    ),
    countFollowingFrom: s(
      `SELECT count(*) AS n FROM follows
       WHERE source = :feed AND target >= :slug || ':' AND target < :slug || ';'`,
    ),
  }
}
