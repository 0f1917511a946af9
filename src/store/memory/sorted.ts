/**
 * Sorted arrays: binary search, insertion and removal, and page windows. Timelines are mostly
 * appended to (a new activity is the newest), where insertion is O(1); elsewhere it moves the
 * tail of the array (a memmove, about 1 us for 5,000 keys), never copies it.
 */
import type { UndoLog } from './undo-log.js'

/** The first index whose item is not `before` the probe (items sorted so `before` holds for a prefix). */
export function search<T>(items: readonly T[], before: (item: T) => boolean): number {
  let lo = 0
  let hi = items.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (before(items[mid])) lo = mid + 1
    else hi = mid
  }
  return lo
}

/** Index of the first key >= `key` in ascending `keys`. */
export function lowerBound(keys: readonly string[], key: string): number {
  return search(keys, (k) => k < key)
}

/** Index of the first key > `key` in ascending `keys`. */
export function upperBound(keys: readonly string[], key: string): number {
  return search(keys, (k) => k <= key)
}

/** Inserts `key` into ascending `keys` (absent before), recording its removal. */
export function insertKey(keys: string[], key: string, undo: UndoLog): void {
  // Appending is the common case: a new activity is the newest of its feed.
  if (keys.length === 0 || keys[keys.length - 1] < key) {
    keys.push(key)
    undo.record(() => keys.pop())
    return
  }
  keys.splice(lowerBound(keys, key), 0, key)
  undo.record(() => keys.splice(lowerBound(keys, key), 1))
}

/** Removes `key` from ascending `keys` when present, recording its reinsertion. */
export function removeKey(keys: string[], key: string, undo: UndoLog): boolean {
  const i = lowerBound(keys, key)
  if (keys[i] !== key) return false
  keys.splice(i, 1)
  undo.record(() => keys.splice(lowerBound(keys, key), 0, key))
  return true
}

/** Lower and upper bounds of a page, as keys; both optional. */
export interface Bounds {
  lt?: string
  lte?: string
  gt?: string
  gte?: string
}

/**
 * The items of ascending `items` within `bounds`, newest (highest key) first, after skipping
 * `offset` and taking at most `limit`: O(log n + offset + limit).
 */
export function pageDescending<T>(
  items: readonly T[],
  keyOf: (item: T) => string,
  bounds: Bounds,
  offset: number,
  limit: number,
): T[] {
  let from = 0
  let to = items.length
  const { lt, lte, gt, gte } = bounds
  if (gt !== undefined)
    from = Math.max(
      from,
      search(items, (i) => keyOf(i) <= gt),
    )
  if (gte !== undefined)
    from = Math.max(
      from,
      search(items, (i) => keyOf(i) < gte),
    )
  if (lt !== undefined)
    to = Math.min(
      to,
      search(items, (i) => keyOf(i) < lt),
    )
  if (lte !== undefined)
    to = Math.min(
      to,
      search(items, (i) => keyOf(i) <= lte),
    )
  const out: T[] = []
  for (let i = to - 1 - Math.max(0, offset); i >= from && out.length < limit; i--) out.push(items[i])
  return out
}
