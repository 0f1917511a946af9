/** The follows part of the memory store: follower and following lists and counts. */
import { checkWindow } from '../shared/window.js'
import type { FollowCountQuery, FollowQuery, FollowRow, FollowStore } from '../store.js'
import type { MemoryFollowEdges } from './memory-follow-edges.js'
import type { MemoryRuntime } from './memory-runtime.js'

/** Follow edges of the memory store. */
export class MemoryFollowStore implements FollowStore {
  readonly #rt: MemoryRuntime
  readonly #follows: MemoryFollowEdges

  constructor(rt: MemoryRuntime, follows: MemoryFollowEdges) {
    this.#rt = rt
    this.#follows = follows
  }

  async followers(feed: string, query: FollowQuery): Promise<FollowRow[]> {
    this.#rt.check()
    checkWindow(query.limit, query.offset)
    return this.#follows.list(feed, 'followers', query)
  }

  async following(feed: string, query: FollowQuery): Promise<FollowRow[]> {
    this.#rt.check()
    checkWindow(query.limit, query.offset)
    return this.#follows.list(feed, 'following', query)
  }

  async countFollows(
    feed: string,
    query: FollowCountQuery,
  ): Promise<{ followers?: number; following?: number }> {
    this.#rt.check()
    const out: { followers?: number; following?: number } = {}
    if (query.followers) out.followers = this.#follows.count(feed, 'followers', query.followers)
    if (query.following) out.following = this.#follows.count(feed, 'following', query.following)
    return out
  }
}
