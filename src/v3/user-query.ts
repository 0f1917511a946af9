/**
 * V3's QueryUsers: Stream's filter language (`$eq`, `$ne`, `$in`, `$nin`, `$gt`, `$gte`, `$lt`,
 * `$lte`, `$exists`, `$autocomplete`, `$and`, `$or`, `$nor`) over a user's id, name, image, role,
 * created_at, updated_at and custom fields, with sort, offset and limit. The engine keeps no user
 * indexes: the users are read in id order, at most {@link SCAN_LIMIT} of them per query, and
 * filtered and sorted here; an app with more users gets answers from its first SCAN_LIMIT users
 * (docs/v3.md says so). Deactivated users are left out unless `include_deactivated_users`.
 */
import { EddyError, inputError } from '../engine/errors.js'
import type { ServerContext } from '../server/context.js'
import type { FullUserResponse } from './gen/spec.js'
import { DATE_FIELDS, instant } from './query-filter.js'
import { rfc3339 } from './time.js'
import { fullUser } from './users.js'

/** Most users one query reads. */
export const SCAN_LIMIT = 5_000
/** Users read per store call. */
const PAGE = 500
/** Stream's default and largest page, and its largest offset. */
const DEFAULT_LIMIT = 30
const MAX_LIMIT = 100
const MAX_OFFSET = 1_000
/** Deepest `$and`/`$or` nesting accepted. */
const MAX_DEPTH = 4
/** Fields a sort may name. */
const SORTABLE = new Set(['id', 'name', 'role', 'created_at', 'updated_at'])

type Filter = Record<string, unknown>
type Sort = { field: string; direction: 1 | -1 }

/** A parsed QueryUsers payload. */
interface UserQuery {
  filter: Filter
  sort: Sort[]
  limit: number
  offset: number
  /** Whether deactivated users are answered too (Stream leaves them out unless asked). */
  includeDeactivated: boolean
}

/** Stream's answer to a payload that is missing or not JSON, in its own words (the clients compare them). */
function invalidJson(): EddyError {
  const detail = 'QueryUsers failed with error: "invalid json data"'
  return new EddyError('InputException', detail, { payload: [detail] })
}

/** Parses the `payload` query parameter (JSON text) into a query, or throws a 400. */
export function parseUserQuery(raw: unknown): UserQuery {
  if (typeof raw !== 'string') throw invalidJson()
  let payload: unknown
  try {
    payload = JSON.parse(raw)
  } catch {
    throw invalidJson()
  }
  if (payload === null || typeof payload !== 'object' || Array.isArray(payload)) throw invalidJson()
  const p = payload as {
    filter_conditions?: unknown
    sort?: unknown
    limit?: unknown
    offset?: unknown
    include_deactivated_users?: unknown
  }
  const includeDeactivated = p.include_deactivated_users ?? false
  if (typeof includeDeactivated !== 'boolean')
    throw inputError(
      'include_deactivated_users must be a boolean',
      includeDeactivated,
      'include_deactivated_users',
    )
  const filter = p.filter_conditions ?? {}
  if (filter === null || typeof filter !== 'object' || Array.isArray(filter))
    throw inputError('filter_conditions must be an object', filter, 'filter_conditions')
  checkFilter(filter as Filter, 0)
  const limit = p.limit ?? DEFAULT_LIMIT
  if (!Number.isInteger(limit) || (limit as number) < 0 || (limit as number) > MAX_LIMIT)
    throw inputError(`limit must be an integer from 0 to ${MAX_LIMIT}`, limit, 'limit')
  const offset = p.offset ?? 0
  if (!Number.isInteger(offset) || (offset as number) < 0 || (offset as number) > MAX_OFFSET)
    throw inputError(`offset must be an integer from 0 to ${MAX_OFFSET}`, offset, 'offset')
  return {
    filter: filter as Filter,
    sort: parseSort(p.sort),
    limit: (limit as number) || DEFAULT_LIMIT,
    offset: offset as number,
    includeDeactivated,
  }
}

function parseSort(raw: unknown): Sort[] {
  if (raw === undefined || raw === null) return []
  if (!Array.isArray(raw) || raw.length > 2)
    throw inputError('sort must be a list of 0 to 2 fields', raw, 'sort')
  return raw.map((s: unknown, i) => {
    const { field, direction } = (s ?? {}) as { field?: unknown; direction?: unknown }
    if (typeof field !== 'string' || !SORTABLE.has(field))
      throw inputError(
        `sort[${i}].field must be one of ${[...SORTABLE].join(', ')}`,
        field,
        `sort[${i}].field`,
      )
    if (direction !== undefined && direction !== 1 && direction !== -1)
      throw inputError(`sort[${i}].direction must be 1 or -1`, direction, `sort[${i}].direction`)
    return { field, direction: direction === 1 ? 1 : -1 }
  })
}

const OPERATORS = new Set([
  '$eq',
  '$ne',
  '$in',
  '$nin',
  '$gt',
  '$gte',
  '$lt',
  '$lte',
  '$exists',
  '$autocomplete',
])

