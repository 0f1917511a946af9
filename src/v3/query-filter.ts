/**
 * V3's query filters (MongoDB-like: `{ field: value }`, `{ field: { $op: value } }`, `$and`,
 * `$or`) compiled to predicates over plain records. Fields are named by the caller of
 * `compileFilter`, which says what each one reads; dotted paths and `$path_exists` walk only a
 * value's own keys, never a prototype. A filter has at most {@link MAX_CONDITIONS} conditions.
 * Fields named as dates compare as instants, so `2026-01-01T00:00:00Z` and
 * `2026-01-01T00:00:00.000Z` are the same time (as strings they sort apart).
 */
import { inputError } from '../engine/errors.js'

/** Most conditions in one filter. */
export const MAX_CONDITIONS = 50

/** A compiled filter: whether a record matches. */
export type Predicate<T> = (item: T) => boolean

const FORBIDDEN = new Set(['__proto__', 'constructor', 'prototype'])
const isObject = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === 'object' && !Array.isArray(v)

/** A value's own key, or undefined (never an inherited one). */
function own(value: unknown, key: string): unknown {
  return isObject(value) && Object.hasOwn(value, key) ? value[key] : undefined
}

/** The value at a dotted path of own keys; `missing` when a step is absent. */
const MISSING = Symbol('missing')
function at(value: unknown, path: string, field: string): unknown {
  const steps = path.split('.')
  if (steps.some((step) => step === '' || FORBIDDEN.has(step)))
    throw inputError('a path names own fields only', path, field)
  let cur = value
  for (const step of steps) {
    if (!isObject(cur) || !Object.hasOwn(cur, step)) return MISSING
    cur = cur[step]
  }
  return cur
}

/** Whether `whole` contains `part`: every element of an array, every key of an object, deeply. */
function contains(whole: unknown, part: unknown): boolean {
  if (Array.isArray(part)) return Array.isArray(whole) && part.every((p) => whole.some((w) => contains(w, p)))
  if (isObject(part))
    return isObject(whole) && Object.keys(part).every((k) => contains(own(whole, k), part[k]))
  if (Array.isArray(whole)) return whole.some((w) => contains(w, part))
  return whole === part
}

function compare(a: unknown, b: unknown): number | undefined {
  if (typeof a === 'number' && typeof b === 'number') return a - b
  if (typeof a === 'string' && typeof b === 'string') return a < b ? -1 : a > b ? 1 : 0
  return undefined
}

const equal = (a: unknown, b: unknown) => (Array.isArray(a) ? a.includes(b) : a === b)

/** One operator applied to a field's value. */
function operator(op: string, arg: unknown, field: string): (v: unknown) => boolean {
  const where = `filter.${field}.${op}`
  switch (op) {
    case '$eq':
      return (v) => equal(v, arg)
    case '$ne':
      return (v) => !equal(v, arg)
    case '$in':
    case '$nin': {
      if (!Array.isArray(arg) || arg.length > 100)
        throw inputError(`${op} takes a list of at most 100`, arg, where)
      const hit = (v: unknown) => arg.some((a) => equal(v, a))
      return op === '$in' ? hit : (v) => !hit(v)
    }
    case '$gt':
    case '$gte':
    case '$lt':
    case '$lte':
      return (v) => {
        const c = compare(v, arg)
        if (c === undefined) return false
        return op === '$gt' ? c > 0 : op === '$gte' ? c >= 0 : op === '$lt' ? c < 0 : c <= 0
      }
    case '$q':
    case '$autocomplete': {
      if (typeof arg !== 'string' || arg.length > 255) throw inputError(`${op} takes text`, arg, where)
      const words = arg.toLowerCase().split(/\s+/).filter(Boolean)
      return (v) => typeof v === 'string' && words.every((w) => v.toLowerCase().includes(w))
    }
    case '$contains':
      return (v) => contains(v, arg)
    case '$exists':
      return (v) => (v !== undefined && v !== MISSING) === (arg === true)
    case '$path_exists': {
      if (typeof arg !== 'string' || arg.length > 255)
        throw inputError('$path_exists takes a dotted path', arg, where)
      at({}, arg, where)
      return (v) => at(v, arg, where) !== MISSING
    }
    default:
      throw inputError(`unknown operator ${op}`, op, where)
  }
}

/** The date fields of V3's queries: filters on them compare instants, never text. */
export const DATE_FIELDS: ReadonlySet<string> = new Set(['created_at', 'updated_at'])

/** A time (ISO text or epoch milliseconds) as epoch milliseconds; undefined when it is none. */
export function instant(value: unknown): number | undefined {
  const ms = typeof value === 'string' ? Date.parse(value) : typeof value === 'number' ? value : Number.NaN
  return Number.isFinite(ms) ? ms : undefined
}

/** A date field's operator argument as epoch milliseconds (lists: each element). */
function instantArg(op: string, arg: unknown, where: string): unknown {
  if (op === '$exists') return arg
  if (Array.isArray(arg)) return arg.map((a) => instantArg(op, a, where))
  const ms = instant(arg)
  if (ms === undefined) throw inputError(`${where} takes a time (RFC 3339)`, arg, where)
  return ms
}

/**
 * Compiles `filter` over records whose fields `fields` reads (a name to a reader); a field
 * missing from `fields` is refused, so a filter names only what the query serves. Fields in
 * `dates` compare as instants.
 */
export function compileFilter<T>(
  filter: unknown,
  fields: Record<string, (item: T) => unknown>,
  dates: ReadonlySet<string> = new Set(),
): Predicate<T> {
  let conditions = 0
  const node = (value: unknown, where: string): Predicate<T> => {
    if (value === undefined || value === null) return () => true
    if (!isObject(value)) throw inputError('a filter is an object', value, where)
    const parts: Predicate<T>[] = []
    for (const [key, arg] of Object.entries(value)) {
      if (++conditions > MAX_CONDITIONS)
        throw inputError(`a filter has at most ${MAX_CONDITIONS} conditions`, key, where)
      if (key === '$and' || key === '$or') {
        if (!Array.isArray(arg) || arg.length > 20)
          throw inputError(`${key} takes a list`, arg, `${where}.${key}`)
        const subs = arg.map((a, i) => node(a, `${where}.${key}[${i}]`))
        parts.push(key === '$and' ? (x) => subs.every((p) => p(x)) : (x) => subs.some((p) => p(x)))
        continue
      }
      if (!Object.hasOwn(fields, key) || FORBIDDEN.has(key))
        throw inputError(`this query filters by ${Object.keys(fields).join(', ')}`, key, `${where}.${key}`)
      const date = dates.has(key)
      const read = date ? (x: T) => instant(fields[key](x)) : fields[key]
      const test = (op: string, a: unknown) =>
        operator(op, date ? instantArg(op, a, `${where}.${key}.${op}`) : a, key)
      const tests =
        isObject(arg) && Object.keys(arg).every((k) => k.startsWith('$'))
          ? Object.entries(arg).map(([op, a]) => test(op, a))
          : [test('$eq', arg)]
      parts.push((x) => {
        const v = read(x)
        return tests.every((t) => t(v))
      })
    }
    return (x) => parts.every((p) => p(x))
  }
  return node(filter, 'filter')
}
