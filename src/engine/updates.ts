/** Activity lookups and updates: by id or foreign_id + time, full, partial and `to` targets. */
import { type Activity, parseTargets, prepareActivity, skForForeignId } from './activity.js'
import { type Engine, MAX_BATCH } from './engine.js'
import { EddyError, inputError } from './errors.js'
import type { FeedRef } from './feed-groups.js'
import { requireSk } from './ids.js'

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

const FIXED = new Set(['id', 'foreign_id', 'time', 'to', 'origin'])

function list<T>(value: unknown, field: string): T[] {
  if (!Array.isArray(value) || value.length === 0)
    throw inputError(`${field} must be a non-empty list`, value, field)
  if (value.length > MAX_BATCH)
    throw inputError(`${field} may hold at most ${MAX_BATCH} items`, value.length, field)
  return value as T[]
}

/** Activities by id, in the order asked; unknown ids are left out. */
export async function getActivitiesByIds(engine: Engine, ids: unknown): Promise<Activity[]> {
  const sks = list<unknown>(ids, 'ids').map((id) => requireSk(id, 'ids'))
  const found = await engine.loadActivities(sks)
  return sks.flatMap((sk) => found.get(sk) ?? [])
}

/** Activities by foreign_id + time pairs, in the order asked; unknown pairs are left out. */
export async function getActivitiesByForeignIds(engine: Engine, pairs: unknown): Promise<Activity[]> {
  const sks = list<ForeignIdTime>(pairs, 'foreignIDTimes').map((p) => {
    if (!p || typeof p !== 'object')
      throw inputError('foreignIDTimes items must be { foreignId, time }', p, 'foreignIDTimes')
    return skForForeignId(p.foreign_id ?? p.foreignId, p.time)
  })
  const found = await engine.loadActivities(sks)
  return sks.flatMap((sk) => found.get(sk) ?? [])
}

/** Replaces whole activities, identified by foreign_id + time. */
export async function updateActivities(engine: Engine, activities: unknown): Promise<void> {
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
    return prepareActivity(engine.groups, item, i)
  })
  await engine.replaceActivities(prepared)
}

function setPath(target: Record<string, unknown>, path: string, value: unknown): void {
  const parts = path.split('.')
  let node = target
  for (const part of parts.slice(0, -1)) {
    const next = node[part]
    if (next === null || typeof next !== 'object' || Array.isArray(next)) {
      const created: Record<string, unknown> = {}
      Object.defineProperty(node, part, {
        value: created,
        enumerable: true,
        writable: true,
        configurable: true,
      })
      node = created
    } else node = next as Record<string, unknown>
  }
  Object.defineProperty(node, parts.at(-1)!, { value, enumerable: true, writable: true, configurable: true })
}

function unsetPath(target: Record<string, unknown>, path: string): void {
  const parts = path.split('.')
  let node: unknown = target
  for (const part of parts.slice(0, -1)) {
    if (node === null || typeof node !== 'object') return
    node = (node as Record<string, unknown>)[part]
  }
  if (node !== null && typeof node === 'object') delete (node as Record<string, unknown>)[parts.at(-1)!]
}

function checkPath(path: unknown, field: string): string {
  if (typeof path !== 'string' || path === '' || path.split('.').some((p) => p === '')) {
    throw inputError(`${field} keys must be field names or dotted paths like "author.name"`, path, field)
  }
  const root = path.split('.')[0]
  if (FIXED.has(root)) throw inputError(`${root} cannot be changed by a partial update`, path, field)
  return path
}

/** Applies set/unset changes to activities named by id or foreign_id + time. */
export async function partialUpdate(engine: Engine, changes: unknown): Promise<Activity[]> {
  const items = list<PartialUpdate>(changes, 'changes')
  const sks = items.map((c) => {
    if (!c || typeof c !== 'object')
      throw inputError('each change must be an object with id or foreign_id + time', c, 'changes')
    if (c.id !== undefined) return requireSk(c.id, 'id')
    return skForForeignId(c.foreign_id ?? c.foreignId, c.time)
  })
  const found = await engine.loadActivities(sks)
  const updated = items.map((change, i) => {
    const current = found.get(sks[i])
    if (!current) {
      const name = change.id
        ? `id ${change.id}`
        : `foreign_id ${change.foreign_id ?? change.foreignId}, time ${String(change.time)}`
      throw new EddyError('DoesNotExistException', `no activity has ${name}`)
    }
    const set = change.set ?? {}
    const unset = change.unset ?? []
    if (typeof set !== 'object' || Array.isArray(set))
      throw inputError('set must be an object of path: value', set, 'set')
    if (!Array.isArray(unset)) throw inputError('unset must be a list of paths', unset, 'unset')
    if (Object.keys(set).length === 0 && unset.length === 0)
      throw inputError('a change needs set or unset', change, 'changes')
    const next = structuredClone(current) as Record<string, unknown>
    for (const [path, value] of Object.entries(set)) setPath(next, checkPath(path, 'set'), value)
    for (const path of unset) {
      const p = checkPath(path, 'unset')
      if (['actor', 'verb', 'object'].includes(p))
        throw inputError(`${p} is required and cannot be unset`, p, 'unset')
      unsetPath(next, p)
    }
    // Re-validate through the same path as adds; the id must not move, so time and foreign_id stay.
    return prepareActivity(
      engine.groups,
      { ...next, time: current.time, foreign_id: current.foreign_id },
      undefined,
      sks[i],
    )
  })
  await engine.store.write({
    activities: updated.map((p) => ({ sk: p.sk, body: p.body, foreignId: p.activity.foreign_id })),
  })
  return updated.map((p) => p.activity)
}

/** Result of a `to` targets update. */
export interface TargetsUpdate {
  activity: Activity
  added: string[]
  removed: string[]
}

/** Replaces or edits the `to` targets of the activity with foreign_id + time in `feed`. */
export async function updateToTargets(
  engine: Engine,
  feed: FeedRef,
  foreignId: unknown,
  time: unknown,
  options: { new_targets?: unknown; added_targets?: unknown; removed_targets?: unknown },
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
  const activity = (await engine.loadActivities([sk])).get(sk)
  if (!activity || !(await engine.store.getEntry(feed.id, sk))) {
    throw new EddyError(
      'DoesNotExistException',
      `activity is not found for the couple foreign_id=${String(foreignId)}, time=${String(time)} in feed ${feed.id}`,
    )
  }
  const current = new Set(activity.to ?? [])
  let wanted: Set<string>
  if (new_targets !== undefined) {
    wanted = new Set(parseTargets(engine.groups, new_targets, 'new_targets').map((t) => t.id))
  } else {
    const add = parseTargets(engine.groups, added_targets, 'added_targets').map((t) => t.id)
    const remove = parseTargets(engine.groups, removed_targets, 'removed_targets').map((t) => t.id)
    const both = add.filter((id) => remove.includes(id))
    if (both.length > 0) throw inputError('a feed cannot be both added and removed', both, 'added_targets')
    wanted = new Set([...current, ...add].filter((id) => !remove.includes(id)))
  }
  const added = [...wanted].filter((id) => !current.has(id) && id !== feed.id)
  const removed = [...current].filter((id) => !wanted.has(id))
  const next: Activity = { ...activity }
  if (wanted.size > 0) next.to = [...wanted]
  else delete next.to
  await engine.setTargets(
    next,
    sk,
    added.map((id) => engine.parseFeed(id)),
    removed.map((id) => engine.parseFeed(id)),
  )
  return { activity: next, added, removed }
}
