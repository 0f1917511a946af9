/**
 * Nesting and size bounds of input. JSON.stringify, structuredClone and String() recurse once
 * per level, so a few thousand levels of `[[[...]]]` overflow the stack; every body and document
 * is measured here first, with an explicit stack, so nothing deeper ever reaches them.
 */
import { inputError } from './errors.js'
import { measure } from './measure.js'

/**
 * Deepest nesting of one document (an activity, user data, a collection entry), counting the
 * document itself as level 1. Real documents use a handful of levels.
 */
export const MAX_DEPTH = 64
/** Deepest nesting of a request body: a document inside the deepest envelope, with room to spare. */
export const MAX_BODY_DEPTH = 80
/**
 * Most values (objects, lists, strings, numbers...) one document may hold. Each value takes at
 * least two bytes of JSON, so a 10 KB document never reaches this; it stops object graphs that
 * share children (embedded callers) from being walked exponentially often.
 */
export const MAX_VALUES = 10_240

/** How deep and how large a value may be, and what to call it in errors. */
export interface Bounds {
  depth: number
  values: number
}

/** The bounds of an activity, user data or a collection entry. */
export const DOCUMENT_BOUNDS: Bounds = { depth: MAX_DEPTH, values: MAX_VALUES }
/** The bounds of a whole request body (its size is bounded by the server's body limit). */
export const BODY_BOUNDS: Bounds = { depth: MAX_BODY_DEPTH, values: Number.POSITIVE_INFINITY }

/**
 * Throws a 400 naming `field` and the limit when `value` nests deeper than `bounds.depth` levels
 * of objects and lists, or holds more than `bounds.values` values. Iterative (see {@link measure}),
 * so any depth, or a cycle, is measured without recursing.
 */
export function checkBounds(value: unknown, field: string, what: string, bounds = DOCUMENT_BOUNDS): void {
  const over = measure(value, bounds.depth, bounds.values)
  if (over === 'values') {
    throw inputError(
      `${what} may hold at most ${bounds.values} values (objects, lists, strings, numbers...)`,
      `more than ${bounds.values}`,
      field,
    )
  }
  if (over === 'depth') {
    throw inputError(
      `${what} may nest objects and lists at most ${bounds.depth} levels deep`,
      `more than ${bounds.depth} levels`,
      field,
    )
  }
}
