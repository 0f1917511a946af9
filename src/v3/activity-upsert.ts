/**
 * UpsertActivities and UpdateActivity on an activity that exists: its fields are updated (the
 * engine's partial update) and, when the request names other `feeds`, it is moved between feeds
 * by the engine (`engine.setActivityFeeds`): into the feeds it enters, out of the feeds it leaves
 * with their followers' copies. Watchers of a feed it left hear `feeds.activity.removed_from_feed`,
 * watchers of the others `feeds.activity.updated`. The author (or the app) alone may do this, and
 * only into feeds the caller owns.
 */
import type { Activity } from '../engine/activity.js'
import { inputError } from '../engine/errors.js'
import { requireSk } from '../engine/ids.js'
import type { ServerContext } from '../server/context.js'
import { notAllowed } from '../server/errors.js'
import { actorId } from './activity-model.js'
import { feedOf, loadFeeds, requireOwner } from './feeds.js'
import type { ActivityResponse } from './gen/spec.js'
import { actingUser, type Caller } from './http.js'
import { type Hub, v3Event } from './hub.js'

/** Most feeds one activity may be in. */
const MAX_FEEDS = 25

/** An existing activity's move, once its fields are updated: what the caller asked and what changed. */
export interface Moved {
  activity: Activity
  removed: string[]
}

/**
 * Moves `activity` into exactly `feeds` (when they differ from its own), as `caller`: its author
 * or the app, into feeds the caller owns. Resolves with the stored activity and the feeds it left.
 */
export async function moveActivity(
  ctx: ServerContext,
  caller: Caller,
  activity: Activity,
  feeds: unknown,
): Promise<Moved> {
  const user = actingUser(caller)
  if (user !== undefined && actorId(activity) !== user) throw notAllowed()
  if (feeds === undefined) return { activity, removed: [] }
  if (!Array.isArray(feeds) || feeds.length === 0 || feeds.length > MAX_FEEDS)
    throw inputError(`feeds must list 1 to ${MAX_FEEDS} feed ids`, feeds, 'feeds')
  const refs = feeds.map((f, i) => feedOf(ctx, f, `feeds[${i}]`))
  const current = Array.isArray(activity.feeds) ? (activity.feeds as string[]) : []
  const same = refs.length === current.length && refs.every((r, i) => r.id === current[i])
  if (same) return { activity, removed: [] }
  const entering = refs.filter((r) => !current.includes(r.id))
  for (const feed of (await loadFeeds(ctx, entering)).values()) requireOwner(caller, feed)
  const move = await ctx.engine.setActivityFeeds(requireSk(activity.id, 'id'), refs, user)
  return { activity: move.activity, removed: move.removed }
}

/** Tells the watchers of the feeds `moved` left, and of those it is in, what happened. */
export function announceMove(hub: Hub, moved: Moved, shown: ActivityResponse): void {
  for (const fid of moved.removed)
    hub.publish(fid, [v3Event('feeds.activity.removed_from_feed', { fid, activity: shown })])
  const feeds = Array.isArray(moved.activity.feeds) ? (moved.activity.feeds as string[]) : []
  for (const fid of feeds) hub.publish(fid, [v3Event('feeds.activity.updated', { fid, activity: shown })])
}
