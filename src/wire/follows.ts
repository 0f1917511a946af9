/** Stream v1's follow relation, as `followers()`/`following()` and `GET feed/…/followers/` list it. */
import type { FollowRow } from '../store/store.js'

/** One follow relation as listed by `followers()` and `following()`. */
export interface FollowRelation {
  feed_id: string
  target_id: string
  created_at: string
  updated_at: string
}

/** Maps the engine's follow rows to Stream's relation shape. */
export function relations(rows: FollowRow[]): FollowRelation[] {
  return rows.map((r) => ({
    feed_id: r.source,
    target_id: r.target,
    created_at: r.createdAt,
    updated_at: r.updatedAt,
  }))
}
