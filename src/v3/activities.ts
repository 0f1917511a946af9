/**
 * V3 activity routes on the engine: add (to one or more feeds, fanned out to their followers),
 * get, update (full and partial, through the engine's partial update), delete (one or many).
 * Permissions: a user adds only as itself to feeds it owns, reads what the activity's first feed
 * lets it read, and changes or deletes only its own activities.
 */
import type { Activity } from '../engine/activity.js'
import { requireId } from '../engine/documents.js'
import { inputError, notFound } from '../engine/errors.js'
import { idToSk, requireSk, skToId } from '../engine/ids.js'
import { activityShown, canPost, canView } from '../engine/v3-access.js'
import type { ServerContext } from '../server/context.js'
import { notAllowed } from '../server/errors.js'
import {
  activityResponse,
  actorId,
  CUSTOM_ESCAPE,
  engineInput,
  escapedCustom,
  escapedFields,
} from './activity-model.js'
import { announceMove, moveActivity } from './activity-upsert.js'
import { accessVisibility, feedOf, loadFeeds, standing } from './feeds.js'
import type { ActivityRequest, ActivityResponse, UserResponse } from './gen/spec.js'
import { actingUser, type Caller, type Edge, v3route } from './http.js'
import { type Hub, v3Event } from './hub.js'
import { known } from './known.js'
import { addPolls } from './polls.js'
import { addReactionFields } from './reaction-model.js'
import { usersById } from './users.js'

/** Most feeds one activity may be added to. */
const MAX_FEEDS = 25
/** Most activities per batch call. */
const MAX_BATCH = 100

/** The user whose own reactions a read shows (none for the app or anonymous callers). */
export function readerOf(caller: Caller): string | undefined {
  return caller.kind === 'user' ? caller.userId : undefined
}

/** The user a write acts as: the token's user, or the body's `user_id` for the app. */
export function writer(caller: Caller, body: { user_id?: unknown; user?: { id?: unknown } }): string {
  const user = actingUser(caller)
  if (user !== undefined) {
    if (body.user_id !== undefined && body.user_id !== user) throw notAllowed()
    return user
  }
  const id = body.user_id ?? body.user?.id
  return requireId(id, 'user_id')
}

/** The engine sort key of a V3 activity id (its own id's index, else the engine id). */
export async function skOf(ctx: ServerContext, id: string): Promise<string | undefined> {
  return (await ctx.engine.v3.activitySk(id)) ?? idToSk(id)
}

/** Loads a V3 activity by id, or 404. */
export async function loadActivity(ctx: ServerContext, id: unknown, field = 'id'): Promise<Activity> {
  if (typeof id !== 'string' || id === '' || id.length > 255)
    throw inputError(`${field} must be an activity id`, id, field)
  const sk = await skOf(ctx, id)
  const engineId = sk ? skToId(sk) : undefined
  const found = engineId ? (await ctx.engine.lookupActivities([engineId])).get(engineId) : undefined
  if (!found) throw notFound(`activity ${id} does not exist`)
  return found
}

/** The feeds an activity is in (its `feeds`, else its V1 `to`). */
export function feedsOf(activity: Activity): string[] {
  if (Array.isArray(activity.feeds)) return activity.feeds.filter((f): f is string => typeof f === 'string')
  return activity.to ?? []
}

/**
 * Throws 403 unless `caller` may read `activity`: every by-id read (get, upsert, reactions,
 * comments, bookmarks) asks this. Its first feed's visibility decides (feeds.ts `mayRead`, so a
 * notification activity is its feed owner's, even for the activity's actor); a `private` activity
 * is further shown only to its author.
 */
export async function requireReadable(ctx: ServerContext, caller: Caller, activity: Activity): Promise<void> {
  if (caller.kind === 'server') return
  const user = caller.kind === 'user' ? caller.userId : undefined
  if (!activityShown(activity, { app: false, user })) throw notAllowed()
  const author = user !== undefined && actorId(activity) === user
  const [first] = feedsOf(activity)
  if (first === undefined) return
  const ref = feedOf(ctx, first, 'feeds')
  const feed = known(await loadFeeds(ctx, [ref]), ref.id)
  // The author of an activity in a feed that is not private keeps reading it (e.g. after an unfollow).
  if (author && accessVisibility(feed) !== 'private') return
  if (!canView(accessVisibility(feed), await standing(ctx, caller, feed))) throw notAllowed()
}

