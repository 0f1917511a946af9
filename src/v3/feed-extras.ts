/**
 * What a V3 feed read shows beside its page of activities: each activity's `current_feed` (the
 * feed it reached the reader through), the feed's pinned activities, its members, and the
 * reader's own follows of it and membership in it (`own_follows`, `own_membership`).
 */

import type { Activity } from '../engine/activity.js'
import { activityShown } from '../engine/v3-access.js'
import type { Member } from '../engine/v3-member-model.js'
import type { Pin } from '../engine/v3-pins.js'
import type { ServerContext } from '../server/context.js'
import { activityResponses, loadActivity } from './activities.js'
import { type FeedFacts, feedOf, feedResponses, loadFeeds, type V3Feed } from './feeds.js'
import type { ActivityPinResponse, ActivityResponse, FeedMemberResponse, UserResponse } from './gen/spec.js'
import type { Caller } from './http.js'
import { known } from './known.js'
import { rfc3339 } from './time.js'
import { usersById } from './users.js'

/**
 * The feed each activity of a read of `readFid` belongs to for the reader: the read feed when the
 * activity was added to it, else the feed it came through (a followed feed), else its first feed.
 */
export function currentFid(activity: Activity, readFid: string): string | undefined {
  const feeds = Array.isArray(activity.feeds) ? (activity.feeds as unknown[]) : []
  if (feeds.includes(readFid)) return readFid
  if (typeof activity.origin === 'string' && activity.origin !== '') return activity.origin
  return typeof feeds[0] === 'string' ? feeds[0] : undefined
}

/**
 * Sets `current_feed` (with a caller's own capabilities, if given) on activities read from
 * `readFid`. `read` is the read feed and what the request read of it already: an activity of
 * that feed shows it without reading it again.
 */
export async function addCurrentFeeds(
  ctx: ServerContext,
  activities: Activity[],
  responses: ActivityResponse[],
  readFid: string,
  caller?: Caller,
  read?: { feed: V3Feed; facts: FeedFacts },
): Promise<void> {
  const fids = activities.map((a) => currentFid(a, readFid))
  const unique = [...new Set(fids.filter((f): f is string => f !== undefined))]
  const refs = unique.flatMap((fid) => {
    if (fid === read?.feed.fid) return []
    try {
      return [feedOf(ctx, fid, 'feeds')]
    } catch {
      return [] // a feed group no longer configured: no current feed to show
    }
  })
  const feeds = [...(await loadFeeds(ctx, refs)).values()]
  if (read && unique.includes(read.feed.fid)) feeds.push(read.feed)
  const shown = await feedResponses(ctx, feeds, caller, undefined, read?.facts)
  const byFid = new Map(feeds.map((f, i) => [f.fid, shown[i]]))
  responses.forEach((r, i) => {
    const fid = fids[i]
    const feed = fid === undefined ? undefined : byFid.get(fid)
    if (feed) r.current_feed = feed
  })
}

/** Pins as V3's ActivityPinResponse (pins whose activity is gone are left out). */
export async function pinResponses(
  ctx: ServerContext,
  fid: string,
  pins: Pin[],
  caller: Caller,
): Promise<ActivityPinResponse[]> {
  const reader = caller.kind === 'user' ? caller.userId : undefined
  const loaded = await Promise.all(pins.map((p) => loadActivity(ctx, p.activity_id).catch(() => undefined)))
  // A pinned activity the caller may not see (another user's private one) is left out.
  const kept = pins.flatMap((p, i) => {
    const activity = loaded[i]
    return activity && activityShown(activity, { app: caller.kind === 'server', user: reader })
      ? [{ pin: p, activity }]
      : []
  })
  const [activities, users] = await Promise.all([
    activityResponses(
      ctx,
      kept.map((k) => k.activity),
      fid,
      reader,
    ),
    usersById(
      ctx,
      kept.map((k) => k.pin.user_id),
    ),
  ])
  return kept.map((k, i) => ({
    activity: activities[i],
    feed: fid,
    user: known(users, k.pin.user_id),
    created_at: rfc3339(k.pin.created_at),
    updated_at: rfc3339(k.pin.created_at),
  }))
}

/** Members as V3's FeedMemberResponse (users in `knownUsers` are not read again). */
export async function memberResponses(
  ctx: ServerContext,
  members: Member[],
  knownUsers?: ReadonlyMap<string, UserResponse>,
): Promise<FeedMemberResponse[]> {
  const users = await usersById(
    ctx,
    members.map((m) => m.user_id),
    knownUsers,
  )
  return members.map((m) => {
    const out: FeedMemberResponse = {
      user: known(users, m.user_id),
      role: m.role,
      status: m.status,
      created_at: rfc3339(m.created_at),
      updated_at: rfc3339(m.updated_at),
    }
    if (m.custom) out.custom = m.custom
    if (m.invite_accepted_at) out.invite_accepted_at = rfc3339(m.invite_accepted_at)
    if (m.invite_rejected_at) out.invite_rejected_at = rfc3339(m.invite_rejected_at)
    return out
  })
}
