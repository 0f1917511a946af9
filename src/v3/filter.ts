/**
 * The activity filter of a V3 feed read (GetOrCreateFeed's `filter`, flat and grouped feeds
 * alike): `filter_tags`, `activity_type` (`type`) and `user_id`, with the operators of V3's one
 * filter evaluator (query-filter.ts: bounded, own fields only) and `$and`/`$or`. A bare list
 * means "has every listed value" (`filter_tags: ['a', 'b']`), as the feeds-client's own filter
 * reads it. Any other field is refused with "not supported", never silently ignored.
 */
import { checkBounds, DOCUMENT_BOUNDS } from '../engine/bounds.js'
import { inputError } from '../engine/errors.js'
import { notSupported } from './errors.js'
import type { ActivityResponse } from './gen/spec.js'
import { compileFilter, type Predicate } from './query-filter.js'

const FIELDS: Record<string, (a: ActivityResponse) => unknown> = {
  filter_tags: (a) => a.filter_tags,
  activity_type: (a) => a.type,
  type: (a) => a.type,
  user_id: (a) => a.user?.id,
}

/** The filter with bare lists read as `$contains`; unserved fields refused as not supported. */
function normalize(value: unknown, where: string): unknown {
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    throw inputError('a filter is an object', value, where)
  const out: Record<string, unknown> = {}
  for (const [key, condition] of Object.entries(value)) {
    if (key === '$and' || key === '$or') {
      out[key] = Array.isArray(condition)
        ? condition.map((c, i) => normalize(c, `${where}.${key}[${i}]`))
        : condition
    } else if (!Object.hasOwn(FIELDS, key)) throw notSupported(`filtering feed reads by ${key}`)
    else out[key] = Array.isArray(condition) ? { $contains: condition } : condition
  }
  return out
}

/** Validates a read's `filter` (bounded; only served fields) into a predicate over activities. */
export function requireFilter(value: unknown): Predicate<ActivityResponse> {
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    throw inputError('filter must be an object', value, 'filter')
  checkBounds(value, 'filter', 'filter', DOCUMENT_BOUNDS)
  return compileFilter(normalize(value, 'filter'), FIELDS)
}
