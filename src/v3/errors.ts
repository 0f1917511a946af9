/**
 * Feeds V3 errors: V3's APIError body (`code`, `message`, `StatusCode`, `duration`, `more_info`,
 * `details`) for everything the V3 edge rejects, built from the same EddyError the V1 API raises.
 */
import { EddyError } from '../engine/errors.js'
import { duration } from '../wire/duration.js'
import type { APIError } from './gen/spec.js'

const MORE_INFO = 'https://getstream.io/activity-feeds/docs/api/errors/'
/** V3's code for an expired token: the clients refresh their token on it and retry. */
export const TOKEN_EXPIRED = 40

/** 501 for a part of V3 this server does not serve (polls, stories, moderation, uploads...). */
export function notSupported(what: string): EddyError {
  return new EddyError(
    'NotImplementedException',
    `${what} is not supported by this server (Eddy serves the Feeds V3 slice listed in docs/v3.md)`,
  )
}

/** The V3 body and status for anything a V3 handler threw. */
export function v3ErrorResponse(err: unknown, started: number): { status: number; body: APIError } {
  if (err instanceof EddyError) {
    const expired = err.exception === 'SignatureException' && err.detail === 'signature has expired'
    const body: APIError = {
      code: expired ? TOKEN_EXPIRED : err.code,
      message: err.detail,
      StatusCode: err.status_code,
      duration: duration(started),
      more_info: MORE_INFO,
      details: [],
    }
    if (err.error.exception_fields) {
      body.exception_fields = Object.fromEntries(
        Object.entries(err.error.exception_fields).map(([k, v]) => [k, v.join('; ')]),
      )
    }
    return { status: err.status_code, body }
  }
  const status = (err as { statusCode?: unknown })?.statusCode
  if (typeof status === 'number' && status >= 400 && status < 500) {
    // Fastify's own rejections (body too large, bad media type): say what Fastify said.
    const message = String((err as Error).message ?? 'bad request').replace(/^FST_\w+:\s*/, '')
    return { status, body: errorBody(4, message, status, started) }
  }
  return {
    status: 500,
    body: errorBody(-1, 'internal server error; the request was not completed', 500, started),
  }
}

/** A V3 error body from its parts. */
export function errorBody(code: number, message: string, status: number, started: number): APIError {
  return { code, message, StatusCode: status, duration: duration(started), more_info: MORE_INFO, details: [] }
}
