/**
 * V3 feed groups on the engine's feed groups (the routes are feed-group-routes.ts): a V3 group
 * request becomes an engine group definition (`engine.defineFeedGroup`, the configured groups'
 * rules), and an engine group a V3 FeedGroupResponse. A V3 group
 * with an `aggregation` format is an engine `aggregated` group, or `notification` when it also
 * tracks seen or read; a group that tracks seen or read without aggregating (Stream's "flat
 * notification" feed) is a `notification` group whose format puts each activity in a group of
 * its own ({@link FLAT_NOTIFICATION_FORMAT}), which V3 reads show as plain activities. The V3
 * settings the engine does not keep (default visibility, custom, push) are a `v3_feed_group`
 * document.
 */
import { checkBounds, DOCUMENT_BOUNDS } from '../engine/bounds.js'
import { inputError, notFound } from '../engine/errors.js'
import type { FeedGroup, FeedGroupOptions } from '../engine/feed-groups.js'
import { VISIBILITIES, type Visibility } from '../engine/v3-access.js'
import type { ServerContext } from '../server/context.js'
import { notSupported } from './errors.js'
import type { FeedGroupResponse, GetOrCreateFeedGroupRequest } from './gen/spec.js'
import { rfc3339 } from './time.js'

/** The format of a group that tracks seen and read per activity: each activity is its own group. */
export const FLAT_NOTIFICATION_FORMAT = '{{ id }}'

/** Whether V3 shows `group`'s feeds as plain activities (flat, or a flat notification group). */
export function readsFlat(group: FeedGroup): boolean {
  return group.kind === 'flat' || group.aggregationFormat === FLAT_NOTIFICATION_FORMAT
}

// V3 formats name an activity's fields as V3 does; the engine keeps `type` as verb, the user as actor.
const TO_ENGINE: Record<string, string> = { type: 'verb', user_id: 'actor' }
const TO_V3: Record<string, string> = { verb: 'type', actor: 'user_id' }
const translate = (format: string, names: Record<string, string>) =>
  format.replace(/\{\{\s*([A-Za-z_]\w*)\s*\}\}/g, (whole, name: string) =>
    Object.hasOwn(names, name) ? `{{ ${names[name]} }}` : whole,
  )

/** The engine options of a V3 group request (a 400 for what the engine cannot keep). */
export function engineOptions(input: GetOrCreateFeedGroupRequest): FeedGroupOptions {
  for (const part of [
    'ranking',
    'stories',
    'activity_processors',
    'activity_selectors',
    'activity_filter',
  ] as const) {
    const v = input[part]
    if (v !== undefined && v !== null && !(Array.isArray(v) && v.length === 0))
      throw notSupported(`the feed group setting ${part}`)
  }
  const notification = input.notification
  const tracks = notification?.track_seen === true || notification?.track_read === true
  const format = input.aggregation?.format
  if (format !== undefined) {
    if (typeof format !== 'string' || format.length > 500)
      throw inputError(
        'aggregation.format must be a template of at most 500 characters',
        format,
        'aggregation.format',
      )
    return { type: tracks ? 'notification' : 'aggregated', aggregationFormat: translate(format, TO_ENGINE) }
  }
  return tracks ? { type: 'notification', aggregationFormat: FLAT_NOTIFICATION_FORMAT } : { type: 'flat' }
}

/** The V3 settings kept beside the engine group (those `input` names). */
export function settingsOf(input: GetOrCreateFeedGroupRequest): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  if (input.default_visibility !== undefined) {
    if (!VISIBILITIES.includes(input.default_visibility as Visibility))
      throw inputError(
        `default_visibility must be one of ${VISIBILITIES.join(', ')}`,
        input.default_visibility,
        'default_visibility',
      )
    out.default_visibility = input.default_visibility
  }
  if (input.custom !== undefined) {
    if (input.custom === null || typeof input.custom !== 'object' || Array.isArray(input.custom))
      throw inputError('custom must be an object', input.custom, 'custom')
    checkBounds(input.custom, 'custom', 'custom', DOCUMENT_BOUNDS)
    out.custom = input.custom
  }
  // Kept and shown as given: Eddy sends no push notifications (docs/v3.md).
  if (input.push_notification !== undefined) {
    checkBounds(input.push_notification, 'push_notification', 'push_notification', DOCUMENT_BOUNDS)
    out.push_notification = input.push_notification
  }
  return out
}

