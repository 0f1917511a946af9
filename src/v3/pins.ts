/**
 * V3 pins: PinActivity and UnpinActivity on a feed (`engine.v3Pins`). Pinning is the feed
 * owner's (its `pin-activity` capability, v3-access.ts) and only of an activity that is in the
 * feed; the feed's watchers hear `feeds.activity.pinned` / `feeds.activity.unpinned`, and a
 * feed read shows the pins as `pinned_activities`.
 */
import { requireId } from '../engine/documents.js'
import { notFound } from '../engine/errors.js'
import { notAllowed } from '../server/errors.js'
import { activityResponses, feedsOf, loadActivity } from './activities.js'
import { capabilities, feedRefOf, loadFeed, standing } from './feeds.js'
import type { PinActivityResponse, UnpinActivityResponse } from './gen/spec.js'
import { type Edge, v3route } from './http.js'
import { type Hub, v3Event } from './hub.js'
import { known } from './known.js'
import { rfc3339 } from './time.js'
import { usersById } from './users.js'

/** Registers the V3 pin routes. */
export function pinRoutes(edge: Edge, hub: Hub): void {
  const { ctx } = edge
  const path = '/feeds/feed_groups/:feed_group_id/feeds/:feed_id/activities/:activity_id/pin'

  /** The feed and activity of a pin call, checked: the caller may pin on the feed, the activity is in it. */
  const target = async (call: {
    caller: Parameters<typeof capabilities>[0]
    params: Record<string, string>
  }) => {
    const ref = feedRefOf(ctx, call.params.feed_group_id, requireId(call.params.feed_id, 'feed_id'))
    const feed = await loadFeed(ctx, ref)
    const s = await standing(ctx, call.caller, feed)
    if (!capabilities(call.caller, feed, s.follower, s.member).includes('pin-activity')) throw notAllowed()
    const activity = await loadActivity(ctx, call.params.activity_id, 'activity_id')
    if (!feedsOf(activity).includes(ref.id))
      throw notFound(`activity ${call.params.activity_id} is not in feed ${ref.id}`)
    const user = call.caller.kind === 'user' ? call.caller.userId : feed.data.created_by
    const [shown] = await activityResponses(ctx, [activity], ref.id, user)
    return { fid: ref.id, user, shown }
  }

  v3route(
    edge,
    'POST',
    path,
    async (call) => {
      const { fid, user, shown } = await target(call)
      const pin = await ctx.engine.v3Pins.pin(fid, shown.id, user)
      const out: Omit<PinActivityResponse, 'duration'> = {
        activity: shown,
        feed: fid,
        user_id: pin.user_id,
        created_at: rfc3339(pin.created_at),
      }
      const users = await usersById(ctx, [pin.user_id])
      hub.publish(fid, [
        v3Event('feeds.activity.pinned', { fid, pinned_activity: out, user: known(users, pin.user_id) }),
      ])
      return out
    },
    201,
  )

  v3route(edge, 'DELETE', path, async (call) => {
    const { fid, user, shown } = await target(call)
    const pin = await ctx.engine.v3Pins.unpin(fid, shown.id)
    const out: Omit<UnpinActivityResponse, 'duration'> = { activity: shown, feed: fid, user_id: pin.user_id }
    const users = await usersById(ctx, [user])
    hub.publish(fid, [
      v3Event('feeds.activity.unpinned', {
        fid,
        pinned_activity: { ...out, created_at: rfc3339(pin.created_at) },
        user: known(users, user),
      }),
    ])
    return out
  })
}