/**
 * Engine activities as V3 ActivityResponses, with their users and reaction, comment and bookmark
 * fields (`reader`'s own reactions and bookmarks when a user reads); users in `knownUsers` are
 * not read again.
 */
export async function activityResponses(
  ctx: ServerContext,
  activities: Activity[],
  currentFeed?: string,
  reader?: string,
  knownUsers?: ReadonlyMap<string, UserResponse>,
): Promise<ActivityResponse[]> {
  const users = await usersById(ctx, activities.map(actorId), knownUsers)
  const copies = activities.map((a) => ({ ...a }))
  const flags = ctx.engine.reactions.flags(
    { withReactionCounts: true, withRecentReactions: true, withOwnReactions: reader !== undefined },
    reader,
  )
  if (flags && copies.length > 0) await ctx.engine.reactions.addFields(copies, flags)
  const out = copies.map((a) => {
    const shown = activityResponse(a, known(users, actorId(a)), currentFeed)
    addReactionFields(shown, a)
    return shown
  })
  await addPolls(ctx, copies, out, reader)
  return out
}

/** Adds one V3 activity as `userId`; returns the engine's activity. */
export async function addActivity(
  ctx: ServerContext,
  caller: Caller,
  input: ActivityRequest,
  userId: string,
): Promise<Activity> {
  const feeds = input.feeds
  if (!Array.isArray(feeds) || feeds.length === 0 || feeds.length > MAX_FEEDS)
    throw inputError(`feeds must list 1 to ${MAX_FEEDS} feed ids`, feeds, 'feeds')
  const refs = feeds.map((f, i) => feedOf(ctx, f, `feeds[${i}]`))
  const loaded = await loadFeeds(ctx, refs)
  // Who may post where is v3-access.ts's rule (owners; any user on public feeds; members).
  for (const feed of loaded.values())
    if (!canPost(accessVisibility(feed), await standing(ctx, caller, feed))) throw notAllowed()
  const fids = [...loaded.keys()]
  // A user's activity carries only its own poll; the poll then remembers the activity, whose
  // feeds hear its events.
  const pollId = input.poll_id
  if (pollId !== undefined) {
    if (typeof pollId !== 'string' || pollId === '' || pollId.length > 1000)
      throw inputError('poll_id must be the id of a poll', pollId, 'poll_id')
    await ctx.engine.v3Polls.requireCarrier(pollId, actingUser(caller))
  }
  const ownId = input.id === undefined ? undefined : requireId(input.id, 'id')
  // The id is claimed first, so two adds with one id cannot both succeed.
  if (ownId !== undefined && !(await ctx.engine.v3.claimActivityId(ownId)))
    throw inputError(`an activity with id ${ownId} exists already`, ownId, 'id')
  let activity: Activity
  try {
    ;[activity] = await ctx.engine.addActivities(refs[0], [engineInput(input, userId, fids)], undefined, {
      groupCommit: ctx.adds.groupCommit,
    })
  } catch (err) {
    if (ownId !== undefined) await ctx.engine.v3.releaseActivityId(ownId)
    throw err
  }
  if (ownId !== undefined) await ctx.engine.v3.recordActivitySk(ownId, requireSk(activity.id, 'id'))
  if (pollId !== undefined) await ctx.engine.v3Polls.attach(pollId, activity.id)
  return activity
}

/** Deletes an activity from every feed it is in (the caller must be its author or the app). */
async function deleteActivity(ctx: ServerContext, caller: Caller, id: string): Promise<void> {
  const activity = await loadActivity(ctx, id)
  const user = actingUser(caller)
  if (user !== undefined && actorId(activity) !== user) throw notAllowed()
  const [first] = feedsOf(activity)
  const origin = first ?? activity.origin
  if (typeof origin !== 'string') throw notFound(`activity ${id} is in no feed`)
  const sk = requireSk(activity.id, 'id')
  await ctx.engine.removeActivities(feedOf(ctx, origin, 'feeds'), [sk])
  if (typeof activity.v3_id === 'string') await ctx.engine.v3.releaseActivityId(activity.v3_id)
}

