/** The follows part of the PostgreSQL store: follower and following lists and counts. */
import type { FollowCountQuery, FollowQuery, FollowRow, FollowStore } from '../store.js'
import type { PostgresFollowEdges } from './postgres-follow-edges.js'
import type { Session } from './session.js'

/** Follow edges of a PostgreSQL store (written inside its transactions by postgres-follow-edges.ts). */
export class PostgresFollowStore implements FollowStore {
  readonly #session: Session
  readonly #follows: PostgresFollowEdges

  constructor(session: Session, follows: PostgresFollowEdges) {
    this.#session = session
    this.#follows = follows
  }

  async followers(feed: string, query: FollowQuery): Promise<FollowRow[]> {
    this.#session.check()
    return this.#follows.list(feed, query, 'followers')
  }

  async following(feed: string, query: FollowQuery): Promise<FollowRow[]> {
    this.#session.check()
    return this.#follows.list(feed, query, 'following')
  }

  async countFollows(
    feed: string,
    query: FollowCountQuery,
  ): Promise<{ followers?: number; following?: number }> {
    this.#session.check()
    return this.#follows.count(feed, query)
  }
}