/** Refuses operators Eddy does not evaluate and nesting past {@link MAX_DEPTH}, before any read. */
function checkFilter(filter: Filter, depth: number): void {
  if (depth > MAX_DEPTH)
    throw inputError(`filters nest at most ${MAX_DEPTH} deep`, depth, 'filter_conditions')
  for (const [key, cond] of Object.entries(filter)) {
    if (key === '$and' || key === '$or' || key === '$nor') {
      if (!Array.isArray(cond) || cond.length === 0 || cond.length > 20)
        throw inputError(`${key} takes a list of 1 to 20 filters`, cond, 'filter_conditions')
      for (const f of cond) {
        if (f === null || typeof f !== 'object' || Array.isArray(f))
          throw inputError(`${key} takes a list of filters`, f, 'filter_conditions')
        checkFilter(f as Filter, depth + 1)
      }
      continue
    }
    if (key.startsWith('$')) throw inputError(`unknown filter operator ${key}`, key, 'filter_conditions')
    if (cond !== null && typeof cond === 'object' && !Array.isArray(cond)) {
      for (const [op, v] of Object.entries(cond)) {
        if (!OPERATORS.has(op))
          throw inputError(`unknown filter operator ${op} on ${key}`, op, 'filter_conditions')
        if ((op === '$in' || op === '$nin') && (!Array.isArray(v) || v.length > 100))
          throw inputError(`${op} takes a list of at most 100 values`, v, 'filter_conditions')
        if (op === '$autocomplete' && typeof v !== 'string')
          throw inputError('$autocomplete takes text', v, 'filter_conditions')
        if (DATE_FIELDS.has(key) && op !== '$exists' && [v].flat().some((t) => instant(t) === undefined))
          throw inputError(`${key} takes a time (RFC 3339)`, v, `filter_conditions.${key}.${op}`)
      }
    }
  }
}

/** The value of `field` on a user, as QueryUsers compares it (custom fields bare or as `custom.x`). */
function fieldOf(user: FullUserResponse, field: string): unknown {
  if (field.startsWith('custom.')) return user.custom[field.slice('custom.'.length)]
  if (Object.hasOwn(user, field)) return (user as unknown as Record<string, unknown>)[field]
  return Object.hasOwn(user.custom, field) ? user.custom[field] : undefined
}

function compare(a: unknown, b: unknown): number | undefined {
  if (typeof a === 'number' && typeof b === 'number') return a - b
  if (typeof a === 'string' && typeof b === 'string') return a < b ? -1 : a > b ? 1 : 0
  return undefined
}

function same(a: unknown, b: unknown): boolean {
  return a === b || (Array.isArray(a) && a.some((x) => x === b))
}

function holds(value: unknown, op: string, arg: unknown): boolean {
  const order = compare(value, arg)
  switch (op) {
    case '$eq':
      return same(value, arg)
    case '$ne':
      return !same(value, arg)
    case '$in':
      return (arg as unknown[]).some((x) => same(value, x))
    case '$nin':
      return !(arg as unknown[]).some((x) => same(value, x))
    case '$gt':
      return order !== undefined && order > 0
    case '$gte':
      return order !== undefined && order >= 0
    case '$lt':
      return order !== undefined && order < 0
    case '$lte':
      return order !== undefined && order <= 0
    case '$exists':
      return (value !== undefined) === Boolean(arg)
    case '$autocomplete': {
      // Stream matches the start of any word of the field.
      const want = String(arg).toLowerCase()
      return (
        typeof value === 'string' &&
        value
          .toLowerCase()
          .split(/\s+/)
          .some((w) => w.startsWith(want))
      )
    }
  }
  return false
}

/** Whether a user matches a (checked) filter. */
export function matches(user: FullUserResponse, filter: Filter): boolean {
  return Object.entries(filter).every(([key, cond]) => {
    if (key === '$and') return (cond as Filter[]).every((f) => matches(user, f))
    if (key === '$or') return (cond as Filter[]).some((f) => matches(user, f))
    if (key === '$nor') return !(cond as Filter[]).some((f) => matches(user, f))
    // Dates compare as instants: `…T10:00:00Z` and `…T10:00:00.000Z` are one time.
    const date = DATE_FIELDS.has(key)
    const value = date ? instant(fieldOf(user, key)) : fieldOf(user, key)
    const arg = (a: unknown, op: string) =>
      !date || op === '$exists' ? a : Array.isArray(a) ? a.map(instant) : instant(a)
    if (cond !== null && typeof cond === 'object' && !Array.isArray(cond))
      return Object.entries(cond).every(([op, a]) => holds(value, op, arg(a, op)))
    return same(value, arg(cond, '$eq'))
  })
}

function bySort(sort: Sort[]): (a: FullUserResponse, b: FullUserResponse) => number {
  return (a, b) => {
    for (const { field, direction } of sort) {
      const c = compare(fieldOf(a, field), fieldOf(b, field)) ?? 0
      if (c !== 0) return c * direction
    }
    return a.id < b.id ? -1 : a.id > b.id ? 1 : 0
  }
}

/** Runs a query: users in id order (or the sort's), filtered, from `offset`, at most `limit`. */
export async function queryUsers(ctx: ServerContext, query: UserQuery): Promise<FullUserResponse[]> {
  const found: FullUserResponse[] = []
  // Without a sort the id order is the answer's, so reading can stop once the page is full.
  const enough = query.sort.length === 0 ? query.offset + query.limit : Number.POSITIVE_INFINITY
  let after: string | undefined
  for (let read = 0; read < SCAN_LIMIT && found.length < enough; ) {
    const page = await ctx.engine.users.list(after, Math.min(PAGE, SCAN_LIMIT - read))
    if (page.length === 0) break
    read += page.length
    after = page[page.length - 1]?.id
    const ids = page.map((u) => u.id)
    const roles = await ctx.engine.v3.roles(ids)
    const deactivated = await ctx.engine.standing.deactivated(ids)
    for (const doc of page) {
      const at = deactivated.get(doc.id)
      if (at !== undefined && !query.includeDeactivated) continue
      const user = fullUser(doc.id, doc, roles.get(doc.id))
      if (at !== undefined) user.deactivated_at = rfc3339(at)
      if (matches(user, query.filter)) found.push(user)
    }
  }
  if (query.sort.length > 0) found.sort(bySort(query.sort))
  return found.slice(query.offset, query.offset + query.limit)
}
