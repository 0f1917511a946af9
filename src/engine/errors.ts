/**
 * One error class for everything Eddy rejects, carrying Stream's error fields so code written
 * against the hosted service (`err.error.code`, `err.response.status`) keeps working.
 */
import { measure } from './measure.js'

/** Stream's error kinds Eddy raises, with their numeric code and HTTP status (docs/errors.md). */
export const ERRORS = {
  ApiKeyException: { code: 2, status: 401 },
  SignatureException: { code: 3, status: 401 },
  InputException: { code: 4, status: 400 },
  FeedConfigException: { code: 6, status: 400 },
  DoesNotExistException: { code: 16, status: 404 },
  NotAllowedException: { code: 17, status: 403 },
  ConflictException: { code: 22, status: 409 },
  NotImplementedException: { code: 4, status: 501 },
  ServiceUnavailableException: { code: 4, status: 503 },
  RateLimitReached: { code: 9, status: 429 },
} as const

/** The name of one of Stream's error kinds. */
export type ErrorKind = keyof typeof ERRORS

/** The JSON body Stream returns for an error. */
export interface ErrorBody {
  code: number
  detail: string
  exception: string
  status_code: number
  more_info: string
  exception_fields?: Record<string, string[]>
}

/** An error Eddy raised on purpose: bad input, a missing object, a forbidden call. */
export class EddyError extends Error {
  /** Stream's numeric error code (4 for bad input, 16 for not found...). */
  readonly code: number
  /** Stream's exception name, e.g. `InputException`. */
  readonly exception: string
  /** The HTTP status Stream answers with. */
  readonly status_code: number
  /** What was wrong, what is allowed, and the value received. */
  readonly detail: string
  /** The body as Stream sends it; the same field the official client's `StreamApiError` has. */
  readonly error: ErrorBody
  /** `{ status }`, like the official client's `StreamApiError.response`. */
  readonly response: { status: number }

  constructor(kind: ErrorKind, detail: string, fields?: Record<string, string[]>) {
    super(detail)
    this.name = 'EddyError'
    const { code, status } = ERRORS[kind]
    this.code = code
    this.exception = kind
    this.status_code = status
    this.detail = detail
    this.error = {
      code,
      detail,
      exception: kind,
      status_code: status,
      more_info: 'https://getstream.io/docs/api_error_responses',
      ...(fields ? { exception_fields: fields } : {}),
    }
    this.response = { status }
  }
}

/** Renders a received value for an error message, short enough to read. */
export function show(value: unknown): string {
  // JSON.stringify and String() recurse once per level: deep or huge input is only described.
  const over = measure(value, 64, 10_240)
  if (over !== undefined)
    return over === 'depth' ? 'a value nested too deep to show' : 'a value too large to show'
  let text: string
  try {
    text = typeof value === 'string' ? JSON.stringify(value) : (JSON.stringify(value) ?? String(value))
  } catch {
    text = String(value)
  }
  return text.length > 120 ? `${text.slice(0, 117)}...` : text
}

/** Bad input: says what was wrong and echoes the value. */
export function inputError(what: string, value: unknown, field?: string): EddyError {
  const detail = `${what}, got ${show(value)}`
  return new EddyError('InputException', detail, field ? { [field]: [detail] } : undefined)
}

/** The detail Stream sends with every 403 (the official client's tests compare it). */
export const NOT_ALLOWED_DETAIL =
  'You do not have permission to do this, you got this error because there are no policies allowing this request on this application. Please consult the documentation https://getstream.io/docs/'

/** 403 code 17: the caller may not do this (Stream's wording, whatever the reason). */
export function notAllowed(): EddyError {
  return new EddyError('NotAllowedException', NOT_ALLOWED_DETAIL)
}

/** A missing activity, feed, user or collection entry. */
export function notFound(detail: string): EddyError {
  return new EddyError('DoesNotExistException', detail)
}

/** An unknown or misconfigured feed group. */
export function feedConfigError(detail: string): EddyError {
  return new EddyError('FeedConfigException', detail)
}

/** 409: an id that exists already, or a write that kept losing races. */
export function conflict(detail: string): EddyError {
  return new EddyError('ConflictException', detail)
}
