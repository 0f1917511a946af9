/**
 * V3's UpdateActivitiesPartialBatch: set/unset on 1 to 100 activities, each checked as
 * UpdateActivityPartial checks one. As Stream's spec says, an activity that is not found or
 * that the caller may not change (a user token: only its own) is skipped and left out of the
 * answer, while an invalid change (an unknown or reserved field, a bad value, a size limit)
 * fails the whole batch before anything is written; the changes then apply in one engine
 * partialUpdate (one optimistic read-modify-write).
 */
import { EddyError, inputError } from '../engine/errors.js'
import {
  activityResponses,
  announceUpdate,
  type EngineChange,
  findActivity,
  partialChange,
  requireChangeable,
} from './activities.js'
import { type Edge, v3route } from './http.js'
import type { Hub } from './hub.js'

/** Most activities one batch changes. */
export const MAX_PARTIAL_BATCH = 100

/** Registers UpdateActivitiesPartialBatch. */
export function activityPartialBatchRoutes(edge: Edge, hub: Hub): void {
  const { ctx } = edge
  v3route(edge, 'PATCH', '/feeds/activities/batch/partial', async ({ caller, body }) => {
    const list = body.changes
    if (!Array.isArray(list) || list.length === 0 || list.length > MAX_PARTIAL_BATCH)
      throw inputError(`changes must list 1 to ${MAX_PARTIAL_BATCH} changes`, list, 'changes')
    const changes: EngineChange[] = []
    const named = new Set<string>()
    for (const [i, item] of list.entries()) {
      const where = `changes[${i}].`
      if (item === null || typeof item !== 'object' || Array.isArray(item))
        throw inputError('each change is an object with activity_id, set and unset', item, `changes[${i}]`)
      const { activity_id: id, set = {}, unset = [] } = item as Record<string, unknown>
      if (typeof id !== 'string' || id === '' || id.length > 255)
        throw inputError('activity_id must be an activity id', id, `${where}activity_id`)
      if (named.has(id)) throw inputError('each activity is changed once a batch', id, `${where}activity_id`)
      named.add(id)
      if (set === null || typeof set !== 'object' || Array.isArray(set))
        throw inputError('set must be an object', set, `${where}set`)
      if (!Array.isArray(unset))
        throw inputError('unset must be a list of field names', unset, `${where}unset`)
      const activity = await findActivity(ctx, id)
      if (activity === undefined) continue
      try {
        await requireChangeable(ctx, caller, activity)
      } catch (err) {
        // Permission denied: skipped; anything else (a store failing) fails the batch.
        if (err instanceof EddyError && err.exception === 'NotAllowedException') continue
        throw err
      }
      // A change with nothing to set or unset changes nothing: skipped, as Stream does.
      if (Object.keys(set).length === 0 && unset.length === 0) continue
      changes.push(partialChange(activity, set as Record<string, unknown>, unset, where))
    }
    if (changes.length === 0) return { activities: [] }
    const updated = await ctx.engine.partialUpdate(changes)
    const activities = await activityResponses(ctx, updated)
    for (const [i, activity] of updated.entries()) announceUpdate(hub, activity, activities[i])
    return { activities }
  })
}
