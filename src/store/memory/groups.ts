/**
 * Group state of aggregated and notification feeds (rules G1–G6 in `../shared/group-state.ts`):
 * joining and leaving groups, dropping them, marking them seen or read. A group holds its entries
 * and per-actor tallies, from which `groupCounters` derives its state at read time. Each
 * operation changes O(1) records plus the binary-searched position of a group in the feed's
 * group order, and logs its inverses.
 */
import { FLAGS_AFTER_JOIN } from '../shared/group-state.js'
import type { MarkTarget } from '../store.js'
import { insertKey, removeKey, search } from './sorted.js'
import type { GroupRecord, Timeline } from './state.js'
import type { UndoLog } from './undo-log.js'

/** A group's newest sort key. */
export function lastOf(group: GroupRecord): string {
  return group.sks[group.sks.length - 1]
}

/** Takes `group` out of the feed's group order (before its newest sort key changes). */
function detach(t: Timeline, group: GroupRecord, undo: UndoLog): void {
  const i = search(t.groupOrder, (g) => lastOf(g) < lastOf(group))
  if (t.groupOrder[i] !== group) throw new Error(`memory store: group ${group.key} is out of order`)
  t.groupOrder.splice(i, 1)
  undo.record(() => attachNow(t, group))
}

/** Puts `group` into the feed's group order at its newest sort key. */
function attach(t: Timeline, group: GroupRecord, undo: UndoLog): void {
  attachNow(t, group)
  undo.record(() =>
    t.groupOrder.splice(
      search(t.groupOrder, (g) => lastOf(g) < lastOf(group)),
      1,
    ),
  )
}

function attachNow(t: Timeline, group: GroupRecord): void {
  const last = lastOf(group)
  const order = t.groupOrder
  // A new activity usually makes its group the newest one.
  if (order.length === 0 || lastOf(order[order.length - 1]) < last) order.push(group)
  else
    order.splice(
      search(order, (g) => lastOf(g) < last),
      0,
      group,
    )
}

function setAdd(set: Set<string>, key: string, undo: UndoLog): void {
  if (set.has(key)) return
  set.add(key)
  undo.record(() => set.delete(key))
}

function setDelete(set: Set<string>, key: string, undo: UndoLog): void {
  if (!set.delete(key)) return
  undo.record(() => set.add(key))
}

/**
 * G2: adds entry `sk` (new to the feed) to group `key`, creating the group with id `groupId` when
 * it does not exist, and gives the group {@link FLAGS_AFTER_JOIN} (unseen and unread again).
 */
export function joinGroup(
  t: Timeline,
  key: string,
  sk: string,
  actor: string,
  groupId: string,
  undo: UndoLog,
): void {
  let group = t.groups.get(key)
  let moves = true
  if (!group) {
    group = { id: groupId, key, sks: [], actors: new Map() }
    undo.set(t.groups, key, group)
    let keys = t.byId.get(groupId)
    if (!keys) {
      keys = new Set()
      undo.set(t.byId, groupId, keys)
    }
    setAdd(keys, key, undo)
  } else if (lastOf(group) < sk) detach(t, group, undo)
  else moves = false
  insertKey(group.sks, sk, undo)
  undo.set(group.actors, actor, (group.actors.get(actor) ?? 0) + 1)
  if (moves) attach(t, group, undo)
  if (!FLAGS_AFTER_JOIN.seen) setAdd(t.unseen, key, undo)
  if (!FLAGS_AFTER_JOIN.read) setAdd(t.unread, key, undo)
}

/** G3: takes entry `sk` of `actor` out of group `key`; a group left empty is dropped. */
export function leaveGroup(t: Timeline, key: string, sk: string, actor: string, undo: UndoLog): void {
  const group = t.groups.get(key)
  if (!group) return
  if (group.sks.length === 1 && group.sks[0] === sk) {
    dropGroup(t, group, undo)
    return
  }
  const wasLast = lastOf(group) === sk
  if (wasLast) detach(t, group, undo)
  removeKey(group.sks, sk, undo)
  const n = (group.actors.get(actor) ?? 1) - 1
  if (n <= 0) undo.delete(group.actors, actor)
  else undo.set(group.actors, actor, n)
  if (wasLast) attach(t, group, undo)
}

/** Removes a group and its flags from the feed (its entries are the caller's business). */
export function dropGroup(t: Timeline, group: GroupRecord, undo: UndoLog): void {
  detach(t, group, undo)
  undo.delete(t.groups, group.key)
  const keys = t.byId.get(group.id)
  if (keys) {
    setDelete(keys, group.key, undo)
    if (keys.size === 0) undo.delete(t.byId, group.id)
  }
  setDelete(t.unseen, group.key, undo)
  setDelete(t.unread, group.key, undo)
}

/** The newest sort key of the feed's group with id `id` (the newest such group), if any. */
export function groupLastSk(t: Timeline, id: string): string | undefined {
  let last: string | undefined
  for (const key of t.byId.get(id) ?? []) {
    const group = t.groups.get(key)
    if (group && (last === undefined || lastOf(group) > last)) last = lastOf(group)
  }
  return last
}

/** G5: marks groups seen (`field` 'unseen') or read ('unread'): all of them, or those with the given ids. */
export function markGroups(t: Timeline, field: 'unseen' | 'unread', target: MarkTarget, undo: UndoLog): void {
  if (target === true) {
    // One record however many groups: the whole set is replaced, and put back on undo.
    if (t[field].size > 0) undo.assign(t, field, new Set<string>())
    return
  }
  for (const id of target) for (const key of t.byId.get(id) ?? []) setDelete(t[field], key, undo)
}
