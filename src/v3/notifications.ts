/**
 * V3 aggregated and notification feeds on the engine's grouped feeds: reads of their groups
 * (`aggregated_activities`, or plain activities with `is_read`/`is_seen` for flat notification
 * groups), `notification_status`, MarkActivity, the `feeds.notification_feed.updated` event, and
 * Stream's automatic notification activities (`create_notification_activity`).
 *
 * The mapping: a V3 group is an engine group, its `group` the engine's group id (the one V1's
 * `mark_seen`/`mark_read` take), `user_count` its actor count; seen and read are the engine's
 * group flags (rules G2 and G5 of store/shared/group-state.ts); `last_seen_at`/`last_read_at`
 * are the times of the last mark-all, which V1 does not keep (a `v3_marks` document).
 */
import type { Activity } from '../engine/activity.js'
import { inputError } from '../engine/errors.js'
import type { FeedRef } from '../engine/feed-groups.js'
import { skToId } from '../engine/ids.js'
import type { AggregatedGroup, NotificationGroup } from '../engine/read.js'
import type { ServerContext } from '../server/context.js'
import { notAllowed } from '../server/errors.js'
import { activityResponses, skOf } from './activities.js'
import { v3Id } from './activity-model.js'
import { notSupported } from './errors.js'
import { readsFlat } from './feed-groups.js'
import { mayRead, type V3Feed } from './feeds.js'
import { requireFilter } from './filter.js'
import type {
  ActivityResponse,
  AggregatedActivityResponse,
  MarkActivityRequest,
  NotificationStatusResponse,
} from './gen/spec.js'
import type { Caller } from './http.js'
import { v3Event } from './hub.js'
import { rfc3339 } from './time.js'

/** Most ids one MarkActivity list may hold. */
export const MAX_MARKS = 100

/** Throws 403 unless `caller` may read or mark the notification feed (its owner, or the app). */
export function requireNotificationOwner(caller: Caller, feed: V3Feed): void {
  // The one visibility rule (feeds.ts accessVisibility): a notification feed is private to its owner.
  if (feed.ref.group.kind === 'notification' && !mayRead(caller, feed, false)) throw notAllowed()
}

/** A V3 group of engine activities already shown as V3 activities. */
function groupResponse(g: AggregatedGroup, activities: ActivityResponse[]): AggregatedActivityResponse {
  const out: AggregatedActivityResponse = {
    group: g.id,
    activities,
    activity_count: g.activity_count,
    user_count: g.actor_count,
    user_count_truncated: false,
    score: 0,
    created_at: rfc3339(g.created_at),
    updated_at: rfc3339(g.updated_at),
    is_watched: false,
  }
  const flags = g as Partial<NotificationGroup>
  if (typeof flags.is_read === 'boolean') out.is_read = flags.is_read
  if (typeof flags.is_seen === 'boolean') out.is_seen = flags.is_seen
  return out
}

/** Engine groups as V3 groups for `reader`, each keeping only the activities `filter` matches. */
async function groupResponses(
  ctx: ServerContext,
  fid: string,
  groups: AggregatedGroup[],
  reader: string | undefined,
  filter?: (a: ActivityResponse) => boolean,
): Promise<AggregatedActivityResponse[]> {
  const shown = await activityResponses(
    ctx,
    groups.flatMap((g) => g.activities),
    fid,
    reader,
  )
  const out: AggregatedActivityResponse[] = []
  let at = 0
  for (const g of groups) {
    const all = shown.slice(at, at + g.activities.length)
    at += g.activities.length
    const kept = filter ? all.filter(filter) : all
    if (kept.length === 0 && all.length > 0) continue
    const group = groupResponse(g, kept)
    group.activity_count -= all.length - kept.length
    out.push(group)
  }
  return out
}

/** The V3 ids (activity ids on flat notification feeds) of engine group ids. */
async function shownIds(ctx: ServerContext, ref: FeedRef, groupIds: string[]): Promise<string[]> {
  if (!readsFlat(ref.group) || groupIds.length === 0) return groupIds
  // A flat notification group is named after its one activity: its V3 id may be the activity's own.
  const found = await ctx.engine.lookupActivities(groupIds)
  return groupIds.map((id) => {
    const a = found.get(id)
    return a ? v3Id(a) : id
  })
}

