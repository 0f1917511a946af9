/**
 * What every SQL store does the same way with reaction rows: the row as SQL returns it and its
 * mapping to the seam's `StoredReaction` (SQLite answers `deleted` as 0/1, PostgreSQL as a boolean).
 */
import type { StoredReaction } from './store.js'

/** A `reactions` table row as SQL returns it. */
export interface ReactionRow {
  id: string
  rk: string
  activity_id: string
  parent: string
  user_id: string
  kind: string
  body: string
  deleted: boolean | number
}

/** A stored row as the seam's `StoredReaction`. */
export function toReaction(r: ReactionRow): StoredReaction {
  return {
    id: r.id,
    rk: r.rk,
    activityId: r.activity_id,
    parent: r.parent,
    userId: r.user_id,
    kind: r.kind,
    body: r.body,
    deleted: Boolean(r.deleted),
  }
}
