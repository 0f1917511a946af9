/**
 * How a V3 activity is kept as an engine (V1) activity, both ways, so V1 and V3 clients see the
 * same activities: `actor` is `SU:<user id>` (Stream's user reference), `verb` is the V3 `type`,
 * `object` is the type too (V1 requires one), `time` is `created_at`; the V3 fields (text,
 * attachments, visibility, ...) are top-level fields of the same name, V3 `custom` fields are the
 * other top-level fields, and `feeds` lists the feeds it was added to (the first is where it was
 * added, the others are its V1 `to` targets). An activity added with its own `id` keeps it as
 * `foreign_id` and in `v3_id`; otherwise its V3 id is the engine's. A custom field whose name the
 * mapping or V1 itself uses (`duration`, `text`, `id`, ...) is kept under `v3_custom` instead, so
 * V3 custom data never collides with an activity's own fields.
 */
import type { Activity } from '../engine/activity.js'
import { checkBounds, DOCUMENT_BOUNDS } from '../engine/bounds.js'
import { inputError } from '../engine/errors.js'
import type { ActivityRequest, ActivityResponse, UserResponse } from './gen/spec.js'
import { rfc3339 } from './time.js'

/** V3 fields kept as top-level fields of the engine's activity. */
const V3_FIELDS = [
  'text',
  'attachments',
  'visibility',
  'visibility_tag',
  'filter_tags',
  'interest_tags',
  'mentioned_user_ids',
  'location',
  'expires_at',
  'parent_id',
  'search_data',
  'restrict_replies',
  'poll_id',
] as const
/** Keys the mapping itself uses: never V3 custom fields. */
const MAPPING_KEYS = new Set([
  'id',
  'actor',
  'verb',
  'object',
  'target',
  'time',
  'foreign_id',
  'to',
  'origin',
  'feeds',
  'v3_id',
  // V3 custom fields named like a mapped field (CUSTOM_ESCAPE).
  'v3_custom',
  'updated_at',
  'edited_at',
  'group',
  'duration',
  // Set only by Eddy on automatic notification activities (v3/notifications.ts).
  'notification_context',
  // Reaction fields V1 reads add.
  'reaction_counts',
  'latest_reactions',
  'own_reactions',
  'latest_reactions_extra',
])
const ALL_KNOWN = new Set<string>([...MAPPING_KEYS, ...V3_FIELDS])
/** Where custom fields named like a mapped field are kept in the engine's activity. */
export const CUSTOM_ESCAPE = 'v3_custom'

/** Whether a V3 custom field is kept under CUSTOM_ESCAPE (its name is a mapped field's). */
export function escapedCustom(name: string): boolean {
  return ALL_KNOWN.has(name)
}

/** The V3 custom fields escaped under CUSTOM_ESCAPE in an engine activity (an own-keys copy). */
export function escapedFields(activity: Record<string, unknown>): Record<string, unknown> {
  const kept = activity[CUSTOM_ESCAPE]
  const out: Record<string, unknown> = {}
  if (kept !== null && typeof kept === 'object' && !Array.isArray(kept))
    for (const [k, v] of Object.entries(kept)) out[k] = v
  return out
}
const ID = /^[\w-]{1,255}$/

/** The V3 id of an engine activity. */
export function v3Id(activity: Activity): string {
  return typeof activity.v3_id === 'string' ? activity.v3_id : activity.id
}

/** The user id of an engine activity's actor (`SU:alice` or `alice`). */
export function actorId(activity: Activity): string {
  return activity.actor.startsWith('SU:') ? activity.actor.slice(3) : activity.actor
}

/** The engine activity input for a V3 ActivityRequest by `userId` (the target feeds go in `to`). */
export function engineInput(
  input: ActivityRequest,
  userId: string,
  feeds: string[],
): Record<string, unknown> {
  if (typeof input.type !== 'string' || input.type === '' || input.type.length > 255)
    throw inputError('type is required: a string of 1 to 255 characters', input.type, 'type')
  const out: Record<string, unknown> = { actor: `SU:${userId}`, verb: input.type, object: input.type }
  if (input.id !== undefined) {
    if (typeof input.id !== 'string' || !ID.test(input.id))
      throw inputError('id must use letters, numbers, - or _ (at most 255)', input.id, 'id')
    out.foreign_id = input.id
    out.v3_id = input.id
  }
  for (const key of V3_FIELDS) {
    const v = input[key]
    if (v !== undefined && v !== null) out[key] = v
  }
  if (out.text !== undefined && typeof out.text !== 'string')
    throw inputError('text must be a string', out.text, 'text')
  if (input.custom !== undefined) {
    if (input.custom === null || typeof input.custom !== 'object' || Array.isArray(input.custom))
      throw inputError('custom must be an object', input.custom, 'custom')
    checkBounds(input.custom, 'custom', 'custom', DOCUMENT_BOUNDS)
    const escaped: Record<string, unknown> = {}
    for (const [k, v] of Object.entries(input.custom)) {
      if (escapedCustom(k)) escaped[k] = v
      else out[k] = v
    }
    if (Object.keys(escaped).length > 0) out[CUSTOM_ESCAPE] = escaped
  }
  out.feeds = feeds
  if (feeds.length > 1) out.to = feeds.slice(1)
  return out
}

/** An engine activity as V3's ActivityResponse (reaction and comment fields empty; see reactions). */
export function activityResponse(
  activity: Activity,
  user: UserResponse,
  currentFeed?: string,
): ActivityResponse {
  const custom: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(activity)) if (!ALL_KNOWN.has(k)) custom[k] = v
  Object.assign(custom, escapedFields(activity))
  const feeds = Array.isArray(activity.feeds)
    ? (activity.feeds as string[])
    : [activity.origin ?? currentFeed, ...(activity.to ?? [])].filter(
        (f): f is string => typeof f === 'string',
      )
  const created = rfc3339(activity.time)
  const out: ActivityResponse = {
    id: v3Id(activity),
    type: activity.verb,
    user,
    feeds,
    custom,
    created_at: created,
    updated_at: typeof activity.updated_at === 'string' ? activity.updated_at : created,
    attachments: Array.isArray(activity.attachments)
      ? (activity.attachments as ActivityResponse['attachments'])
      : [],
    filter_tags: Array.isArray(activity.filter_tags) ? (activity.filter_tags as string[]) : [],
    interest_tags: Array.isArray(activity.interest_tags) ? (activity.interest_tags as string[]) : [],
    mentioned_users: [],
    visibility: (activity.visibility as ActivityResponse['visibility']) ?? 'public',
    restrict_replies: (activity.restrict_replies as ActivityResponse['restrict_replies']) ?? 'everyone',
    search_data: (activity.search_data as Record<string, unknown>) ?? {},
    bookmark_count: 0,
    comment_count: 0,
    comments: [],
    reaction_count: 0,
    reaction_groups: {},
    latest_reactions: [],
    own_reactions: [],
    own_bookmarks: [],
    collections: {},
    hidden: false,
    preview: false,
    popularity: 0,
    score: 0,
    share_count: 0,
  }
  if (typeof activity.text === 'string') out.text = activity.text
  if (typeof activity.edited_at === 'string') out.edited_at = activity.edited_at
  if (typeof activity.expires_at === 'string') out.expires_at = activity.expires_at
  if (typeof activity.visibility_tag === 'string') out.visibility_tag = activity.visibility_tag
  if (activity.notification_context && typeof activity.notification_context === 'object')
    out.notification_context = activity.notification_context as ActivityResponse['notification_context']
  if (typeof activity.parent_id === 'string') (out as { parent_id?: string }).parent_id = activity.parent_id
  return out
}