/** A notification feed's NotificationStatusResponse (lists left out while empty, as Stream does). */
export async function notificationStatus(
  ctx: ServerContext,
  ref: FeedRef,
): Promise<NotificationStatusResponse> {
  const [status, marks] = await Promise.all([ctx.engine.notificationStatus(ref), ctx.engine.v3.marks(ref.id)])
  const out: NotificationStatusResponse = { unread: status.unread, unseen: status.unseen }
  if (typeof marks?.last_seen_at === 'string') out.last_seen_at = marks.last_seen_at
  if (typeof marks?.last_read_at === 'string') out.last_read_at = marks.last_read_at
  if (status.read.length > 0) out.read_activities = await shownIds(ctx, ref, status.read)
  if (status.seen.length > 0) out.seen_activities = await shownIds(ctx, ref, status.seen)
  return out
}

/** What getOrCreate answers for an aggregated or notification feed's page. */
export interface GroupedPage {
  activities: ActivityResponse[]
  aggregated_activities: AggregatedActivityResponse[]
  notification_status?: NotificationStatusResponse
  /** Engine group ids bounding the page, for the caller's cursors. */
  more: boolean
  first?: string
  last?: string
}

/**
 * A page of `limit` groups of a grouped feed below (`lt`) or above (`gt`) a group id, for
 * `caller` (a notification feed: its owner or the app only); `filter` keeps matching activities.
 */
export async function groupedPage(
  ctx: ServerContext,
  caller: Caller,
  feed: V3Feed,
  page: { limit: number; lt?: string; gt?: string; filter?: unknown },
): Promise<GroupedPage> {
  requireNotificationOwner(caller, feed)
  const ref = feed.ref
  const filter = page.filter === undefined ? undefined : requireFilter(page.filter)
  const reader = caller.kind === 'user' ? caller.userId : undefined
  const options: Record<string, unknown> = { limit: page.limit + 1 }
  if (page.lt !== undefined) options.id_lt = page.lt
  if (page.gt !== undefined) options.id_gt = page.gt
  const read = page.limit === 0 ? undefined : await ctx.engine.readFeed(ref, options)
  const rows = (read?.results ?? []) as AggregatedGroup[]
  const groups = rows.slice(0, page.limit)
  const out: GroupedPage = {
    activities: [],
    aggregated_activities: [],
    more: rows.length > page.limit,
    first: groups[0]?.id,
    last: groups.at(-1)?.id,
  }
  const shown = await groupResponses(ctx, ref.id, groups, reader, filter)
  if (readsFlat(ref.group)) {
    // One activity per group: the activities carry their group's flags.
    out.activities = shown.flatMap((g) =>
      g.activities.map((a) => ({ ...a, is_read: g.is_read ?? false, is_seen: g.is_seen ?? false })),
    )
  } else out.aggregated_activities = shown
  if (ref.group.kind === 'notification') out.notification_status = await notificationStatus(ctx, ref)
  return out
}

function markList(value: unknown, field: string): string[] {
  if (value === undefined || value === null) return []
  if (
    !Array.isArray(value) ||
    value.length > MAX_MARKS ||
    !value.every((v) => typeof v === 'string' && v.length <= 255)
  )
    throw inputError(`${field} must list at most ${MAX_MARKS} ids`, value, field)
  return value as string[]
}

function markAll(value: unknown, field: string): boolean {
  if (value !== undefined && value !== null && typeof value !== 'boolean')
    throw inputError(`${field} must be true or false`, value, field)
  return value === true
}

/** Engine group ids of V3 ids: group ids as they are, or (flat notification feeds) activity ids. */
async function groupIdsOf(ctx: ServerContext, ref: FeedRef, ids: string[]): Promise<string[]> {
  const out: string[] = []
  for (const id of ids) {
    const sk = readsFlat(ref.group) ? await skOf(ctx, id) : undefined
    const groupId = sk ? skToId(sk) : id
    // Ids that name no group are ignored, as V1 ignores unknown group ids.
    if (/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(groupId)) out.push(groupId)
  }
  return out
}

