/**
 * What the V3 reaction, comment and bookmark routes share: input checks, loading a comment the
 * caller may read with its activity, an activity as the caller sees it, page sizes and cursors,
 * and the realtime events of a change (sent to the watchers of every feed the activity is in).
 */
import type { Activity } from '../engine/activity.js'
import { inputError, notFound } from '../engine/errors.js'
import type { Links } from '../engine/links.js'
import type { ReactionFilterOptions } from '../engine/reaction-filter.js'
import type { Reaction } from '../engine/reaction-model.js'
import type { ServerContext } from '../server/context.js'
import { activityResponses, feedsOf, readerOf, requireReadable } from './activities.js'
import type { ActivityResponse } from './gen/spec.js'
import type { Caller } from './http.js'
import { type Hub, v3Event } from './hub.js'
import { BOOKMARK, COMMENT } from './reaction-model.js'

const TYPE = /^[\w-]{1,255}$/

/** A V3 reaction type (not one of the kinds comments and bookmarks use). */
export function requireType(value: unknown, field = 'type'): string {
  if (typeof value !== 'string' || !TYPE.test(value) || value === COMMENT || value === BOOKMARK)
    throw inputError(
      `${field} must be letters, digits, - or _ (at most 255), and not ${COMMENT} or ${BOOKMARK}`,
      value,
      field,
    )
  return value
}

/** An optional `custom` object. */
export function customOf(value: unknown, field: string): Record<string, unknown> | undefined {
  if (value === undefined || value === null) return undefined
  if (typeof value !== 'object' || Array.isArray(value))
    throw inputError(`${field} must be an object`, value, field)
  return value as Record<string, unknown>
}

/** A page size: `fallback` when missing, else 1 to `max` (a larger one is refused, not trimmed). */
export function limitOf(value: unknown, fallback: number, max: number, field = 'limit'): number {
  if (value === undefined || value === null || value === '') return fallback
  const n = typeof value === 'string' && /^\d{1,6}$/.test(value) ? Number(value) : value
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > max)
    throw inputError(`${field} must be 1 to ${max}`, value, field)
  return n
}

/** The activity a reaction belongs to, readable by `caller`. */
export async function activityOfReaction(ctx: ServerContext, caller: Caller, r: Reaction): Promise<Activity> {
  const [activity] = await ctx.engine.getActivities([r.activity_id])
  if (!activity) throw notFound(`the activity of ${r.id} does not exist`)
  await requireReadable(ctx, caller, activity)
  return activity
}

/** Loads a live comment readable by `caller`, with its activity. */
export async function loadComment(
  ctx: ServerContext,
  caller: Caller,
  id: unknown,
): Promise<{ reaction: Reaction; activity: Activity }> {
  if (typeof id !== 'string' || id === '' || id.length > 255)
    throw inputError('id must be a comment id', id, 'id')
  const reaction = await ctx.engine.reactions.get(id, readerOf(caller) ?? '')
  if (reaction.kind !== COMMENT || reaction.deleted_at) throw notFound(`comment ${id} does not exist`)
  const activity = await activityOfReaction(ctx, caller, reaction)
  return { reaction, activity }
}

/** An activity read again and shown as `reader` sees it (none: without own fields, for events). */
export async function shownActivity(
  ctx: ServerContext,
  activity: Activity,
  reader: string | undefined,
): Promise<ActivityResponse> {
  const [loaded] = await ctx.engine.getActivities([activity.id])
  const [shown] = await activityResponses(ctx, [loaded ?? activity], undefined, reader)
  return shown
}

/** Sends `type` with `fields` (and `fid`) to the watchers of every feed `activity` is in. */
export function announce(hub: Hub, activity: Activity, type: string, fields: Record<string, unknown>): void {
  for (const fid of feedsOf(activity)) hub.publish(fid, [v3Event(type, { fid, ...fields })])
}

/** Engine links whose `next` is the last reaction's id: V3's opaque cursor. */
export const ID_CURSORS: Links = { activityReactions: () => '', reactionFilter: (n) => n.id }

/** One page of engine reactions (a filter with `limit` up to 25) and V3's `next` cursor. */
export async function reactionPage(
  ctx: ServerContext,
  options: ReactionFilterOptions,
  reader: string | undefined,
): Promise<{ results: Reaction[]; next?: string }> {
  const page = await ctx.engine.reactions.filter(options, reader, ID_CURSORS)
  return page.next ? { results: page.results, next: page.next } : { results: page.results }
}

/** A `next`/`prev` cursor from a request: a reaction id. */
export function cursorOf(value: unknown, field: string): string | undefined {
  if (value === undefined || value === null || value === '') return undefined
  if (typeof value !== 'string' || !/^[\w-]{1,255}$/.test(value))
    throw inputError(`${field} must be a cursor from an earlier page`, value, field)
  return value
}
