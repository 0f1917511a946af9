/**
 * Aggregation formats: the Jinja-like templates Stream uses to name the group an activity joins,
 * e.g. `{{ verb }}_{{ time.strftime("%Y-%m-%d") }}`. A format is compiled once, when its feed
 * group is configured, so a bad one fails at startup rather than on the first write.
 */
import { feedConfigError } from './errors.js'

/** Stream's default: same verb, same UTC day. */
export const DEFAULT_AGGREGATION_FORMAT = '{{ verb }}_{{ time.strftime("%Y-%m-%d") }}'

/** What a compiled format reads from an activity. */
export interface GroupSource {
  actor: string
  verb: string
  object: string
  target: string
  /** Activity time in microseconds since the Unix epoch. */
  micros: number
  /** The activity's other fields, for custom keys. */
  fields: Record<string, unknown>
}

/** A compiled aggregation format: activity in, group key out. */
export type GroupKeyFn = (source: GroupSource) => string

const DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday']
const MONTHS = [
  'January',
  'February',
  'March',
  'April',
  'May',
  'June',
  'July',
  'August',
  'September',
  'October',
  'November',
  'December',
]
const pad = (n: number, width = 2) => String(n).padStart(width, '0')

/** One strftime code: the UTC date and the time in microseconds in, its text out. */
type Code = (d: Date, micros: number) => string

function dayOfYear(d: Date): number {
  return Math.floor((d.getTime() - Date.UTC(d.getUTCFullYear(), 0, 1)) / 86_400_000) + 1
}

/** Week of the year whose weeks start on `firstDay` (0 Sunday, 1 Monday); days before the first are week 0. */
function weekOf(d: Date, firstDay: number): number {
  const jan1 = new Date(Date.UTC(d.getUTCFullYear(), 0, 1)).getUTCDay()
  const offset = (7 + firstDay - jan1) % 7 // days until the first `firstDay` of the year
  const day = dayOfYear(d) - 1
  return day < offset ? 0 : Math.floor((day - offset) / 7) + 1
}

// Defined once: a group key is computed on every grouped add, for every grouped feed group.
const CODES: Record<string, Code> = {
  Y: (d) => String(d.getUTCFullYear()),
  y: (d) => pad(d.getUTCFullYear() % 100),
  m: (d) => pad(d.getUTCMonth() + 1),
  d: (d) => pad(d.getUTCDate()),
  H: (d) => pad(d.getUTCHours()),
  I: (d) => pad(d.getUTCHours() % 12 || 12),
  p: (d) => (d.getUTCHours() < 12 ? 'AM' : 'PM'),
  M: (d) => pad(d.getUTCMinutes()),
  S: (d) => pad(d.getUTCSeconds()),
  f: (_, micros) => pad(micros % 1_000_000, 6),
  j: (d) => pad(dayOfYear(d), 3),
  a: (d) => DAYS[d.getUTCDay()].slice(0, 3),
  A: (d) => DAYS[d.getUTCDay()],
  b: (d) => MONTHS[d.getUTCMonth()].slice(0, 3),
  B: (d) => MONTHS[d.getUTCMonth()],
  w: (d) => String(d.getUTCDay()),
  U: (d) => pad(weekOf(d, 0)),
  W: (d) => pad(weekOf(d, 1)),
  '%': () => '%',
}

/** Compiles a strftime format into the literal texts and codes it joins (unknown codes stay as written). */
function compileStrftime(format: string): (micros: number) => string {
  const parts: (string | Code)[] = []
  let text = ''
  for (let i = 0; i < format.length; i++) {
    const code = format[i] === '%' && i + 1 < format.length ? CODES[format[i + 1]] : undefined
    if (code === undefined) {
      text += format[i]
      continue
    }
    if (text !== '') parts.push(text)
    text = ''
    parts.push(code)
    i++
  }
  if (text !== '') parts.push(text)
  return (micros) => {
    const d = new Date(Math.floor(micros / 1000))
    let out = ''
    for (const part of parts) out += typeof part === 'string' ? part : part(d, micros)
    return out
  }
}

/** Python's strftime on a UTC time, for the codes that make sense in a group key. */
export function strftime(micros: number, format: string): string {
  return compileStrftime(format)(micros)
}

const STRFTIME_CODES = /%[^YymdHIpMSfjaAbBwUW%]/
const EXPRESSION = /^time\.strftime\(\s*(?:"([^"]*)"|'([^']*)')\s*\)$|^([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*)$/

function lookup(source: GroupSource, path: string): string {
  switch (path) {
    case 'actor':
      return source.actor
    case 'verb':
    case 'verb.id':
    case 'verb.infinitive':
      return source.verb
    case 'object':
      return source.object
    case 'target':
      return source.target
    case 'time':
      return new Date(Math.floor(source.micros / 1000)).toISOString()
  }
  let value: unknown = source.fields
  for (const part of path.split('.')) {
    if (value === null || typeof value !== 'object') return ''
    value = (value as Record<string, unknown>)[part]
  }
  if (value === undefined || value === null) return ''
  return typeof value === 'object' ? JSON.stringify(value) : String(value)
}

/**
 * Compiles an aggregation format. Supports `{{ field }}` for `actor`, `verb` (`verb.id`),
 * `object`, `target`, `time` and custom fields (dotted paths), and `{{ time.strftime("...") }}`.
 * Anything else is a FeedConfigException naming the format.
 */
export function compileAggregationFormat(format: string, group = 'feed group'): GroupKeyFn {
  if (typeof format !== 'string' || format.trim() === '') {
    throw feedConfigError(
      `aggregationFormat of ${group} must be a non-empty template string, got ${JSON.stringify(format)}`,
    )
  }
  const parts: ((s: GroupSource) => string)[] = []
  let rest = format
  while (rest.length > 0) {
    const open = rest.indexOf('{{')
    const stray = rest.indexOf('}}')
    if (stray !== -1 && (open === -1 || stray < open)) {
      throw feedConfigError(`aggregationFormat of ${group} has "}}" without "{{": ${JSON.stringify(format)}`)
    }
    if (open === -1) {
      const text = rest
      parts.push(() => text)
      break
    }
    if (open > 0) {
      const text = rest.slice(0, open)
      parts.push(() => text)
    }
    const close = rest.indexOf('}}', open)
    if (close === -1)
      throw feedConfigError(`aggregationFormat of ${group} has an unclosed "{{": ${JSON.stringify(format)}`)
    const expr = rest.slice(open + 2, close).trim()
    const m = EXPRESSION.exec(expr)
    if (!m) {
      throw feedConfigError(
        `aggregationFormat of ${group} cannot use {{ ${expr} }}: use a field (actor, verb, object, target, a custom field) or time.strftime("%Y-%m-%d"), in ${JSON.stringify(format)}`,
      )
    }
    const strf = m[1] ?? m[2]
    if (strf !== undefined) {
      if (STRFTIME_CODES.test(strf)) {
        throw feedConfigError(
          `aggregationFormat of ${group} uses an unsupported strftime code in ${JSON.stringify(strf)}`,
        )
      }
      const formatTime = compileStrftime(strf)
      parts.push((s) => formatTime(s.micros))
    } else {
      const path = m[3]
      parts.push((s) => lookup(s, path))
    }
    rest = rest.slice(close + 2)
  }
  return (source) => {
    let key = ''
    for (const part of parts) key += part(source)
    return key
  }
}