/** V3 fields a partial update may set, beside custom fields. */
const SETTABLE = new Set([
  'text',
  'attachments',
  'visibility',
  'filter_tags',
  'interest_tags',
  'mentioned_user_ids',
  'location',
  'expires_at',
  'search_data',
  'restrict_replies',
])

/** The fields of a full update (UpdateActivity, an upsert of an existing id) it may set. */
function settable(body: object): Record<string, unknown> {
  const set: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(body)) if (SETTABLE.has(k) || k === 'custom') set[k] = v
  return set
}

/** The activity a V3 id names, if there is one. */
export async function findActivity(ctx: ServerContext, id: unknown): Promise<Activity | undefined> {
  if (typeof id !== 'string' || id === '' || id.length > 255) return undefined
  const sk = await skOf(ctx, id)
  const engineId = sk ? skToId(sk) : undefined
  return engineId ? (await ctx.engine.lookupActivities([engineId])).get(engineId) : undefined
}

/** An activity change as the engine's partialUpdate takes it. */
export interface EngineChange {
  id: string
  set: Record<string, unknown>
  unset: string[]
}

/**
 * Whether `caller` may change `activity` (a user only its own, and only while it may still read
 * it, as the change answers with the activity); throws 403 when not.
 */
export async function requireChangeable(
  ctx: ServerContext,
  caller: Caller,
  activity: Activity,
): Promise<void> {
  const user = actingUser(caller)
  if (user !== undefined && actorId(activity) !== user) throw notAllowed()
  await requireReadable(ctx, caller, activity)
}

/**
 * A V3 set/unset of `activity` checked and turned into the engine's change (custom fields are
 * top-level in the engine's form); nothing is written. `where` prefixes fields in errors.
 */
export function partialChange(
  activity: Activity,
  set: Record<string, unknown>,
  unset: unknown[],
  where = '',
): EngineChange {
  const engineSet: Record<string, unknown> = { updated_at: new Date().toISOString() }
  for (const [k, v] of Object.entries(set)) {
    if (k === 'custom') {
      if (v === null || typeof v !== 'object' || Array.isArray(v))
        throw inputError('custom must be an object', v, `${where}set.custom`)
      const fields = engineInput({ type: 'x', feeds: [], custom: v as Record<string, unknown> }, 'x', [])
      for (const key of ['actor', 'verb', 'object', 'feeds']) delete fields[key]
      // Escaped custom fields join those the activity keeps, not replace them.
      if (fields[CUSTOM_ESCAPE] !== undefined)
        fields[CUSTOM_ESCAPE] = { ...escapedFields(activity), ...escapedFields(fields) }
      Object.assign(engineSet, fields)
    } else if (SETTABLE.has(k)) engineSet[k] = v
    else
      throw inputError(
        `set may change ${[...SETTABLE].join(', ')} or custom; not ${k}`,
        k,
        `${where}set.${k}`,
      )
  }
  if (set.text !== undefined) engineSet.edited_at = engineSet.updated_at
  const engineUnset: string[] = []
  for (const k of unset) {
    if (typeof k !== 'string' || (!SETTABLE.has(k) && k.startsWith('custom.') === false))
      throw inputError('unset lists V3 fields or custom.<name>', k, `${where}unset`)
    const name = k.startsWith('custom.') ? k.slice(7) : k
    if (!k.startsWith('custom.') || !escapedCustom(name)) {
      engineUnset.push(name)
      continue
    }
    // An escaped custom field leaves the activity's CUSTOM_ESCAPE object.
    const kept = escapedFields(
      (engineSet[CUSTOM_ESCAPE] as Record<string, unknown> | undefined) === undefined
        ? activity
        : { [CUSTOM_ESCAPE]: engineSet[CUSTOM_ESCAPE] },
    )
    delete kept[name]
    engineSet[CUSTOM_ESCAPE] = kept
  }
  return { id: activity.id, set: engineSet, unset: engineUnset }
}

/** Applies a V3 set/unset to the activity `id` names, as `caller` may. */
async function updateActivity(
  ctx: ServerContext,
  caller: Caller,
  id: string,
  set: Record<string, unknown>,
  unset: string[],
): Promise<Activity> {
  const activity = await loadActivity(ctx, id)
  await requireChangeable(ctx, caller, activity)
  const [updated] = await ctx.engine.partialUpdate([partialChange(activity, set, unset)])
  return updated
}

