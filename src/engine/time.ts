/**
 * Activity times at microsecond precision. JavaScript dates stop at milliseconds, while Stream
 * returns naive UTC with six fractional digits, so times travel as integer microseconds since the
 * Unix epoch (exact below 2^53 until the year 2255).
 */
import { inputError } from './errors.js'

const ISO =
  /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?(Z|[+-]\d{2}:?\d{2})?$/i

/** Microseconds since the Unix epoch for the current moment. */
export function nowMicros(): number {
  // performance.timeOrigin + now() gives sub-millisecond resolution that Date.now() lacks.
  return Math.floor((performance.timeOrigin + performance.now()) * 1000)
}

/**
 * Parses an activity time: an ISO-8601 string with or without a zone (no zone means UTC), a Date,
 * or epoch milliseconds. Throws an InputException naming the field otherwise.
 */
export function parseTime(value: unknown, field = 'time'): number {
  if (value instanceof Date) {
    const ms = value.getTime()
    if (Number.isNaN(ms)) throw inputError(`${field} must be a valid date`, String(value), field)
    return inRange(ms * 1000, value, field)
  }
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) {
      throw inputError(`${field} must be epoch milliseconds or an ISO-8601 string`, value, field)
    }
    return inRange(Math.round(value * 1000), value, field)
  }
  if (typeof value !== 'string') {
    throw inputError(`${field} must be an ISO-8601 string like 2026-11-26T13:55:10.123456`, value, field)
  }
  const m = ISO.exec(value.trim())
  if (!m)
    throw inputError(`${field} must be an ISO-8601 string like 2026-11-26T13:55:10.123456`, value, field)
  const [, y, mo, d, h, mi, s = '0', frac = '', zone] = m
  const ms = Date.UTC(+y, +mo - 1, +d, +h, +mi, +s)
  const check = new Date(ms)
  if (
    Number.isNaN(ms) ||
    check.getUTCMonth() !== +mo - 1 ||
    check.getUTCDate() !== +d ||
    +h > 23 ||
    +mi > 59 ||
    +s > 59 ||
    +y < 1970
  ) {
    throw inputError(`${field} is not a real date and time after 1970`, value, field)
  }
  let offsetMin = 0
  if (zone && zone.toUpperCase() !== 'Z') {
    const sign = zone[0] === '-' ? -1 : 1
    const digits = zone.slice(1).replace(':', '')
    offsetMin = sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2, 4)))
  }
  const micros = Number((frac + '000000').slice(0, 6))
  return inRange((ms - offsetMin * 60_000) * 1000 + micros, value, field)
}

const pad2 = (n: number) => (n < 10 ? `0${n}` : String(n))

/**
 * The latest activity time, in microseconds since the Unix epoch: 2255-06-05T23:47:34.740991,
 * the last microsecond a JavaScript number holds exactly. Ids encode times to the year 5236, but a
 * later time would round, and one past 5236 overflowed the id's 60 bits (an id that is not a
 * version-1 UUID and sorts before every other); the earliest time is the Unix epoch.
 */
export const MAX_TIME_MICROS = Number.MAX_SAFE_INTEGER

/** Throws a 400 stating the range when `micros` is outside what an activity id holds. */
function inRange(micros: number, value: unknown, field: string): number {
  if (Number.isInteger(micros) && micros >= 0 && micros <= MAX_TIME_MICROS) return micros
  throw inputError(
    `${field} must be between ${formatTime(0)} and ${formatTime(MAX_TIME_MICROS)} UTC (the times an activity id holds to the microsecond)`,
    value instanceof Date ? String(value) : value,
    field,
  )
}

/**
 * Formats microseconds as Stream does: naive UTC with six fractional digits. Integer calendar
 * arithmetic (days to civil date, after H. Hinnant) instead of `Date#toISOString`, which showed
 * as a tenth of an aggregated page read: every group carries two of these times.
 */
export function formatTime(micros: number): string {
  const secs = Math.floor(micros / 1_000_000)
  const frac = micros - secs * 1_000_000
  const days = Math.floor(secs / 86_400)
  let rest = secs - days * 86_400
  const hour = Math.floor(rest / 3600)
  rest -= hour * 3600
  const minute = Math.floor(rest / 60)
  const second = rest - minute * 60
  const z = days + 719_468
  const era = Math.floor(z / 146_097)
  const doe = z - era * 146_097
  const yoe = Math.floor(
    (doe - Math.floor(doe / 1460) + Math.floor(doe / 36_524) - Math.floor(doe / 146_096)) / 365,
  )
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100))
  const mp = Math.floor((5 * doy + 2) / 153)
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1
  const month = mp < 10 ? mp + 3 : mp - 9
  const year = yoe + era * 400 + (month <= 2 ? 1 : 0)
  const fraction = String(frac).padStart(6, '0')
  return `${year}-${pad2(month)}-${pad2(day)}T${pad2(hour)}:${pad2(minute)}:${pad2(second)}.${fraction}`
}

/** A Date for the given microseconds (millisecond precision). */
export function toDate(micros: number): Date {
  return new Date(Math.floor(micros / 1000))
}