/**
 * MarkActivity on `feed` for `caller` (its owner, or the app): marks groups (activities, on flat
 * notification feeds) read and seen, all or listed; resolves with the V3 events it makes.
 */
export async function markActivity(
  ctx: ServerContext,
  caller: Caller,
  feed: V3Feed,
  input: MarkActivityRequest,
): Promise<Record<string, unknown>[]> {
  if (caller.kind === 'anonymous') throw notAllowed()
  requireNotificationOwner(caller, feed)
  const ref = feed.ref
  if (ref.group.kind !== 'notification')
    throw inputError(`feed group ${ref.slug} tracks no seen or read state`, ref.slug, 'feed_group_id')
  const allRead = markAll(input.mark_all_read, 'mark_all_read')
  const allSeen = markAll(input.mark_all_seen, 'mark_all_seen')
  const read = markList(input.mark_read, 'mark_read')
  const seen = markList(input.mark_seen, 'mark_seen')
  if (markList(input.mark_watched, 'mark_watched').length > 0) throw notSupported('mark_watched (stories)')
  await ctx.engine.markNotifications(ref, {
    read: allRead || (await groupIdsOf(ctx, ref, read)),
    seen: allSeen || (await groupIdsOf(ctx, ref, seen)),
  })
  const now = new Date().toISOString()
  const times: Record<string, string> = {}
  if (allRead) times.last_read_at = now
  if (allSeen) times.last_seen_at = now
  if (Object.keys(times).length > 0) await ctx.engine.v3.putMarks(ref.id, times)
  const fid = ref.id
  const marked: Record<string, unknown> = { fid }
  if (allRead) marked.mark_all_read = true
  if (allSeen) marked.mark_all_seen = true
  if (read.length > 0) marked.mark_read = read
  if (seen.length > 0) marked.mark_seen = seen
  return [
    v3Event('feeds.activity.marked', marked),
    v3Event('feeds.notification_feed.updated', {
      fid,
      notification_status: await notificationStatus(ctx, ref),
    }),
  ]
}

/**
 * The `feeds.notification_feed.updated` event for a change of notification feed `fid` that added
 * `added` (engine activities, each with the id it gave its group) as `reader` sees it: the
 * groups they joined (none on flat notification feeds, whose activities come as
 * `feeds.activity.added`) and the feed's status. Undefined for other feeds.
 */
export function notificationUpdate(
  ctx: ServerContext,
  fid: string,
  added: Activity[],
  reader: string | undefined,
): Promise<Record<string, unknown> | undefined> {
  // Built once per message and reader, however many of the reader's connections watch the feed.
  let byReader = updates.get(added)
  if (!byReader) {
    byReader = new Map()
    updates.set(added, byReader)
  }
  const key = reader ?? ''
  let update = byReader.get(key)
  if (!update) {
    update = buildUpdate(ctx, fid, added, reader)
    byReader.set(key, update)
  }
  return update
}

/** Updates being built, by the message's added activities (one list per message) and reader. */
const updates = new WeakMap<Activity[], Map<string, Promise<Record<string, unknown> | undefined>>>()

async function buildUpdate(
  ctx: ServerContext,
  fid: string,
  added: Activity[],
  reader: string | undefined,
): Promise<Record<string, unknown> | undefined> {
  const group = ctx.engine.groups.get(fid.slice(0, fid.indexOf(':')))
  if (group?.kind !== 'notification') return undefined
  const ref = ctx.engine.parseFeed(fid)
  const groups: AggregatedGroup[] = []
  if (!readsFlat(group)) {
    for (const a of added) {
      // The newest group at or below the activity holds it when it is its group's newest (G6).
      const page = await ctx.engine.readFeed(ref, { limit: 1, id_lte: a.id })
      const [g] = page.results as AggregatedGroup[]
      if (g?.activities.some((x) => x.id === a.id) && !groups.some((h) => h.id === g.id)) groups.push(g)
    }
  }
  return v3Event('feeds.notification_feed.updated', {
    fid,
    aggregated_activities: await groupResponses(ctx, fid, groups, reader),
    notification_status: await notificationStatus(ctx, ref),
  })
}
