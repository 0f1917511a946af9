/** The follows part: who follows whom, listed and counted by slug. */
import type { FollowEdge } from './write-batch.js'

/** A stored follow edge with its times (ISO strings). */
export interface FollowRow extends FollowEdge {
  /** When the edge was first created (kept when the follow is made again). */
  createdAt: string
  /** When the follow was last made. */
  updatedAt: string
}

/** A page of followers or following. */
export interface FollowQuery {
  limit: number
  offset: number
  /** Only edges whose other end is one of these feeds (an empty list filters nothing). */
  filter?: string[]
}

/** Which follow counts to take: undefined skips a side, an empty list counts every slug. */
export interface FollowCountQuery {
  /** Count followers of the feed whose slug is one of these (`[]`: all). */
  followers?: string[]
  /** Count feeds the feed follows whose slug is one of these (`[]`: all). */
  following?: string[]
}

/** The follows part: edges are written by `StorageAdapter.write`; this part lists and counts them. */
export interface FollowStore {
  /** Feeds following `feed`, newest follow first (same `created_at`: the later edge first). */
  followers(feed: string, query: FollowQuery): Promise<FollowRow[]>

  /** Feeds `feed` follows, newest follow first. */
  following(feed: string, query: FollowQuery): Promise<FollowRow[]>

  /** Follower and following counts of `feed`, by slug, in one call. */
  countFollows(feed: string, query: FollowCountQuery): Promise<{ followers?: number; following?: number }>
}
