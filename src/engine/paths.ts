/**
 * Dotted field paths (`author.name`) of partial updates. A path is walked over own properties
 * only and its segments may not be `__proto__`, `prototype` or `constructor`: through those, a
 * `set` would write into Object.prototype (and so into every object of the process, claims of
 * freshly verified tokens included) instead of into the activity.
 */
import { checkBounds, MAX_DEPTH, MAX_VALUES } from './bounds.js'
import { inputError, show } from './errors.js'

/** Segments no path (and no key Eddy assigns by) may be: they lead to a prototype, not to data. */
export const FORBIDDEN_SEGMENTS: ReadonlySet<string> = new Set(['__proto__', 'prototype', 'constructor'])
/** Fields a partial update may not change: the activity's identity and where it was delivered. */
export const IMMUTABLE_FIELDS: ReadonlySet<string> = new Set(['id', 'foreign_id', 'time', 'to', 'origin'])

type Node = Record<string, unknown>

function segmentsOf(path: unknown, field: string): string[] {
  if (typeof path !== 'string' || path === '') {
    throw inputError(`${field} keys must be field names or dotted paths like "author.name"`, path, field)
  }
  const parts = path.split('.')
  if (parts.some((p) => p === '')) {
    throw inputError(`${field} keys must be field names or dotted paths like "author.name"`, path, field)
  }
  if (parts.some((p) => FORBIDDEN_SEGMENTS.has(p))) {
    throw inputError(`${field} paths may not contain __proto__, prototype or constructor`, path, field)
  }
  // The document root is level 1, so a path of MAX_DEPTH segments already ends one level too deep.
  if (parts.length >= MAX_DEPTH) {
    throw inputError(`${field} paths may have at most ${MAX_DEPTH - 1} segments`, path, field)
  }
  return parts
}

/** Checks a partial update's path: well formed, no forbidden segment, not an immutable field. */
export function checkPath(path: unknown, field: string): string {
  const root = segmentsOf(path, field)[0]
  if (IMMUTABLE_FIELDS.has(root))
    throw inputError(`${root} cannot be changed by a partial update`, path, field)
  return path as string
}

function own(node: Node, key: string): unknown {
  return Object.hasOwn(node, key) ? node[key] : undefined
}

function define(node: Node, key: string, value: unknown): void {
  // defineProperty, not assignment: no setter (inherited or own) ever runs on input keys.
  Object.defineProperty(node, key, { value, enumerable: true, writable: true, configurable: true })
}

/**
 * Sets `value` at `path` in `target`, creating (or replacing non-object values with) objects on
 * the way. `value` is bounded first so the activity it lands in stays within {@link MAX_DEPTH}.
 */
export function setPath(target: Node, path: string, value: unknown): void {
  const parts = segmentsOf(path, 'set')
  checkBounds(value, 'set', `the value set at ${show(path)}`, {
    depth: MAX_DEPTH - parts.length,
    values: MAX_VALUES,
  })
  let node = target
  for (const part of parts.slice(0, -1)) {
    const next = own(node, part)
    if (next === null || typeof next !== 'object' || Array.isArray(next)) {
      const created: Node = {}
      define(node, part, created)
      node = created
    } else node = next as Node
  }
  define(node, parts[parts.length - 1], value)
}

/** Removes the field at `path` from `target`, if it is there; never looks past own properties. */
export function unsetPath(target: Node, path: string): void {
  const parts = segmentsOf(path, 'unset')
  let node: unknown = target
  for (const part of parts.slice(0, -1)) {
    if (node === null || typeof node !== 'object') return
    node = own(node as Node, part)
  }
  const last = parts[parts.length - 1]
  if (node !== null && typeof node === 'object' && Object.hasOwn(node, last)) delete (node as Node)[last]
}
