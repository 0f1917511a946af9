/**
 * What a reaction is made of: the input shapes the clients send, their validation (data size
 * and depth, chosen ids), creation times, and the activity that stands for a reaction in its
 * target feeds.
 */
import { type PreparedActivity, prepareActivity, skForForeignId } from './activity.js'
import { checkBounds } from './bounds.js'
import { inputError } from './errors.js'
import type { FeedGroup } from './feed-groups.js'
import { REACTION_PREFIX } from './policy.js'
import type { ReactionRecord } from './reaction-model.js'
import { nowMicros } from './time.js'

/** Largest reaction `data`, in bytes of JSON (as for user data and collection entries). */
export const MAX_REACTION_DATA_BYTES = 10_240
/** Reaction ids a caller may choose: letters, digits, - and _. */
export const REACTION_ID = /^[\w-]{1,255}$/

/** A reaction to add, as the official client sends it. */
export interface ReactionInput {
  kind?: unknown
  activity_id?: unknown
  parent?: unknown
  data?: unknown
  id?: unknown
  user_id?: unknown
  target_feeds?: unknown
  target_feeds_extra_data?: unknown
}

/** A change to a reaction: new data, and the target feeds it should now be in. */
export interface ReactionChange {
  data?: unknown
  target_feeds?: unknown
  target_feeds_extra_data?: unknown
}

let lastMicros = 0
/** Now in microseconds, strictly increasing within the process, so reactions order as made. */
export function nextMicros(): number {
  const now = nowMicros()
  lastMicros = now > lastMicros ? now : lastMicros + 1
  return lastMicros
}

/** Validates reaction data (or extra data): an object within the size and depth limits. */
export function dataOf(value: unknown, field: string): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    throw inputError(`${field} must be an object`, value, field)
  checkBounds(value, field, field)
  const bytes = Buffer.byteLength(JSON.stringify(value))
  if (bytes > MAX_REACTION_DATA_BYTES)
    throw inputError(
      `${field} must be at most ${MAX_REACTION_DATA_BYTES} bytes of JSON`,
      `${bytes} bytes`,
      field,
    )
  return value as Record<string, unknown>
}

/** The activity a reaction is in its target feeds; validated like any add. */
export function targetActivity(groups: ReadonlyMap<string, FeedGroup>, r: ReactionRecord): PreparedActivity {
  return prepareActivity(groups, {
    ...(r.target_feeds_extra_data ?? {}),
    actor: `SU:${r.user_id}`,
    verb: r.kind,
    object: `SA:${r.activity_id}`,
    target: '',
    foreign_id: `${REACTION_PREFIX}${r.id}`,
    time: r.created_at.slice(0, -1),
    reaction: `SR:${r.id}`,
    to: undefined,
  })
}

/** The sort key of a reaction's target-feed activity. */
export function targetSk(r: ReactionRecord): string {
  return skForForeignId(`${REACTION_PREFIX}${r.id}`, r.created_at.slice(0, -1))
}
