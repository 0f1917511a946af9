/**
 * Follow edges, indexed both ways: by target (its followers) and by source (what it follows).
 * Each side keeps the other ends in name order (fan-out reads the followers after a cursor with
 * a binary search), the edges in (created_at, sequence) order (listings read newest first from
 * the end) and a count per slug (follow counts by slug are O(1) per slug).
 */
import assert from 'node:assert/strict'
import type { FollowEdge, FollowQuery, FollowRow } from '../store.js'
import { insertKey, removeKey, search, upperBound } from './sorted.js'
import { type FollowRecord, type FollowSide, type MemoryState, slugOf } from './state.js'
import type { UndoLog } from './undo-log.js'

type Direction = 'followers' | 'following'

/** Edge order: by created_at, then by creation sequence (same time: the later edge is newer). */
function older(a: FollowRecord, b: FollowRecord): boolean {
  return a.created_at < b.created_at || (a.created_at === b.created_at && a.seq < b.seq)
}

/** Where `record` is (or belongs) in edges sorted by {@link older}: a binary search. */
function positionOf(byTime: FollowRecord[], record: FollowRecord): number {
  return search(byTime, (r) => older(r, record))
}

function row(r: FollowRecord): FollowRow {
  return { source: r.source, target: r.target, createdAt: r.created_at, updatedAt: r.updated_at }
}

/** The store's follow edges. */
export class MemoryFollowEdges {
  readonly #state: Pick<MemoryState, 'followers' | 'following' | 'counters'>
  readonly #undo: UndoLog

  constructor(state: Pick<MemoryState, 'followers' | 'following' | 'counters'>, undo: UndoLog) {
    this.#state = state
    this.#undo = undo
  }

  /** Whether `edge` exists. */
  has(edge: FollowEdge): boolean {
    return this.#state.following.get(edge.source)?.edges.has(edge.target) ?? false
  }

  /** Creates an edge, or refreshes the `updated_at` of an existing one (its `created_at` stays). */
  follow(edge: FollowEdge, now: string): void {
    const existing = this.#state.following.get(edge.source)?.edges.get(edge.target)
    if (existing) {
      this.#undo.assign(existing, 'updated_at', now)
      return
    }
    const counters = this.#state.counters
    this.#undo.assign(counters, 'followSeq', counters.followSeq + 1)
    const record: FollowRecord = {
      source: edge.source,
      target: edge.target,
      created_at: now,
      updated_at: now,
      seq: counters.followSeq,
    }
    this.#attach(this.#state.followers, edge.target, edge.source, record)
    this.#attach(this.#state.following, edge.source, edge.target, record)
  }

  /** Deletes an edge when it exists. */
  unfollow(edge: FollowEdge): void {
    const record = this.#state.following.get(edge.source)?.edges.get(edge.target)
    if (!record) return
    this.#detach(this.#state.followers, edge.target, edge.source, record)
    this.#detach(this.#state.following, edge.source, edge.target, record)
  }

  /** Up to `limit` followers of `target` after `cursor` (null: from the first), in name order. */
  followersAfter(target: string, cursor: string | null, limit: number): string[] {
    const names = this.#state.followers.get(target)?.names
    if (!names) return []
    const from = cursor === null ? 0 : upperBound(names, cursor)
    return names.slice(from, from + limit)
  }

  /** Edges of `feed` in one direction, newest follow first, with offset, limit and filter. */
  list(feed: string, direction: Direction, query: FollowQuery): FollowRow[] {
    const side = this.#state[direction].get(feed)
    if (!side || query.limit <= 0) return []
    const offset = Math.max(0, query.offset)
    if (query.filter && query.filter.length > 0) {
      // The filter is short and the list may be long: look each listed feed up, then sort.
      const found: FollowRecord[] = []
      for (const other of new Set(query.filter)) {
        const record = side.edges.get(other)
        if (record) found.push(record)
      }
      found.sort((a, b) => (older(a, b) ? 1 : -1))
      return found.slice(offset, offset + query.limit).map(row)
    }
    const out: FollowRow[] = []
    for (let i = side.byTime.length - 1 - offset; i >= 0 && out.length < query.limit; i--) {
      out.push(row(side.byTime[i]))
    }
    return out
  }

  /** How many edges `feed` has in one direction whose other end has one of `slugs` (`[]`: all). */
  count(feed: string, direction: Direction, slugs: string[]): number {
    const side = this.#state[direction].get(feed)
    if (!side) return 0
    if (slugs.length === 0) return side.edges.size
    let n = 0
    for (const slug of new Set(slugs)) n += side.slugs.get(slug) ?? 0
    return n
  }

  #attach(sides: Map<string, FollowSide>, feed: string, other: string, record: FollowRecord): void {
    const undo = this.#undo
    let side = sides.get(feed)
    if (!side) {
      side = { edges: new Map(), names: [], byTime: [], slugs: new Map() }
      undo.set(sides, feed, side)
    }
    undo.set(side.edges, other, record)
    insertKey(side.names, other, undo)
    const byTime = side.byTime
    byTime.splice(positionOf(byTime, record), 0, record)
    undo.record(() => byTime.splice(positionOf(byTime, record), 1))
    const slug = slugOf(other)
    if (slug !== undefined) undo.set(side.slugs, slug, (side.slugs.get(slug) ?? 0) + 1)
  }

  #detach(sides: Map<string, FollowSide>, feed: string, other: string, record: FollowRecord): void {
    const undo = this.#undo
    const side = sides.get(feed)
    assert(side, `memory store: no follow side for ${feed}`)
    undo.delete(side.edges, other)
    removeKey(side.names, other, undo)
    const byTime = side.byTime
    byTime.splice(positionOf(byTime, record), 1)
    undo.record(() => byTime.splice(positionOf(byTime, record), 0, record))
    const slug = slugOf(other)
    if (slug !== undefined) {
      const n = (side.slugs.get(slug) ?? 1) - 1
      if (n <= 0) undo.delete(side.slugs, slug)
      else undo.set(side.slugs, slug, n)
    }
    if (side.edges.size === 0) undo.delete(sides, feed)
  }
}
