/**
 * The shape of a Feeds V3 follow as the engine keeps it beside its follow edge (status, custom
 * data, push preference, role), and the pure checks of what a caller may set on one. The use
 * cases are in v3-follows.ts.
 */
import type { FollowRow } from '../store/store.js'
import { checkBounds, DOCUMENT_BOUNDS } from './bounds.js'
import { inputError } from './errors.js'

/** A V3 follow's status. */
export type FollowStatus = 'accepted' | 'pending' | 'rejected'

/** What V3 keeps about one follow beside the engine's edge. */
export interface FollowState {
  source: string
  target: string
  status: FollowStatus
  custom?: Record<string, unknown>
  push_preference: 'all' | 'none'
  follower_role: string
  created_at: string
  updated_at: string
  request_accepted_at?: string
  request_rejected_at?: string
}

/** V3 extras given with a follow or an update. */
export interface FollowExtras {
  custom?: Record<string, unknown>
  push_preference?: 'all' | 'none'
  follower_role?: string
}

/** Checks V3 follow extras: custom data (bounded like documents), push preference and role. */
export function followExtras(input: Record<string, unknown>): FollowExtras {
  const out: FollowExtras = {}
  if (input.custom !== undefined) {
    if (input.custom === null || typeof input.custom !== 'object' || Array.isArray(input.custom))
      throw inputError('custom must be an object', input.custom, 'custom')
    checkBounds(input.custom, 'custom', 'custom', DOCUMENT_BOUNDS)
    out.custom = input.custom as Record<string, unknown>
  }
  if (input.push_preference !== undefined) {
    if (input.push_preference !== 'all' && input.push_preference !== 'none')
      throw inputError('push_preference must be all or none', input.push_preference, 'push_preference')
    out.push_preference = input.push_preference
  }
  if (input.follower_role !== undefined) {
    if (typeof input.follower_role !== 'string' || !/^\w{1,64}$/.test(input.follower_role))
      throw inputError('follower_role must be a role name', input.follower_role, 'follower_role')
    out.follower_role = input.follower_role
  }
  return out
}

/** A new follow record with V3's defaults. */
export function fresh(source: string, target: string): FollowState {
  const now = new Date().toISOString()
  return {
    source,
    target,
    status: 'pending',
    push_preference: 'all',
    follower_role: 'feed_follower',
    created_at: now,
    updated_at: now,
  }
}

/** The V3 view of an engine edge that has no record: accepted, with the defaults. */
export function fromEdge(edge: FollowRow): FollowState {
  return {
    source: edge.source,
    target: edge.target,
    status: 'accepted',
    push_preference: 'all',
    follower_role: 'feed_follower',
    created_at: edge.createdAt,
    updated_at: edge.updatedAt,
  }
}
