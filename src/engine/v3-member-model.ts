/**
 * The shape of a Feeds V3 feed member as the engine keeps it, and the pure check of a member
 * list an update names. The use cases are in v3-members.ts.
 */
import { checkBounds, DOCUMENT_BOUNDS } from './bounds.js'
import { requireId } from './documents.js'
import { inputError } from './errors.js'

/** Most members one update may name. */
export const MAX_MEMBER_CHANGES = 100

/** One member of a feed. */
export interface Member {
  user_id: string
  role: string
  status: 'member' | 'pending' | 'rejected'
  custom?: Record<string, unknown>
  created_at: string
  updated_at: string
  invite_accepted_at?: string
  invite_rejected_at?: string
}

/** A member as an update names it. */
export interface MemberInput {
  user_id: string
  role?: string
  custom?: Record<string, unknown>
  invite?: boolean
}

/** What an update changed. */
export interface MemberChanges {
  added: Member[]
  updated: Member[]
  removed_ids: string[]
}

/** Checks an update's member list. */
export function memberInputs(value: unknown): MemberInput[] {
  if (value === undefined) return []
  if (!Array.isArray(value) || value.length > MAX_MEMBER_CHANGES)
    throw inputError(`members must list at most ${MAX_MEMBER_CHANGES} members`, value, 'members')
  return value.map((m, i) => {
    const field = `members[${i}]`
    if (m === null || typeof m !== 'object') throw inputError('a member must be { user_id }', m, field)
    const input = m as Record<string, unknown>
    const out: MemberInput = { user_id: requireId(input.user_id, `${field}.user_id`) }
    if (input.role !== undefined) {
      if (typeof input.role !== 'string' || !/^\w{1,64}$/.test(input.role))
        throw inputError('role must be a role name', input.role, `${field}.role`)
      out.role = input.role
    }
    if (input.custom !== undefined) {
      if (input.custom === null || typeof input.custom !== 'object' || Array.isArray(input.custom))
        throw inputError('custom must be an object', input.custom, `${field}.custom`)
      checkBounds(input.custom, `${field}.custom`, `${field}.custom`, DOCUMENT_BOUNDS)
      out.custom = input.custom as Record<string, unknown>
    }
    if (input.invite !== undefined) out.invite = input.invite === true
    return out
  })
}
