/**
 * Follow suggestions on the engine's one follow graph (friends of friends): the feeds the
 * user's feeds follow are its friends' feeds; what the friends' feeds of the same group follow
 * are the candidates, ranked by how many friends follow each. Every read is bounded (a capped
 * number of followings per feed and of friends), so a suggestion costs a fixed number of reads
 * whatever the graph's size. Who may see a candidate is the caller's rule (v3-access.ts), applied
 * by the edge on what this returns.
 */
import type { FollowRow } from '../store/store.js'
import type { FeedGroup, FeedRef } from './feed-groups.js'

/** Most of the user's own feeds read (one per feed group). */
const MAX_SOURCE_FEEDS = 10
/** Most followings read per feed. */
export const FOLLOWING_SCAN = 100
/** Most friends' feeds whose followings are read. */
export const MAX_FRIENDS = 50

/** One suggested feed: its fid and how many of the user's friends' feeds follow it. */
export interface FollowSuggestion {
  fid: string
  mutual: number
}

/** What suggestions need of the engine. */
export interface SuggestionGraph {
  groups: ReadonlyMap<string, FeedGroup>
  follows(feed: FeedRef, direction: 'following', options: { limit: number }): Promise<FollowRow[]>
}

const refOf = (group: FeedGroup, userId: string): FeedRef => ({
  slug: group.slug,
  userId,
  id: `${group.slug}:${userId}`,
  group,
})

/**
 * Feeds of group `slug` followed by the feeds `userId`'s feeds follow, most-followed first
 * (ties by fid), leaving out the user's own feeds and those it already follows.
 */
export async function followSuggestions(
  graph: SuggestionGraph,
  userId: string,
  slug: string,
): Promise<FollowSuggestion[]> {
  const sources = [...graph.groups.values()].slice(0, MAX_SOURCE_FEEDS)
  const own = await Promise.all(
    sources.map((g) => graph.follows(refOf(g, userId), 'following', { limit: FOLLOWING_SCAN })),
  )
  const followed = new Set<string>()
  // A friend's feed of the same group as the user's feed that follows it: timeline:ann follows
  // user:bob, so bob's friends are what timeline:bob follows.
  const friends = new Map<string, FeedRef>()
  own.forEach((rows, i) => {
    for (const row of rows) {
      followed.add(row.target)
      const friend = row.target.slice(row.target.indexOf(':') + 1)
      if (friend === userId || friends.size >= MAX_FRIENDS) continue
      const ref = refOf(sources[i], friend)
      friends.set(ref.id, ref)
    }
  })
  const hops = await Promise.all(
    [...friends.values()].map((ref) => graph.follows(ref, 'following', { limit: FOLLOWING_SCAN })),
  )
  const counts = new Map<string, number>()
  for (const rows of hops) {
    for (const row of rows) {
      const [group, id] = [
        row.target.slice(0, row.target.indexOf(':')),
        row.target.slice(row.target.indexOf(':') + 1),
      ]
      if (group !== slug || id === userId || followed.has(row.target)) continue
      counts.set(row.target, (counts.get(row.target) ?? 0) + 1)
    }
  }
  return [...counts]
    .map(([fid, mutual]) => ({ fid, mutual }))
    .sort((a, b) => b.mutual - a.mutual || (a.fid < b.fid ? -1 : 1))
}
