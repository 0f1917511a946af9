/**
 * What a user may read when acting as themself (a user token on the server). Trusted callers
 * (the embedded client, server tokens) pass no reader and read everything. A reader reads its own
 * feeds and the public-read groups' feeds (Stream's default policy), and an activity only where it
 * may read a feed that holds it. Every path that hands out an activity by id (`activities/` by ids
 * or foreign_id + time, reaction filters' `with_activity_data`, enrichment of `SA:` references)
 * asks {@link readableActivities}, so the rule lives once. An activity the reader may not read is
 * left out, exactly as an unknown id is, so its existence does not leak either.
 */
import type { Activity } from './activity.js'
import { type FeedGroup, type FeedRef, feedRef, parseFeedId } from './feed-groups.js'
import { idToSk } from './ids.js'

/** A user token's reader: its user, and the groups anyone may read (`publicReadGroups`). */
export interface Reader {
  user: string
  publicRead: ReadonlySet<string>
}

/** Whether `reader` may read `feed`: its own feeds, and every feed of a public-read group. */
export function mayReadFeed(reader: Reader, feed: Pick<FeedRef, 'slug' | 'userId'>): boolean {
  return feed.userId === reader.user || reader.publicRead.has(feed.slug)
}

/** What the rule reads: the configured groups, and which activities a feed holds. */
export interface HolderLookup {
  readonly groups: ReadonlyMap<string, FeedGroup>
  getEntries(feed: FeedRef, sks: string[]): Promise<Map<string, unknown>>
}

/**
 * Most feeds one call asks about beyond the reader's own: the public feeds of the activities'
 * actors and their public `to` targets. An id list or a page of references can name many
 * activities by many actors; past this many lookups the rest count as unreadable (never a stall).
 */
export const MAX_PUBLIC_HOLDER_LOOKUPS = 200

/**
 * The activities of `activities` that `reader` may read, in order (all of them without a
 * reader). A feed the reader may read holds an activity when it is one of the reader's own feeds
 * (a direct add, a `to`, or a copy through a follow), the public feed of its actor (`SU:<id>` or
 * `<id>`), or one of its public `to` targets; each is checked against the store, so an activity
 * since removed from a feed no longer counts there. An activity in some other user's public feed
 * only (a server wrote it there under another actor and no `to`) is not found: Eddy keeps no
 * index from an activity to its feeds, and errs on the side of leaving it out.
 */
export async function readableActivities<T extends Pick<Activity, 'id' | 'actor' | 'to'>>(
  lookup: HolderLookup,
  reader: Reader | undefined,
  activities: T[],
): Promise<T[]> {
  if (reader === undefined || activities.length === 0) return activities
  const pending = new Map<string, T>()
  for (const a of activities) {
    const sk = typeof a.id === 'string' ? idToSk(a.id) : undefined
    if (sk !== undefined) pending.set(sk, a)
  }
  const readable = new Set<string>()
  const check = async (asks: Map<string, { feed: FeedRef; sks: Set<string> }>) => {
    const answers = await Promise.all(
      [...asks.values()].map(({ feed, sks }) => lookup.getEntries(feed, [...sks])),
    )
    for (const held of answers) for (const sk of held.keys()) readable.add(sk)
    for (const sk of readable) pending.delete(sk)
  }

  const own = new Map<string, { feed: FeedRef; sks: Set<string> }>()
  for (const slug of lookup.groups.keys()) {
    const feed = tryFeed(() => feedRef(lookup.groups, slug, reader.user))
    if (feed) own.set(feed.id, { feed, sks: new Set(pending.keys()) })
  }
  await check(own)

  const others = new Map<string, { feed: FeedRef; sks: Set<string> }>()
  for (const [sk, activity] of pending) {
    for (const feed of publicHolders(lookup.groups, reader, activity)) {
      const ask = others.get(feed.id)
      if (ask) ask.sks.add(sk)
      else if (others.size < MAX_PUBLIC_HOLDER_LOOKUPS) others.set(feed.id, { feed, sks: new Set([sk]) })
    }
  }
  if (others.size > 0) await check(others)
  return activities.filter((a) => {
    const sk = typeof a.id === 'string' ? idToSk(a.id) : undefined
    return sk !== undefined && readable.has(sk)
  })
}

/** The public-read feeds that may hold `activity` as a direct add: its actor's, and its `to` targets. */
function publicHolders(
  groups: ReadonlyMap<string, FeedGroup>,
  reader: Reader,
  activity: Pick<Activity, 'actor' | 'to'>,
): FeedRef[] {
  const feeds: FeedRef[] = []
  const actor = typeof activity.actor === 'string' ? activity.actor.replace(/^SU:/, '') : ''
  for (const slug of reader.publicRead) {
    const feed = tryFeed(() => feedRef(groups, slug, actor))
    if (feed && feed.userId !== reader.user) feeds.push(feed)
  }
  for (const target of Array.isArray(activity.to) ? activity.to : []) {
    const feed = tryFeed(() => parseFeedId(groups, target))
    if (feed && feed.userId !== reader.user && reader.publicRead.has(feed.slug)) feeds.push(feed)
  }
  return feeds
}

/** The feed `make` names, or undefined when it names none (an actor that is no user id, a stale slug). */
function tryFeed(make: () => FeedRef): FeedRef | undefined {
  try {
    return make()
  } catch {
    return undefined
  }
}
