/**
 * Feeds V3 permissions, as one rule: what a caller may do on a feed follows from the feed's
 * visibility level and how the caller stands to it (the app, its owner, an accepted follower, a
 * member, another user, or an anonymous visitor). Reads, follows, follow requests, pins and
 * `own_capabilities` all ask this table, so they cannot disagree.
 *
 * | level       | view                          | follow                          | post           |
 * | ----------- | ----------------------------- | ------------------------------- | -------------- |
 * | `visible`   | anyone                        | any user                        | owner, members |
 * | `public`    | anyone                        | any user                        | any user       |
 * | `followers` | owner, accepted followers, members | any user, as a request to approve | owner, members |
 * | `members`   | owner, members                | members                         | owner, members |
 * | `private`   | owner                         | owner                           | owner          |
 */

/** V3's feed visibility levels. */
export const VISIBILITIES = ['public', 'visible', 'followers', 'members', 'private'] as const
/** One of V3's feed visibility levels. */
export type Visibility = (typeof VISIBILITIES)[number]

/** How a caller stands to one feed. */
export interface FeedStanding {
  /** The app itself (a server token): everything. */
  app: boolean
  /** The calling user, if any (undefined: anonymous or the app). */
  user?: string
  /** The user created the feed. */
  owner: boolean
  /** A feed of the user follows the feed (an accepted follow). */
  follower: boolean
  /** The user is a member of the feed (an accepted membership). */
  member: boolean
}

/** A capability of V3's `own_capabilities` (the spec's FeedOwnCapability values Eddy grants). */
export type FeedCapability =
  | 'add-activity'
  | 'add-activity-bookmark'
  | 'add-activity-reaction'
  | 'add-comment'
  | 'add-comment-reaction'
  | 'create-feed'
  | 'delete-feed'
  | 'delete-own-activity'
  | 'delete-own-activity-bookmark'
  | 'delete-own-activity-reaction'
  | 'delete-own-comment'
  | 'delete-own-comment-reaction'
  | 'follow'
  | 'pin-activity'
  | 'query-feed-members'
  | 'query-follows'
  | 'read-activities'
  | 'read-feed'
  | 'unfollow'
  | 'update-feed'
  | 'update-feed-followers'
  | 'update-feed-members'
  | 'update-own-activity'
  | 'update-own-activity-bookmark'
  | 'update-own-comment'

/** What a user who can read a feed may do on its activities. */
const READER: FeedCapability[] = [
  'add-activity-bookmark',
  'add-activity-reaction',
  'add-comment',
  'add-comment-reaction',
  'delete-own-activity-bookmark',
  'delete-own-activity-reaction',
  'delete-own-comment',
  'delete-own-comment-reaction',
  'query-follows',
  'read-activities',
  'read-feed',
  'update-own-activity-bookmark',
  'update-own-comment',
]
/** What posting adds: a poster changes and deletes its own activities. */
const POSTER: FeedCapability[] = ['add-activity', 'delete-own-activity', 'update-own-activity']
/** What only the owner (and the app) may do: run the feed. */
const OWNER_ONLY: FeedCapability[] = [
  'create-feed',
  'delete-feed',
  'pin-activity',
  'query-feed-members',
  'update-feed',
  'update-feed-followers',
  'update-feed-members',
]

/** Whether the caller may see the feed's activities and data. */
export function canView(visibility: Visibility, s: FeedStanding): boolean {
  if (s.app || s.owner) return true
  switch (visibility) {
    case 'public':
    case 'visible':
      return true
    case 'followers':
      return s.follower || s.member
    case 'members':
      return s.member
    default:
      return false
  }
}

/** Whether the caller may add activities to the feed. */
export function canPost(visibility: Visibility, s: FeedStanding): boolean {
  if (s.app || s.owner) return true
  if (s.user === undefined) return false
  if (visibility === 'public') return true
  return visibility !== 'private' && s.member
}

/**
 * How a follow of the feed made by the caller (from one of its own feeds) is taken: at once, as
 * a request its owner must accept (`followers` feeds, whoever asks), or refused.
 */
export function followMode(visibility: Visibility, s: FeedStanding): 'follow' | 'request' | 'refused' {
  if (visibility === 'followers') return s.app || s.user !== undefined ? 'request' : 'refused'
  if (s.app || s.owner) return 'follow'
  if (s.user === undefined) return 'refused'
  if (visibility === 'public' || visibility === 'visible') return 'follow'
  return visibility === 'members' && s.member ? 'follow' : 'refused'
}

/** The caller's `own_capabilities` on the feed, from the rules above. */
export function feedCapabilities(visibility: Visibility, s: FeedStanding): FeedCapability[] {
  const out = new Set<FeedCapability>()
  const view = canView(visibility, s)
  if (view) {
    if (s.app || s.user !== undefined) for (const c of READER) out.add(c)
    else out.add('read-activities').add('read-feed')
  } else if (s.user !== undefined && visibility !== 'private') out.add('read-feed')
  if (canPost(visibility, s)) for (const c of POSTER) out.add(c)
  if (followMode(visibility, s) !== 'refused') out.add('follow').add('unfollow')
  if (s.app || s.owner) for (const c of OWNER_ONLY) out.add(c)
  return [...out].sort()
}

/** The roles V3's feed visibility grants name, each a standing toward a feed (what ListFeedVisibilities shows). */
const ROLE_STANDINGS: Record<string, FeedStanding> = {
  anonymous: { app: false, owner: false, follower: false, member: false },
  user: { app: false, user: 'user', owner: false, follower: false, member: false },
  feed_follower: { app: false, user: 'user', owner: false, follower: true, member: false },
  feed_member: { app: false, user: 'user', owner: false, follower: false, member: true },
  feed_owner: { app: false, user: 'user', owner: true, follower: false, member: false },
}

/**
 * What each role may do on a feed of visibility `level`, by the rules above: the grants
 * ListFeedVisibilities and GetFeedVisibility show. They are these rules, not data, so they do not
 * change (UpdateFeedVisibility is not served).
 */
export function visibilityGrants(level: Visibility): Record<string, FeedCapability[]> {
  return Object.fromEntries(
    Object.entries(ROLE_STANDINGS).map(([role, standing]) => [role, feedCapabilities(level, standing)]),
  )
}

/**
 * Whether an accepted follow made under another level stays when the feed changes to `level`
 * (ChangeFeedVisibility): accepted followers stay followers of a `followers` feed; otherwise a
 * follow stays only if the level would let its maker follow at once.
 */
export function keepsFollow(level: Visibility, s: FeedStanding): boolean {
  return level === 'followers' || followMode(level, s) === 'follow'
}

/**
 * Whether an activity shows to a reader, whatever feed it is read in: a `private` activity only
 * to its author (`actor` is `SU:<id>` or the id) and the app; any other to whoever may read the feed.
 */
export function activityShown(
  activity: { visibility?: unknown; actor: string },
  reader: { app: boolean; user?: string },
): boolean {
  if (activity.visibility !== 'private' || reader.app) return true
  const author = activity.actor.startsWith('SU:') ? activity.actor.slice(3) : activity.actor
  return reader.user !== undefined && author === reader.user
}
