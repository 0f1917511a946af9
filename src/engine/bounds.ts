/**
 * Nesting, size and text bounds of input. JSON.stringify, structuredClone and String() recurse
 * once per level, so a few thousand levels of `[[[...]]]` overflow the stack; every body and
 * document is measured here first, with an explicit stack, so nothing deeper ever reaches them.
 * The same walk refuses text that some store cannot keep (see {@link storable}), so every store
 * holds the same data and a bad string is a 400 at the door, never a fan-out job that fails.
 */
import { inputError } from './errors.js'

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

/** Most users one batch call (add, get, delete) may carry. */
export const MAX_USERS = 100
/** Most collection entries one upsert, select or deleteMany call may carry. */
export const MAX_ENTRIES = 1_000

/** How deep and how large a value may be, and what to call it in errors. */
export interface Bounds {
  depth: number
  values: number
}

/** The bounds of an activity, user data or a collection entry. */
export const DOCUMENT_BOUNDS: Bounds = { depth: MAX_DEPTH, values: MAX_VALUES }
/** The bounds of a whole request body (its size is bounded by the server's body limit). */
export const BODY_BOUNDS: Bounds = { depth: MAX_BODY_DEPTH, values: Number.POSITIVE_INFINITY }

/** What the text rule says, in every error that applies it (docs/server.md, "Input rules"). */
/** The keys of a list: none (one shared array, so walking a list allocates nothing for them). */
const NO_KEYS: readonly string[] = []

export const TEXT_RULE =
  'must not contain NUL (\\u0000) characters or lone UTF-16 surrogates, which not every store can keep'

/**
 * Whether every store can keep `text` as given: PostgreSQL refuses NUL in text and lone surrogates
 * in JSON, and encodes them differently elsewhere, where memory and SQLite keep them as they are.
 */
export function storable(text: string): boolean {
  return !text.includes('\u0000') && (text as WellFormed).isWellFormed()
}

// Node 20 has String.prototype.isWellFormed (ES2024); the project's lib stays ES2023.
type WellFormed = string & { isWellFormed(): boolean }

/** Throws a 400 naming `field` when `text` is a string that {@link storable} refuses. */
export function checkText(text: unknown, field: string): void {
  if (typeof text === 'string' && !storable(text)) throw inputError(`${field} ${TEXT_RULE}`, text, field)
}

/**
 * Throws a 400 naming `field` and the limit when `value` nests deeper than `bounds.depth` levels
 * of objects and lists, or holds more than `bounds.values` values; and one naming the path
 * (`meta.tags[2]`, after `prefix`) of the first string or key that {@link storable} refuses.
 * Iterative, so any depth, or a cycle, is measured without recursing. `prefix` names the root
 * in paths: `''` when the value is an envelope whose keys are fields themselves (an activity, a
 * body), else `field`.
 */
export function checkBounds(
  value: unknown,
  field: string,
  what: string,
  bounds = DOCUMENT_BOUNDS,
  prefix = field,
): void {
  if (typeof value === 'string') checkText(value, prefix || field)
  if (value === null || typeof value !== 'object') return
  const nodes: object[] = [value]
  const depths: number[] = [1]
  let count = 1
  let unstorable = false
  for (;;) {
    const node = nodes.pop()
    const depth = depths.pop()
    if (node === undefined || depth === undefined) break
    const list = Array.isArray(node)
    const keys = list ? NO_KEYS : Object.keys(node)
    const size = list ? node.length : keys.length
    count += size
    if (count > bounds.values) {
      throw inputError(
        `${what} may hold at most ${bounds.values} values (objects, lists, strings, numbers...)`,
        `more than ${bounds.values}`,
        field,
      )
    }
    for (let i = 0; i < size; i++) {
      let child: unknown
      if (list) child = node[i]
      else {
        const key = keys[i]
        if (!storable(key)) unstorable = true
        child = (node as Record<string, unknown>)[key]
      }
      if (typeof child === 'string') {
        if (!storable(child)) unstorable = true
        continue
      }
      if (child === null || typeof child !== 'object') continue
      if (depth >= bounds.depth) {
        throw inputError(
          `${what} may nest objects and lists at most ${bounds.depth} levels deep`,
          `more than ${bounds.depth} levels`,
          field,
        )
      }
      nodes.push(child)
      depths.push(depth + 1)
    }
  }
  // Rare: only then are paths built, to name the field (the value is bounded by now).
  if (unstorable) refuseText(value, field, what, prefix)
}

/** Throws the 400 for the first unstorable key or string of `value`, named by its path. */
function refuseText(value: object, field: string, what: string, prefix: string): void {
  const nodes: [object, string][] = [[value, prefix]]
  for (let next = nodes.shift(); next !== undefined; next = nodes.shift()) {
    const [node, path] = next
    const list = Array.isArray(node)
    const keys = list ? NO_KEYS : Object.keys(node)
    const size = list ? node.length : keys.length
    for (let i = 0; i < size; i++) {
      const key: string | undefined = list ? undefined : keys[i]
      if (key !== undefined && !storable(key)) {
        throw inputError(`the keys of ${path || what} ${TEXT_RULE}`, key, path || field)
      }
      const child = list ? node[i] : (node as Record<string, unknown>)[keys[i]]
      const at = key === undefined ? `${path}[${i}]` : path ? `${path}.${key}` : key
      if (typeof child === 'string') checkText(child, at)
      else if (child !== null && typeof child === 'object') nodes.push([child, at])
    }
  }
}