/** A feed group as V3's FeedGroupResponse (`deletedAt`: when it was soft-deleted). */
export async function feedGroupResponse(
  ctx: ServerContext,
  group: FeedGroup,
  deletedAt?: string,
): Promise<FeedGroupResponse> {
  const doc = await ctx.engine.v3.feedGroup(group.slug)
  const now = new Date().toISOString()
  const out: FeedGroupResponse = {
    ...(doc?.data as Partial<FeedGroupResponse> | undefined),
    id: group.slug,
    created_at: doc ? rfc3339(doc.createdAt) : now,
    updated_at: doc ? rfc3339(doc.updatedAt) : now,
  }
  if (group.kind !== 'flat' && group.aggregationFormat !== FLAT_NOTIFICATION_FORMAT)
    out.aggregation = { format: translate(group.aggregationFormat ?? '', TO_V3) }
  if (group.kind === 'notification') out.notification = { track_seen: true, track_read: true }
  if (deletedAt) out.deleted_at = rfc3339(deletedAt)
  return out
}

/**
 * Throws 400 when an update names an aggregation or notification setting other than the group's:
 * the engine groups a feed's stored entries by them, so they are fixed once the group is made.
 */
export function requireSameEngineOptions(group: FeedGroup, input: GetOrCreateFeedGroupRequest): void {
  if (input.aggregation === undefined && input.notification === undefined) return
  const wanted = engineOptions(input)
  if (wanted.type !== group.kind || (wanted.aggregationFormat ?? undefined) !== group.aggregationFormat)
    throw inputError(
      `feed group ${group.slug}'s aggregation and notification settings cannot change once it is made (its feeds' stored groups follow them); create another group`,
      { aggregation: input.aggregation, notification: input.notification },
      input.aggregation === undefined ? 'notification' : 'aggregation',
    )
}

/** The visibility new feeds of group `slug` start with, when it was defined through V3 with one. */
export async function defaultVisibility(ctx: ServerContext, slug: string): Promise<Visibility | undefined> {
  const value = (await ctx.engine.v3.feedGroup(slug))?.data.default_visibility
  return VISIBILITIES.includes(value as Visibility) ? (value as Visibility) : undefined
}

/** How often unknown group ids may make this server look for groups defined elsewhere. */
const RELOAD_MS = 1_000
/**
 * How old this server's view of the defined groups may grow before a request naming a group
 * refreshes it in the background: a group deleted or restored through another server reaches this
 * one within that time (Stream documents up to 30 s for feed group changes to reach every node).
 */
const REFRESH_MS = 30_000
const reloads = new WeakMap<ServerContext, { at: number; pending?: Promise<unknown> }>()

/** Reloads the defined groups from the store (one read shared by concurrent callers). */
export function reloadGroups(ctx: ServerContext): Promise<unknown> {
  const state = reloads.get(ctx) ?? { at: 0 }
  reloads.set(ctx, state)
  if (!state.pending) {
    state.at = Date.now()
    state.pending = ctx.engine.loadFeedGroups().finally(() => {
      state.pending = undefined
    })
  }
  return state.pending.catch(() => undefined)
}

/**
 * The group with id `id`, learning groups other servers defined when this one does not know it
 * (at most once per {@link RELOAD_MS}, so unknown ids cannot make every request read the store),
 * and refreshing a view older than {@link REFRESH_MS} in the background.
 */
export async function knownGroup(ctx: ServerContext, id: string): Promise<FeedGroup | undefined> {
  const at = reloads.get(ctx)?.at ?? 0
  const group = ctx.engine.groups.get(id)
  if (group) {
    if (Date.now() - at >= REFRESH_MS) void reloadGroups(ctx)
    return group
  }
  if (Date.now() - at >= RELOAD_MS) await reloadGroups(ctx)
  else await reloads.get(ctx)?.pending?.catch(() => undefined)
  return ctx.engine.groups.get(id)
}

/** 404 for a group that does not exist, saying so when it was soft-deleted. */
export function groupNotFound(ctx: ServerContext, id: string) {
  return ctx.engine.deletedFeedGroup(id)
    ? notFound(`feed group ${id} was deleted (RestoreFeedGroup brings it back)`)
    : notFound(`feed group ${id} does not exist`)
}
