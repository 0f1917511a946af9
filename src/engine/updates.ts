/** Activity lookups and updates: by id or foreign_id + time, full, partial and `to` targets. */
import {
  type Activity,
  type PreparedActivity,
  parseTargets,
  prepareActivity,
  skForForeignId,
} from './activity.js'
import { MAX_BATCH, replaceActivities } from './activity-writes.js'
import type { EngineContext } from './context.js'
import { EddyError, inputError, notAllowed } from './errors.js'
import type { FeedRef } from './feed-groups.js'
import { requireSk } from './ids.js'
import { untilCommitted } from './optimistic.js'
import { checkPath, setPath, unsetPath } from './paths.js'
import { requireActorKept, requireAllowedTargets, requireOwnActivity } from './policy.js'
import { setTargets } from './targets.js'

/** A foreign id and time pair naming an activity. */
export interface ForeignIdTime {
  foreignId?: string
  foreign_id?: string
  time: string | Date
}

/** Identifies an activity for a partial update: `id`, or `foreign_id` (`foreignId`) + `time`. */
export interface PartialUpdate {
  id?: string
  foreign_id?: string
  foreignId?: string
  time?: string | Date
  set?: Record<string, unknown>
  unset?: string[]
}

function list<T>(value: unknown, field: string): T[] {
  if (!Array.isArray(value) || value.length === 0)
    throw inputError(`${field} must be a non-empty list`, value, field)
  if (value.length > MAX_BATCH)
    throw inputError(`${field} may hold at most ${MAX_BATCH} items`, value.length, field)
  return value as T[]
}

/** Activities by id, in the order asked; unknown ids are left out. */
export async function getActivitiesByIds(ctx: EngineContext, ids: unknown): Promise<Activity[]> {
  const sks = list<unknown>(ids, 'ids').map((id) => requireSk(id, 'ids'))
  const found = await ctx.loadActivities(sks)
  return sks.flatMap((sk) => found.get(sk) ?? [])
}

/** Activities by foreign_id + time pairs, in the order asked; unknown pairs are left out. */
export async function getActivitiesByForeignIds(ctx: EngineContext, pairs: unknown): Promise<Activity[]> {
  const sks = list<ForeignIdTime>(pairs, 'foreignIDTimes').map((p) => {
    if (!p || typeof p !== 'object')
      throw inputError('foreignIDTimes items must be { foreignId, time }', p, 'foreignIDTimes')
    return skForForeignId(p.foreign_id ?? p.foreignId, p.time)
  })
  const found = await ctx.loadActivities(sks)
  return sks.flatMap((sk) => found.get(sk) ?? [])
}

/** Replaces whole activities, identified by foreign_id + time. */
export async function updateActivities(ctx: EngineContext, activities: unknown): Promise<void> {
  const items = list<Record<string, unknown>>(activities, 'activities')
  const prepared = items.map((item, i) => {
    if (!item || typeof item !== 'object')
      throw inputError('each activity must be an object', item, 'activities')
    if (item.foreign_id === undefined || item.foreign_id === null || item.foreign_id === '') {
      throw inputError(
        `an updated activity needs its foreign_id (activity ${i})`,
        item.foreign_id,
        'foreign_id',
      )
    }
    if (item.time === undefined || item.time === null || item.time === '') {
      throw inputError(`an updated activity needs its time (activity ${i})`, item.time, 'time')
    }
    return prepareActivity(ctx.groups, item, i)
  })
  await replaceActivities(ctx, prepared)
}

/**
 * Applies set/unset changes to activities named by id or foreign_id + time, as one optimistic
 * read-modify-write (a concurrent change to the same activity, from any process, is never lost).
 * With `user` (a user acting as themself), every activity must be that user's and its actor
 * cannot change.
 */
export async function partialUpdate(
  ctx: EngineContext,
  changes: unknown,
  user?: string,
): Promise<Activity[]> {
  const items = list<PartialUpdate>(changes, 'changes')
  const sks = items.map((c) => {
    if (!c || typeof c !== 'object')
      throw inputError('each change must be an object with id or foreign_id + time', c, 'changes')
    if (c.id !== undefined) return requireSk(c.id, 'id')
    return skForForeignId(c.foreign_id ?? c.foreignId, c.time)
  })
  return untilCommitted(async () => {
    const found = await ctx.loadStored(sks)
    // Several changes to one activity apply in order, each to the result of the one before.
    const latest = new Map<string, { previous: string; prepared: PreparedActivity }>()
    items.forEach((change, i) => {
      const stored = found.get(sks[i])
      if (!stored) {
        const name = change.id
          ? `id ${change.id}`
          : `foreign_id ${change.foreign_id ?? change.foreignId}, time ${String(change.time)}`
        throw new EddyError('DoesNotExistException', `no activity has ${name}`)
      }
      const before = latest.get(sks[i])
      const activity = before ? before.prepared.activity : stored.activity
      if (user !== undefined) requireOwnActivity(activity, user)
      const prepared = applyChange(ctx, activity, change, sks[i], user)
      latest.set(sks[i], { previous: before ? before.previous : stored.body, prepared })
    })
    await ctx.writeBodies([...latest.values()], user)
    // Every sk was set above (a missing one threw), each to its activity after all its changes.
    return sks.flatMap((sk) => {
      const entry = latest.get(sk)
      return entry ? [{ ...entry.prepared.activity }] : []
    })
  })
}

