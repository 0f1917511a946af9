/** Validation of the numeric options that many calls share. */
import { inputError } from './errors.js'

/** Checks an optional integer option (a number or a decimal string) and returns it or the default. */
export function intOption(value: unknown, field: string, min: number, max: number, fallback: number): number {
  if (value === undefined || value === null || value === '') return fallback
  const n = typeof value === 'string' && /^-?\d+$/.test(value) ? Number(value) : value
  if (typeof n !== 'number' || !Number.isInteger(n) || n < min || n > max) {
    throw inputError(`${field} must be an integer from ${min} to ${max}`, value, field)
  }
  return n
}