/** Sends feeds.activity.updated to the watchers of every feed the activity is in. */
export function announceUpdate(hub: Hub, activity: Activity, shown: ActivityResponse): void {
  for (const fid of feedsOf(activity))
    hub.publish(fid, [v3Event('feeds.activity.updated', { fid, activity: shown })])
}

/** Registers the V3 activity routes. */
export function activityRoutes(edge: Edge, hub: Hub): void {
  const { ctx } = edge
  const announce = (activity: Activity, shown: ActivityResponse) => announceUpdate(hub, activity, shown)

  v3route(
    edge,
    'POST',
    '/feeds/activities',
    async ({ caller, body }) => {
      const userId = writer(caller, body)
      const activity = await addActivity(ctx, caller, body as unknown as ActivityRequest, userId)
      const [response] = await activityResponses(ctx, [activity])
      return { activity: response }
    },
    201,
  )

  v3route(
    edge,
    'POST',
    '/feeds/activities/batch',
    async ({ caller, body }) => {
      const list = body.activities
      if (!Array.isArray(list) || list.length === 0 || list.length > MAX_BATCH)
        throw inputError(`activities must list 1 to ${MAX_BATCH} activities`, list, 'activities')
      const added: Activity[] = []
      for (const item of list as ActivityRequest[]) {
        // An id naming an existing activity updates it (and moves it when its feeds change).
        const existing = item.id === undefined ? undefined : await findActivity(ctx, item.id)
        if (existing === undefined) {
          added.push(await addActivity(ctx, caller, item, writer(caller, item)))
          continue
        }
        writer(caller, item)
        // Moving answers with the activity too: the caller must be allowed to read it first.
        await requireReadable(ctx, caller, existing)
        const moved = await moveActivity(ctx, caller, existing, item.feeds)
        const updated = await updateActivity(ctx, caller, String(item.id), settable(item), [])
        const [shown] = await activityResponses(ctx, [updated])
        announceMove(hub, { ...moved, activity: updated }, shown)
        added.push(updated)
      }
      return { activities: await activityResponses(ctx, added) }
    },
    201,
  )

  v3route(edge, 'GET', '/feeds/activities/:id', async ({ caller, params }) => {
    const activity = await loadActivity(ctx, params.id)
    await requireReadable(ctx, caller, activity)
    const [response] = await activityResponses(ctx, [activity], undefined, readerOf(caller))
    return { activity: response }
  })

  v3route(edge, 'DELETE', '/feeds/activities/:id', async ({ caller, params }) => {
    await deleteActivity(ctx, caller, params.id)
    return {}
  })

  v3route(edge, 'POST', '/feeds/activities/delete', async ({ caller, body }) => {
    const ids = body.ids
    if (!Array.isArray(ids) || ids.length === 0 || ids.length > MAX_BATCH)
      throw inputError(`ids must list 1 to ${MAX_BATCH} activity ids`, ids, 'ids')
    for (const id of ids) await deleteActivity(ctx, caller, String(id))
    return { deleted_ids: ids.map(String) }
  })

  v3route(edge, 'PATCH', '/feeds/activities/:id', async ({ caller, params, body }) => {
    const set = (body.set ?? {}) as Record<string, unknown>
    if (set === null || typeof set !== 'object' || Array.isArray(set))
      throw inputError('set must be an object', set, 'set')
    const unset = body.unset ?? []
    if (!Array.isArray(unset)) throw inputError('unset must be a list of field names', unset, 'unset')
    const updated = await updateActivity(ctx, caller, params.id, set, unset)
    const [response] = await activityResponses(ctx, [updated])
    announce(updated, response)
    return { activity: response }
  })

  v3route(edge, 'PUT', '/feeds/activities/:id', async ({ caller, params, body }) => {
    const existing = await loadActivity(ctx, params.id)
    // Moving answers with the activity too: the caller must be allowed to read it first.
    await requireReadable(ctx, caller, existing)
    const moved = await moveActivity(ctx, caller, existing, body.feeds)
    const updated = await updateActivity(ctx, caller, params.id, settable(body), [])
    const [response] = await activityResponses(ctx, [updated])
    announceMove(hub, { ...moved, activity: updated }, response)
    return { activity: response }
  })
}

/** An engine activity id from its sort key (re-exported for the feed reads). */
export { skToId }
