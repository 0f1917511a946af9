/** Stream-shaped error bodies for everything the server rejects, and the errors it raises itself. */
import { conflict, EddyError, type ErrorBody, NOT_ALLOWED_DETAIL, notAllowed } from '../engine/errors.js'
import { duration } from '../wire/duration.js'

/** The 403 and 409 errors, defined with the engine's ownership rules. */
export { conflict, NOT_ALLOWED_DETAIL, notAllowed }

const MORE_INFO = 'https://getstream.io/docs/api_error_responses'

/** A Stream error body with `duration`, ready to send. */
export type ErrorResponse = ErrorBody & { duration: string }

/** 401 code 3: a missing, malformed, expired or tampered token. */
export function signatureError(detail: string): EddyError {
  return new EddyError('SignatureException', detail)
}

/** 401 code 2: the `api_key` query parameter is missing or wrong. */
export function apiKeyError(detail: string): EddyError {
  return new EddyError('ApiKeyException', detail)
}

/** 501: a Stream endpoint Eddy does not serve yet. */
export function notImplemented(what: string): EddyError {
  return new EddyError('NotImplementedException', `${what} is not implemented by this Eddy server yet`)
}

/** A body for an HTTP-level rejection (unknown route, too large, bad media type) with its status. */
export function httpErrorBody(status: number, detail: string, started: number): ErrorResponse {
  const exception = status === 404 ? 'DoesNotExistException' : 'InputException'
  const code = status === 404 ? 16 : 4
  return { code, detail, exception, status_code: status, more_info: MORE_INFO, duration: duration(started) }
}

/** The body and status for anything a handler threw. Non-Eddy errors become a generic 500 or the 4xx Fastify chose. */
export function errorResponse(err: unknown, started: number): { status: number; body: ErrorResponse } {
  if (err instanceof EddyError)
    return { status: err.status_code, body: { ...err.error, duration: duration(started) } }
  const status = (err as { statusCode?: unknown })?.statusCode
  if (typeof status === 'number' && status >= 400 && status < 500) {
    // Fastify's own rejections (body too large, bad media type, bad JSON): say what Fastify said.
    const message = String((err as Error).message ?? 'bad request').replace(/^FST_\w+:\s*/, '')
    return { status, body: httpErrorBody(status, message, started) }
  }
  return {
    status: 500,
    body: {
      code: -1,
      detail: 'internal server error; the request was not completed',
      exception: 'InternalServerError',
      status_code: 500,
      more_info: MORE_INFO,
      duration: duration(started),
    },
  }
}
