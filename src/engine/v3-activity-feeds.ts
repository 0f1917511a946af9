/**
 * Feeds V3: changing the feeds an activity is in (UpsertActivities and UpdateActivity naming
 * other `feeds`). A V3 activity lists its feeds in `feeds`: the first is where it was added, the
 * others its V1 `to` targets (v3/activity-model.ts). Moving it puts it into the feeds it enters
 * and takes it, with its fan-out copies, out of the feeds it leaves (the feed it was first added
 * to included), keeping it in the others; the body's `feeds` and `to` change in the same atomic
 * write, only if the body is still the one read (else read again).
 */
import type { Activity } from './activity.js'
import type { EngineContext } from './context.js'
import { inputError, notFound } from './errors.js'
import type { FeedRef } from './feed-groups.js'
import { untilCommitted } from './optimistic.js'
import { requireOwnActivity } from './policy.js'
import { setTargets } from './targets.js'

/** What a move changed. */
export interface FeedsMove {
  /** The activity as stored now. */
  activity: Activity
  /** Feeds it entered. */
  added: string[]
  /** Feeds it left (their watchers hear `feeds.activity.removed_from_feed`). */
  removed: string[]
}

/** Most feeds one activity may be in (as for a V3 add). */
export const MAX_ACTIVITY_FEEDS = 25

/**
 * Makes activity `sk` be in exactly `feeds` (the first becomes where it is kept as added), as one
 * optimistic read-modify-write. With `user`, the activity must be that user's. An activity with
 * no `feeds` list (written through V1) cannot be moved: its first feed is not recorded.
 */
export async function setActivityFeeds(
  ctx: EngineContext,
  sk: string,
  feeds: FeedRef[],
  user?: string,
): Promise<FeedsMove> {
  const wanted = [...new Map(feeds.map((f) => [f.id, f])).values()]
  if (wanted.length === 0 || wanted.length > MAX_ACTIVITY_FEEDS)
    throw inputError(`feeds must list 1 to ${MAX_ACTIVITY_FEEDS} feed ids`, feeds.length, 'feeds')
  return untilCommitted(async () => {
    const stored = (await ctx.loadStored([sk])).get(sk)
    if (!stored) throw notFound('the activity does not exist')
    const activity = stored.activity
    if (user !== undefined) requireOwnActivity(activity, user)
    if (!Array.isArray(activity.feeds))
      throw inputError('the feeds of an activity added through V1 cannot be changed', activity.id, 'feeds')
    const current = new Set(activity.feeds.filter((f): f is string => typeof f === 'string'))
    const ids = wanted.map((f) => f.id)
    const added = wanted.filter((f) => !current.has(f.id))
    const removed = [...current].filter((id) => !ids.includes(id))
    const next: Activity = { ...activity, feeds: ids }
    if (ids.length > 1) next.to = ids.slice(1)
    else delete next.to
    await setTargets(
      ctx,
      next,
      sk,
      added,
      removed.map((id) => ctx.parseFeed(id)),
      stored.body,
    )
    return { activity: next, added: added.map((f) => f.id), removed }
  })
}
