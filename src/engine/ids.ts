/**
 * Activity ids: version-1 UUIDs whose timestamp is the activity time, as Stream's are.
 *
 * The clock-sequence and node bits are a hash of the activity's foreign_id (or of its whole body
 * when it has none), so the same foreign_id + time always yields the same id: a re-add replaces
 * instead of duplicating, in every feed, with no lookup. Timelines store the "sort key", the
 * same 122 bits reordered so that string order is time order.
 */
import { hash } from 'node:crypto'
import { inputError } from './errors.js'

// 100-ns intervals between the Gregorian reform (UUID epoch) and the Unix epoch.
const GREGORIAN_OFFSET = 0x01b21dd213814000n
const UUID_V1 = /^([0-9a-f]{8})-([0-9a-f]{4})-1([0-9a-f]{3})-([89ab][0-9a-f]{3})-([0-9a-f]{12})$/

/** Length of a sort key: 15 hex digits of timestamp, 4 of clock sequence, 12 of node. */
export const SORT_KEY_LENGTH = 31

/** The 16 hex digits (clock sequence with the RFC 4122 variant, then node) derived from `seed`. */
export function tailFor(seed: string): string {
  const digest = hash('sha1', seed, 'hex')
  const clock = ((Number.parseInt(digest.slice(0, 4), 16) & 0x3fff) | 0x8000).toString(16)
  return clock + digest.slice(4, 16)
}

/** The sort key for an activity at `micros` whose identity hashes to `tail`. */
export function sortKey(micros: number, tail: string): string {
  const ticks = BigInt(micros) * 10n + GREGORIAN_OFFSET
  return ticks.toString(16).padStart(15, '0') + tail
}

/** The UUID for a sort key. */
export function skToId(sk: string): string {
  const t = sk.slice(0, 15)
  return `${t.slice(7, 15)}-${t.slice(3, 7)}-1${t.slice(0, 3)}-${sk.slice(15, 19)}-${sk.slice(19, 31)}`
}

/** The sort key for a UUID, or undefined when it is not a version-1 UUID. */
export function idToSk(id: string): string | undefined {
  const m = UUID_V1.exec(id.toLowerCase())
  if (!m) return undefined
  const [, low, mid, hi, clock, node] = m
  return hi + mid + low + clock + node
}

/** Like {@link idToSk} but throws an InputException naming `field`. */
export function requireSk(id: unknown, field: string): string {
  const sk = typeof id === 'string' ? idToSk(id) : undefined
  if (!sk) throw inputError(`${field} must be an activity id (a version-1 UUID)`, id, field)
  return sk
}

const LEGACY_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-1[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}$/
const HEX = '0123456789abcdef'

/**
 * The sort keys an activity with id `id` may have been stored under before times were bounded
 * (none when `id` is not UUID-shaped): a time past 2^60 ticks (the year 5236; reachable through
 * epoch milliseconds and Dates) took 16 or 17 hex digits, so the id kept the first 31 digits of
 * the key and dropped the rest. At most 273 keys, looked up in one call.
 */
export function legacySks(id: unknown): string[] {
  if (typeof id !== 'string' || !LEGACY_ID.test(id.toLowerCase())) return []
  const v = id.toLowerCase()
  const head = v.slice(15, 18) + v.slice(9, 13) + v.slice(0, 8) + v.slice(19, 23) + v.slice(24, 36)
  const out = [head]
  for (const a of HEX) {
    out.push(head + a)
    for (const b of HEX) out.push(head + a + b)
  }
  return out
}

/** Microseconds since the Unix epoch encoded in a sort key. */
export function skMicros(sk: string): number {
  const ticks = BigInt(`0x${sk.slice(0, 15)}`) - GREGORIAN_OFFSET
  return Number(ticks / 10n)
}

/** A random UUID-shaped id for things that are not activities (jobs, collection entries). */
export function randomId(): string {
  return crypto.randomUUID()
}
