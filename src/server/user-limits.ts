/**
 * How much one user-token request may ask of the server. A user token is in every client's
 * hands, and the SQLite store serves one write at a time, so a user's batch is bounded by what it
 * costs everyone else: 100 activities × 100 `to` targets each held other requests 350–830 ms.
 * Server tokens keep Stream's limits (100 activities, each with up to 100 targets).
 */
import { inputError } from '../engine/errors.js'
import { type Principal, userOf } from './auth.js'

/** Most `to` targets a user token's add may name, counted over every activity of the batch. */
export const MAX_USER_BATCH_TARGETS = 100

/** Most target changes (new, added and removed) a user token's to-targets call may carry in total. */
export const MAX_USER_TARGET_CHANGES = 100

function count(value: unknown): number {
  return Array.isArray(value) ? value.length : 0
}

function field(item: unknown, name: string): unknown {
  return item !== null && typeof item === 'object' ? (item as Record<string, unknown>)[name] : undefined
}

/** Throws 400 when a user token's batch add names more than {@link MAX_USER_BATCH_TARGETS} targets. */
export function checkUserBatch(principal: Principal, activities: unknown[]): void {
  if (userOf(principal) === undefined) return
  let total = 0
  for (const activity of activities) total += count(field(activity, 'to'))
  if (total > MAX_USER_BATCH_TARGETS) {
    throw inputError(
      `a user token's batch may name at most ${MAX_USER_BATCH_TARGETS} to targets over all its activities (a server token may name 100 per activity); split the batch`,
      total,
      'to',
    )
  }
}

/** Throws 400 when a user token's to-targets call changes more than {@link MAX_USER_TARGET_CHANGES} targets. */
export function checkUserTargetUpdates(principal: Principal, items: unknown[]): void {
  if (userOf(principal) === undefined) return
  let total = 0
  for (const item of items) {
    for (const name of ['new_targets', 'added_targets', 'removed_targets']) total += count(field(item, name))
  }
  if (total > MAX_USER_TARGET_CHANGES) {
    throw inputError(
      `a user token's to-targets call may change at most ${MAX_USER_TARGET_CHANGES} targets in total (a server token may change 100 per list); split the call`,
      total,
      'new_targets',
    )
  }
}
