/**
 * Route schemas: how Fastify validates requests with them (no coercion, no silent removal of
 * fields), and how a failed check becomes Stream's error body. Route files declare TypeBox
 * schemas (`src/server/schemas/`) and `route()` types their handlers from them.
 */
import type { FastifySchemaValidationError } from 'fastify/types/schema.js'
import { type EddyError, inputError } from '../engine/errors.js'

/**
 * Ajv settings for route schemas. Fastify's defaults coerce types (`"5"` becomes `5`), fill
 * defaults and silently drop fields a schema does not allow; Eddy's routes answered such input
 * as they found it, so schemas validate only: an unknown field stays a 400 naming it.
 * `verbose` gives the formatter the failing schema (its title and allowed fields).
 */
export const AJV_OPTIONS = {
  coerceTypes: false,
  useDefaults: false,
  removeAdditional: false,
  allErrors: false,
  verbose: true,
} as const

/** Where a request part's fields are named from in errors. */
const PART_NAMES: Record<string, string> = {
  body: 'the body',
  querystring: 'the query string',
  params: 'the path',
}

/**
 * A path as Stream names fields: `activities[1].verb` for `/activities/1/verb`; the part's name
 * (`body`, `query`, `path`) for the root.
 */
function fieldPath(instancePath: string, part: string): string {
  if (instancePath === '') return part === 'querystring' ? 'query' : part === 'params' ? 'path' : part
  let out = ''
  for (const raw of instancePath.slice(1).split('/')) {
    const key = raw.replaceAll('~1', '/').replaceAll('~0', '~')
    out += /^\d+$/.test(key) ? `[${key}]` : out === '' ? key : `.${key}`
  }
  return out
}

/** What a schema expects, in words: its title, or the kind of value and the fields it takes. */
function expected(schema: Record<string, unknown> | undefined): string {
  if (schema === undefined) return 'a valid value'
  if (typeof schema.title === 'string') return schema.title
  const type = schema.type
  if (type === 'object') {
    const fields = Object.keys((schema.properties as object | undefined) ?? {})
    return fields.length === 0 ? 'an object' : `an object with ${fields.join(', ')}`
  }
  if (type === 'array') return 'a list'
  if (type === 'integer') return 'a whole number'
  if (type === 'string' || type === 'number' || type === 'boolean') return `a ${type}`
  if (Array.isArray(type)) return type.join(' or ')
  return 'a valid value'
}

/** The allowed fields of an object schema, for "does not accept the field" errors. */
function allowedFields(schema: Record<string, unknown> | undefined): string {
  return Object.keys((schema?.properties as object | undefined) ?? {}).join(', ')
}

/** One Ajv error (with `verbose` detail) as Stream's InputException, naming the field. */
function schemaError(error: FastifySchemaValidationError, part: string): EddyError {
  const e = error as FastifySchemaValidationError & {
    parentSchema?: Record<string, unknown>
    schema?: unknown
    data?: unknown
  }
  const params = e.params as Record<string, unknown>
  const field = fieldPath(e.instancePath, part)
  const where = field === 'body' || field === 'query' || field === 'path' ? PART_NAMES[part] : field
  const parent = e.parentSchema
  switch (e.keyword) {
    case 'additionalProperties': {
      // As the hand checks said it: "a follow does not accept the field x; allowed: target, ...".
      const key = String(params.additionalProperty)
      const what = typeof parent?.title === 'string' ? parent.title : where
      return inputError(
        `${what} does not accept the field ${key}; allowed: ${allowedFields(parent)}`,
        key,
        key,
      )
    }
    case 'required': {
      const missing = String(params.missingProperty)
      const name = field === 'body' || field === 'query' || field === 'path' ? missing : `${field}.${missing}`
      return inputError(`${name} is required in ${expected(parent)}`, e.data, name)
    }
    case 'type':
      // A repeated query parameter arrives as a list.
      if (part === 'querystring' && Array.isArray(e.data) && field !== 'query')
        return inputError(`query parameter ${field} must be given once`, e.data, field)
      return inputError(`${where} must be ${expected(parent)}`, e.data, field)
    case 'maxItems':
    case 'minItems': {
      const min = parent?.minItems ?? 0
      const max = parent?.maxItems
      const range = max === undefined ? `at least ${min}` : min === 0 ? `at most ${max}` : `${min} to ${max}`
      return inputError(
        `${where} must list ${range} items`,
        Array.isArray(e.data) ? e.data.length : e.data,
        field,
      )
    }
    case 'anyOf':
    case 'oneOf':
      return inputError(`${where} must be ${expected(parent)}`, e.data, field)
    default:
      return inputError(`${where} ${e.message ?? 'is not valid'}`, e.data, field)
  }
}

/**
 * Fastify's `schemaErrorFormatter`: the first failed check (Ajv stops at one) as an EddyError,
 * which the error handler sends as Stream's body (`code` 4, `InputException`, `exception_fields`).
 */
export function schemaErrorFormatter(errors: FastifySchemaValidationError[], part: string): Error {
  // A failed anyOf lists each branch's failure first; the anyOf itself says what was expected.
  const first = errors.find((e) => e.keyword === 'anyOf' || e.keyword === 'oneOf') ?? errors[0]
  if (first === undefined) return inputError(`${PART_NAMES[part] ?? part} is not valid`, undefined, part)
  return schemaError(first, part)
}
