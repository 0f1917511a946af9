/**
 * Boolean spellings in query strings and bodies. Stream's API is written in Go and reads flags
 * the way Go's `strconv.ParseBool` does, so its clients send what their language prints:
 * stream-python `True`/`False`, stream-ruby and stream-js `true`/`false`, stream-php `1`/`0`.
 * Eddy accepts exactly that set (plus JSON booleans and the empty string for "not set").
 */
import { inputError } from './errors.js'

const TRUE = new Set(['1', 't', 'T', 'true', 'TRUE', 'True'])
const FALSE = new Set(['0', 'f', 'F', 'false', 'FALSE', 'False'])

/** The spellings accepted, for error details. */
export const BOOLEAN_SPELLINGS = 'true/false (also True/False, TRUE/FALSE, t/f, 1/0)'

/**
 * `true` or `false` for a boolean spelling, `undefined` when the value is not one. Missing values
 * (`undefined`, `null`, `''`) are `false`: an absent flag is off.
 */
export function booleanValue(value: unknown): boolean | undefined {
  if (value === undefined || value === null || value === '' || value === false) return false
  if (value === true) return true
  if (typeof value !== 'string') return undefined
  if (TRUE.has(value)) return true
  if (FALSE.has(value)) return false
  return undefined
}

/** Whether `value` is one of the spellings of true (not of false, and not missing). */
export function isTrueSpelling(value: unknown): boolean {
  return value === true || (typeof value === 'string' && TRUE.has(value))
}

/** Whether `value` is one of the spellings of false, or missing. */
export function isFalseSpelling(value: unknown): boolean {
  return booleanValue(value) === false
}

/** A flag's value, or a 400 naming `field` when it is not a boolean spelling. */
export function parseBoolean(value: unknown, field: string): boolean {
  const parsed = booleanValue(value)
  if (parsed === undefined) throw inputError(`${field} must be ${BOOLEAN_SPELLINGS}`, value, field)
  return parsed
}
