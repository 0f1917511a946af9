/**
 * Timeline reads: flat pages, group pages and the newest entries of a feed. Each finds its
 * window by binary search and then touches only the rows it returns (plus the offset).
 */
import { groupCounters } from '../shared/group-state.js'
import type { FlatEntry, GroupPageQuery, GroupRow, PageQuery } from '../store.js'
import { groupLastSk, lastOf } from './groups.js'
import { type Bounds, pageDescending } from './sorted.js'
import type { Timeline } from './state.js'

/** Gives an activity's body by sort key ('null' when it is gone). */
export type BodyOf = (sk: string) => string

function flatEntry(t: Timeline, sk: string, bodyOf: BodyOf): FlatEntry {
  return { sk, origin: t.entries.get(sk)?.origin ?? null, body: bodyOf(sk) }
}

/** A page of a flat feed, newest first. */
export function readFlat(t: Timeline | undefined, page: PageQuery, bodyOf: BodyOf): FlatEntry[] {
  if (!t || page.limit <= 0) return []
  return pageDescending(t.order, (sk) => sk, page, page.offset, page.limit).map((sk) =>
    flatEntry(t, sk, bodyOf),
  )
}

/** The newest `limit` sort keys of a feed. */
export function newestEntries(t: Timeline | undefined, limit: number): string[] {
  if (!t || limit <= 0) return []
  return t.order.slice(-limit).reverse()
}

/** A page of groups by newest activity, each with its newest `perGroup` activities. */
export function readGroupPage(
  t: Timeline | undefined,
  page: GroupPageQuery,
  perGroup: number,
  bodyOf: BodyOf,
): GroupRow[] {
  if (!t || page.limit <= 0) return []
  // G6: a cursor names a group: its current newest sort key, else the sort key the engine gave.
  const bounds: Bounds = {}
  for (const bound of ['lt', 'lte', 'gt', 'gte'] as const) {
    const cursor = page[bound]
    if (cursor) bounds[bound] = groupLastSk(t, cursor.id) ?? cursor.sk
  }
  return pageDescending(t.groupOrder, lastOf, bounds, page.offset, page.limit).map((g) => ({
    ...groupCounters(g.id, g.sks, g.actors),
    group: g.key,
    seen: !t.unseen.has(g.key),
    read: !t.unread.has(g.key),
    activities: perGroup <= 0 ? [] : newestOf(g.sks, perGroup).map((sk) => flatEntry(t, sk, bodyOf)),
  }))
}

function newestOf(sks: string[], n: number): string[] {
  return sks.slice(-n).reverse()
}
