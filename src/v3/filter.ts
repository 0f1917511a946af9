/**
 * The activity filter of a V3 feed read (GetOrCreateFeed's `filter`), as far as Eddy serves it:
 * `filter_tags`, `activity_type` (`type`) and `user_id`, each an exact value, a list (`filter_tags`:
 * the activity has every listed tag, as the feeds-client's own filter reads a list), `$eq`, `$in`
 * (any listed) or `$contains`. Any other field or operator is refused with "not supported", never
 * silently ignored. Applied to the activities a read returns, the same on every store.
 */
import { checkBounds, DOCUMENT_BOUNDS } from '../engine/bounds.js'
import { inputError } from '../engine/errors.js'
import { notSupported } from './errors.js'
import type { ActivityResponse } from './gen/spec.js'

const FIELDS: Record<string, (a: ActivityResponse) => unknown> = {
  filter_tags: (a) => a.filter_tags,
  activity_type: (a) => a.type,
  type: (a) => a.type,
  user_id: (a) => a.user?.id,
}
const OPERATORS = new Set(['$eq', '$in', '$contains'])

/** Validates a read's `filter` (bounded; only served fields and operators). */
export function requireFilter(value: unknown): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    throw inputError('filter must be an object', value, 'filter')
  checkBounds(value, 'filter', 'filter', DOCUMENT_BOUNDS)
  for (const [field, condition] of Object.entries(value)) {
    if (!Object.hasOwn(FIELDS, field)) throw notSupported(`filtering feed reads by ${field}`)
    if (condition !== null && typeof condition === 'object' && !Array.isArray(condition)) {
      for (const op of Object.keys(condition))
        if (!OPERATORS.has(op)) throw notSupported(`the filter operator ${op}`)
    }
  }
  return value as Record<string, unknown>
}

const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : [v])

/** Whether `actual` (a value or a list of them) meets one field's `condition`. */
function meets(actual: unknown, condition: unknown): boolean {
  const values = list(actual)
  if (Array.isArray(condition)) return condition.every((c) => values.includes(c))
  if (condition === null || typeof condition !== 'object') return values.includes(condition)
  for (const [op, operand] of Object.entries(condition)) {
    if (op === '$in' && !list(operand).some((c) => values.includes(c))) return false
    if ((op === '$eq' || op === '$contains') && !meets(actual, operand)) return false
  }
  return true
}

/** Whether activity `a` matches a filter checked by {@link requireFilter} (every field must). */
export function matchesFilter(a: ActivityResponse, filter: Record<string, unknown>): boolean {
  return Object.entries(filter).every(([field, condition]) => meets(FIELDS[field](a), condition))
}
