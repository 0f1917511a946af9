/**
 * Sorting and paging of V3 queries answered from a bounded, in-memory list of matches (polls,
 * poll votes): `sort` as the spec's SortParamRequest list over the fields a query names, `limit`
 * bounded, and `next`/`prev` as opaque offset cursors into the sorted matches.
 */
import { inputError } from '../engine/errors.js'

/** One sort key: a field and its direction (1 ascending, -1 descending). */
export interface SortKey {
  field: string
  direction: 1 | -1
}

/** A query's sort: at most `max` keys over `sortable`, else `fallback`. */
export function parseSort(
  raw: unknown,
  sortable: readonly string[],
  fallback: SortKey[],
  max = 5,
): SortKey[] {
  if (raw === undefined || raw === null) return fallback
  if (!Array.isArray(raw) || raw.length > max)
    throw inputError(`sort must be a list of 0 to ${max} fields`, raw, 'sort')
  if (raw.length === 0) return fallback
  return raw.map((s: unknown, i) => {
    const { field, direction } = (s ?? {}) as { field?: unknown; direction?: unknown }
    if (typeof field !== 'string' || !sortable.includes(field))
      throw inputError(`sort[${i}].field must be one of ${sortable.join(', ')}`, field, `sort[${i}].field`)
    if (direction !== undefined && direction !== 1 && direction !== -1)
      throw inputError(`sort[${i}].direction is 1 or -1`, direction, `sort[${i}].direction`)
    return { field, direction: direction === -1 ? -1 : 1 }
  })
}

/** Comparable form of a sort value: booleans as 0/1, missing values first. */
function key(value: unknown): string | number {
  if (typeof value === 'boolean') return value ? 1 : 0
  if (typeof value === 'number' || typeof value === 'string') return value
  return ''
}

/** Sorts `rows` in place by `sort` (each field read by `read`), ties broken by `tie` ascending. */
export function sortRows<T>(
  rows: T[],
  sort: SortKey[],
  read: (row: T, field: string) => unknown,
  tie: (row: T) => string,
): T[] {
  return rows.sort((a, b) => {
    for (const { field, direction } of sort) {
      const x = key(read(a, field))
      const y = key(read(b, field))
      if (x !== y) return (x < y ? -1 : 1) * direction
    }
    const [x, y] = [tie(a), tie(b)]
    return x < y ? -1 : x > y ? 1 : 0
  })
}

/** A query's page size: `limit` (0 or absent: `fallback`), at most `max`. */
export function pageSize(raw: unknown, fallback: number, max = 100): number {
  if (raw === undefined || raw === null) return fallback
  if (typeof raw !== 'number' || !Number.isInteger(raw) || raw < 0 || raw > max)
    throw inputError(`limit must be an integer from 0 to ${max}`, raw, 'limit')
  return raw || fallback
}

/** A cursor's offset (a page past the end is empty, not an error: the matches may have shrunk). */
function offsetOf(value: unknown, field: string): number {
  if (value === undefined || value === null || value === '') return 0
  if (typeof value !== 'string' || !/^\d{1,6}$/.test(value))
    throw inputError(`${field} must be a cursor from a previous page`, value, field)
  return Number(value)
}

/** The page of `rows` that `next`/`prev` point at, with the cursors around it. */
export function pageOf<T>(
  rows: T[],
  input: { next?: unknown; prev?: unknown },
  limit: number,
): { page: T[]; next?: string; prev?: string } {
  const offset =
    input.prev !== undefined && input.prev !== null && input.prev !== ''
      ? offsetOf(input.prev, 'prev')
      : offsetOf(input.next, 'next')
  const page = rows.slice(offset, offset + limit)
  const out: { page: T[]; next?: string; prev?: string } = { page }
  if (offset + page.length < rows.length) out.next = String(offset + page.length)
  if (offset > 0) out.prev = String(Math.max(0, offset - limit))
  return out
}
