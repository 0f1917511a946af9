/**
 * The shape of a V3 poll as kept (`v3_poll` documents) and the checked input that builds and
 * changes one: names and texts bounded, `custom` bounded and prototype-safe, options made with
 * fresh ids, and the settable fields applied (engine/v3-polls.ts holds the use cases).
 */
import { randomUUID } from 'node:crypto'
import { checkBounds, DOCUMENT_BOUNDS } from './bounds.js'
import { inputError } from './errors.js'
import { FORBIDDEN_SEGMENTS } from './paths.js'

/** Most options one poll may have. */
export const MAX_OPTIONS = 100
/** Most votes (answers included) one poll keeps. */
export const MAX_VOTES = 2000
/** Longest poll name, option text or answer. */
const MAX_TEXT = 1000
/** Activities a poll remembers as carrying it (the latest), whose feeds hear its events. */
export const MAX_CARRIERS = 20

/** One option of a poll. */
export interface PollOption {
  id: string
  text: string
  custom: Record<string, unknown>
}

/** One vote (or answer) in a poll. */
export interface PollVote {
  id: string
  user_id: string
  option_id: string
  is_answer?: boolean
  answer_text?: string
  created_at: string
  updated_at: string
}

/** A poll as kept. */
export interface Poll {
  id: string
  name: string
  description: string
  options: PollOption[]
  enforce_unique_vote: boolean
  max_votes_allowed?: number
  allow_answers: boolean
  allow_user_suggested_options: boolean
  voting_visibility: string
  is_closed: boolean
  custom: Record<string, unknown>
  created_by_id: string
  created_at: string
  updated_at: string
  votes: PollVote[]
  /** Engine ids of the latest activities added with this poll (at most MAX_CARRIERS). */
  activity_ids?: string[]
}

/** The fields a poll's creator may set (CreatePoll, UpdatePoll, UpdatePollPartial). */
export const POLL_FIELDS = [
  'name',
  'description',
  'enforce_unique_vote',
  'max_votes_allowed',
  'allow_answers',
  'allow_user_suggested_options',
  'voting_visibility',
  'is_closed',
  'custom',
] as const

/** A checked text field (`required`: not empty). */
export function text(value: unknown, field: string, required: boolean): string {
  if (value === undefined && !required) return ''
  if (typeof value !== 'string' || (required && value === '') || value.length > MAX_TEXT)
    throw inputError(
      `${field} must be a string of ${required ? 1 : 0} to ${MAX_TEXT} characters`,
      value,
      field,
    )
  return value
}

function custom(value: unknown, field: string): Record<string, unknown> {
  if (value === undefined) return {}
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    throw inputError(`${field} must be an object`, value, field)
  checkBounds(value, field, field, DOCUMENT_BOUNDS)
  return value as Record<string, unknown>
}

/** A checked option input, with a fresh id. */
export function option(input: unknown, field: string): PollOption {
  if (input === null || typeof input !== 'object')
    throw inputError(`${field} must be an option`, input, field)
  const o = input as { text?: unknown; custom?: unknown }
  return {
    id: randomUUID(),
    text: text(o.text, `${field}.text`, true),
    custom: custom(o.custom, `${field}.custom`),
  }
}

/** A custom field's name: a key of the poll's own `custom` (never one that walks a prototype). */
function customName(k: string, field: string): string {
  if (k === '' || k.length > 255 || FORBIDDEN_SEGMENTS.has(k))
    throw inputError(`${field} names a custom field of 1 to 255 characters`, k, field)
  return k
}

/**
 * Applies `set` to `poll`, checked; returns a new poll. Keys beside POLL_FIELDS are custom fields
 * (merged into `custom`, as V3 users' partial updates take them); `unset` removes description,
 * max_votes_allowed, custom, or one custom field.
 */
export function applied(poll: Poll, set: Record<string, unknown>, unset: string[] = []): Poll {
  const next: Poll = { ...poll }
  // `custom` first: custom fields set beside it join it rather than being replaced by it.
  const entries = Object.entries(set).sort(([a], [b]) => Number(b === 'custom') - Number(a === 'custom'))
  for (const [k, v] of entries) {
    if (k === 'name') next.name = text(v, 'name', true)
    else if (k === 'description') next.description = text(v, 'description', false)
    else if (k === 'voting_visibility') {
      if (v !== 'public' && v !== 'anonymous')
        throw inputError('voting_visibility is public or anonymous', v, 'voting_visibility')
      next.voting_visibility = v
    } else if (k === 'max_votes_allowed') {
      if (v !== null && (!Number.isInteger(v) || (v as number) < 1 || (v as number) > 10))
        throw inputError('max_votes_allowed is 1 to 10', v, 'max_votes_allowed')
      if (v === null) delete next.max_votes_allowed
      else next.max_votes_allowed = v as number
    } else if (k === 'custom') next.custom = custom(v, 'custom')
    else if ((POLL_FIELDS as readonly string[]).includes(k)) {
      if (typeof v !== 'boolean') throw inputError(`${k} must be true or false`, v, k)
      ;(next as unknown as Record<string, unknown>)[k] = v
    } else if (k !== 'id' && k !== 'options' && k !== 'user_id' && v !== undefined)
      next.custom = { ...next.custom, [customName(k, `set.${k}`)]: v }
  }
  for (const k of unset) {
    if (k === 'description') next.description = ''
    else if (k === 'max_votes_allowed') delete next.max_votes_allowed
    else if (k === 'custom') next.custom = {}
    else if (typeof k === 'string' && Object.hasOwn(next.custom, customName(k, 'unset'))) {
      const { [k]: _, ...rest } = next.custom
      next.custom = rest
    } else
      throw inputError(
        `unset may name description, max_votes_allowed, custom or a custom field; not ${String(k)}`,
        k,
        'unset',
      )
  }
  checkBounds(next.custom, 'custom', 'custom', DOCUMENT_BOUNDS)
  next.updated_at = new Date().toISOString()
  return next
}

/** The POLL_FIELDS of a body that it names. */
export function pick(input: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const k of POLL_FIELDS) if (input[k] !== undefined) out[k] = input[k]
  return out
}
