/** Activities: validation of what users send, and the stored/returned form. */
import type { GroupSource } from './aggregation.js'
import { checkBounds, checkText, DOCUMENT_BOUNDS } from './bounds.js'
import { inputError } from './errors.js'
import { type FeedGroup, type FeedRef, parseFeedId } from './feed-groups.js'
import { skToId, sortKey, tailFor } from './ids.js'
import { formatTime, nowMicros, parseTime } from './time.js'

/** An activity as sent by users: actor, verb and object, plus anything else. */
export interface NewActivity {
  actor: string | number | { ref(): string }
  verb: string | number
  object: string | number | { ref(): string }
  target?: string | number | null
  time?: string | Date | number
  foreign_id?: string | number | null
  to?: string[]
  [field: string]: unknown
}

/** An activity as Eddy returns it. `to` is present only when non-empty. */
export interface Activity {
  id: string
  actor: string
  verb: string
  object: string
  target: string
  foreign_id: string
  time: string
  origin: string | null
  to?: string[]
  [field: string]: unknown
}

/** A validated activity ready to store. */
export interface PreparedActivity {
  sk: string
  activity: Activity
  /** The JSON stored once and returned by every read. */
  body: string
  micros: number
  /** The `to` feeds, parsed. */
  to: FeedRef[]
}

/** Largest stored activity, in bytes of JSON (Stream documents about 10 KB). */
export const MAX_ACTIVITY_BYTES = 10_240
/** Longest verb, in bytes (Stream's limit). */
export const MAX_VERB_BYTES = 255
// Keys that are never custom fields: set by Eddy, or validated above.
const RESERVED = new Set([
  'id',
  'origin',
  'duration',
  'actor',
  'verb',
  'object',
  'target',
  'time',
  'foreign_id',
  'to',
])

function requiredString(value: unknown, field: string): string {
  let v = value
  if (v !== null && typeof v === 'object' && typeof (v as { ref?: unknown }).ref === 'function') {
    v = (v as { ref(): unknown }).ref()
  }
  if (typeof v === 'number' && Number.isFinite(v)) v = String(v)
  if (typeof v !== 'string' || v.length === 0) {
    throw inputError(`${field} is required and must be a non-empty string (or a number)`, value, field)
  }
  return v
}

/** Checks that `value` is a list of feed ids and returns them parsed, without repeats. */
export function parseTargets(
  groups: ReadonlyMap<string, FeedGroup>,
  value: unknown,
  field = 'to',
): FeedRef[] {
  if (value === undefined || value === null) return []
  if (!Array.isArray(value))
    throw inputError(`${field} must be a list of feed ids like ["notification:42"]`, value, field)
  if (value.length > 100) throw inputError(`${field} may name at most 100 feeds`, value.length, field)
  const seen = new Map<string, FeedRef>()
  for (const item of value) {
    const ref = parseFeedId(groups, item, field)
    seen.set(ref.id, ref)
  }
  return [...seen.values()]
}

/** The fields of an activity that aggregation formats read. */
export function groupSource(activity: Activity, micros: number): GroupSource {
  return {
    actor: activity.actor,
    verb: activity.verb,
    object: activity.object,
    target: activity.target,
    micros,
    fields: activity,
  }
}

/**
 * Validates and normalizes one activity: required fields, verb and size limits, time, `to`.
 * Its id hashes the foreign_id (or the whole body when there is none) so re-adds replace; an
 * update passes the existing activity's sort key instead, so its id never moves.
 */
export function prepareActivity(
  groups: ReadonlyMap<string, FeedGroup>,
  input: unknown,
  index?: number,
  existingSk?: string,
): PreparedActivity {
  const where = index === undefined ? '' : ` (activity ${index})`
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    throw inputError(`an activity must be an object with actor, verb and object${where}`, input, 'activity')
  }
  const raw = input as Record<string, unknown>
  const actor = requiredString(raw.actor, 'actor')
  const verb = requiredString(raw.verb, 'verb')
  const object = requiredString(raw.object, 'object')
  if (Buffer.byteLength(verb) > MAX_VERB_BYTES) {
    throw inputError(`verb must be at most ${MAX_VERB_BYTES} bytes${where}`, verb, 'verb')
  }
  let target = ''
  if (raw.target !== undefined && raw.target !== null && raw.target !== '')
    target = requiredString(raw.target, 'target')
  let foreignId = ''
  if (raw.foreign_id !== undefined && raw.foreign_id !== null) {
    if (
      typeof raw.foreign_id !== 'string' &&
      !(typeof raw.foreign_id === 'number' && Number.isFinite(raw.foreign_id))
    ) {
      throw inputError(`foreign_id must be a string${where}`, raw.foreign_id, 'foreign_id')
    }
    foreignId = String(raw.foreign_id)
    if (foreignId.length > 255)
      throw inputError(`foreign_id must be at most 255 characters${where}`, foreignId, 'foreign_id')
  }
  const micros = raw.time === undefined || raw.time === null ? nowMicros() : parseTime(raw.time, 'time')
  const to = parseTargets(groups, raw.to)

  const draft: Record<string, unknown> = {
    id: '',
    actor,
    verb,
    object,
    target,
    foreign_id: foreignId,
    time: formatTime(micros),
    origin: null,
    ...(to.length > 0 ? { to: to.map((t) => t.id) } : {}),
  }
  for (const [key, value] of Object.entries(raw)) {
    if (value === undefined || RESERVED.has(key)) continue
    // defineProperty, not assignment: a custom "__proto__" field must stay plain data.
    Object.defineProperty(draft, key, { value, enumerable: true, writable: true, configurable: true })
  }
  // Measured before JSON.stringify, which recurses once per level and would overflow the stack.
  checkBounds(draft, 'activity', `an activity${where}`, DOCUMENT_BOUNDS, '')
  let json: string
  try {
    json = JSON.stringify(draft)
  } catch (err) {
    throw inputError(
      `custom fields must be JSON-serializable (${(err as Error).message})${where}`,
      Object.keys(draft),
      'activity',
    )
  }
  // One serialization serves as the identity seed (no foreign_id), the stored body and, parsed
  // back, the returned activity (Dates become ISO strings exactly as a read returns them).
  const sk = existingSk ?? sortKey(micros, tailFor(foreignId ? `f:${foreignId}` : `c:${json}`))
  const id = skToId(sk)
  const body = `{"id":"${id}"${json.slice('{"id":""'.length)}`
  const bytes = Buffer.byteLength(body)
  if (bytes > MAX_ACTIVITY_BYTES) {
    throw inputError(
      `an activity must be at most ${MAX_ACTIVITY_BYTES} bytes of JSON${where}`,
      `${bytes} bytes`,
      'activity',
    )
  }
  const activity = JSON.parse(body) as Activity
  return { sk, activity, body, micros, to }
}

/** The sort key an activity with this foreign_id and time has (the id is derived, not looked up). */
export function skForForeignId(foreignId: unknown, time: unknown): string {
  if ((typeof foreignId !== 'string' && typeof foreignId !== 'number') || String(foreignId) === '') {
    throw inputError('foreign_id must be a non-empty string', foreignId, 'foreign_id')
  }
  checkText(foreignId, 'foreign_id')
  if (time === undefined || time === null || time === '')
    throw inputError('time is required with foreign_id', time, 'time')
  return sortKey(parseTime(time, 'time'), tailFor(`f:${String(foreignId)}`))
}

/** Parses a stored body and sets the origin of the timeline entry it was read through. */
export function readActivity(body: string, origin: string | null): Activity {
  const activity = JSON.parse(body) as Activity
  activity.origin = origin
  return activity
}