/** One change applied to a copy of `current`, re-validated as an add would be. */
function applyChange(
  ctx: EngineContext,
  current: Activity,
  change: PartialUpdate,
  sk: string,
  user: string | undefined,
): PreparedActivity {
  const set = change.set ?? {}
  const unset = change.unset ?? []
  if (set === null || typeof set !== 'object' || Array.isArray(set))
    throw inputError('set must be an object of path: value', set, 'set')
  if (!Array.isArray(unset)) throw inputError('unset must be a list of paths', unset, 'unset')
  if (Object.keys(set).length === 0 && unset.length === 0)
    throw inputError('a change needs set or unset', change, 'changes')
  // A fresh parse of the stored text: nothing shared with `current`, no structuredClone recursion.
  const next = JSON.parse(JSON.stringify(current)) as Record<string, unknown>
  for (const [path, value] of Object.entries(set)) {
    const p = checkPath(path, 'set')
    if (user !== undefined) requireActorKept(current, p, value)
    setPath(next, p, value)
  }
  for (const path of unset) {
    const p = checkPath(path, 'unset')
    if (['actor', 'verb', 'object'].includes(p))
      throw inputError(`${p} is required and cannot be unset`, p, 'unset')
    if (user !== undefined) requireActorKept(current, p, undefined)
    unsetPath(next, p)
  }
  // Re-validate through the same path as adds; the id must not move, so time and foreign_id stay.
  return prepareActivity(
    ctx.groups,
    { ...next, time: current.time, foreign_id: current.foreign_id },
    undefined,
    sk,
  )
}

/** Result of a `to` targets update. */
export interface TargetsUpdate {
  activity: Activity
  added: string[]
  removed: string[]
}

/**
 * Replaces or edits the `to` targets of the activity with foreign_id + time in `feed`, as one
 * optimistic read-modify-write. With `user`, the activity must be that user's, added to `feed`
 * directly, and new targets must be the user's own feeds or notification feeds.
 */
export async function updateToTargets(
  ctx: EngineContext,
  feed: FeedRef,
  foreignId: unknown,
  time: unknown,
  options: { new_targets?: unknown; added_targets?: unknown; removed_targets?: unknown },
  user?: string,
): Promise<TargetsUpdate> {
  const sk = skForForeignId(foreignId, time)
  const { new_targets, added_targets, removed_targets } = options
  if (new_targets === undefined && added_targets === undefined && removed_targets === undefined) {
    throw inputError('give new_targets, or added_targets and/or removed_targets', options, 'targets')
  }
  if (new_targets !== undefined && (added_targets !== undefined || removed_targets !== undefined)) {
    throw inputError(
      'new_targets cannot be combined with added_targets or removed_targets',
      options,
      'new_targets',
    )
  }
  return untilCommitted(async () => {
    const stored = (await ctx.loadStored([sk])).get(sk)
    const entry = stored && (await ctx.getEntries(feed, [sk])).get(sk)
    // A user may re-target only its own activity, where it was added directly (not a copy).
    if (stored && entry && user !== undefined) {
      requireOwnActivity(stored.activity, user)
      if (entry.origin !== null) throw notAllowed()
    }
    if (!stored || !entry) {
      throw new EddyError(
        'DoesNotExistException',
        `activity is not found for the couple foreign_id=${String(foreignId)}, time=${String(time)} in feed ${feed.id}`,
      )
    }
    const activity = stored.activity
    const current = new Set(activity.to ?? [])
    let wanted: Set<string>
    if (new_targets !== undefined) {
      const targets = parseTargets(ctx.groups, new_targets, 'new_targets')
      if (user !== undefined) requireAllowedTargets(targets, user)
      wanted = new Set(targets.map((t) => t.id))
    } else {
      const adding = parseTargets(ctx.groups, added_targets, 'added_targets')
      if (user !== undefined) requireAllowedTargets(adding, user)
      const add = adding.map((t) => t.id)
      const remove = parseTargets(ctx.groups, removed_targets, 'removed_targets').map((t) => t.id)
      const both = add.filter((id) => remove.includes(id))
      if (both.length > 0) throw inputError('a feed cannot be both added and removed', both, 'added_targets')
      wanted = new Set([...current, ...add].filter((id) => !remove.includes(id)))
    }
    const added = [...wanted].filter((id) => !current.has(id) && id !== feed.id)
    const removed = [...current].filter((id) => !wanted.has(id))
    const next: Activity = { ...activity }
    if (wanted.size > 0) next.to = [...wanted]
    else delete next.to
    await setTargets(
      ctx,
      next,
      sk,
      added.map((id) => ctx.parseFeed(id)),
      removed.map((id) => ctx.parseFeed(id)),
      stored.body,
    )
    return { activity: next, added, removed }
  })
}
