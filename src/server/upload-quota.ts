/**
 * The upload quota: how many bytes each user token's user may upload (files and images together)
 * per window, so one user cannot fill the server's disk or bucket. Over it is Stream's 429
 * `RateLimitReached` with a `Retry-After`. Server tokens are the app's own backend and are not
 * counted (their uploads are bounded by the size limits and the upload budget only). Like the rate
 * limits, the count is per server process (rate-limiter-flexible's in-memory fixed window).
 */
import type { FastifyReply } from 'fastify'
import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible'
import { EddyError, inputError } from '../engine/errors.js'

/** Upload quota settings: bytes per user per window; `perUser: 0` (or `false` for the option) turns it off. */
export interface UploadQuotaOptions {
  /** Bytes each user token's user may upload per window (default 100 MiB). */
  perUser?: number
  /** Window length in seconds (default 3600). */
  windowSeconds?: number
}

/** Default quota: 100 MiB per user per hour. */
export const DEFAULT_UPLOAD_QUOTA = { perUser: 100 * 1024 * 1024, windowSeconds: 3600 }

const KEYS = ['perUser', 'windowSeconds']

function whole(value: unknown, field: string, min: number, max: number, fallback: number): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max)
    throw inputError(
      `uploadQuota.${field} must be a whole number from ${min} to ${max}`,
      value,
      `uploadQuota.${field}`,
    )
  return value
}

/** Checks the `uploadQuota` option (createServer or the `--config` file): undefined means off. */
export function uploadQuotaOption(value: unknown): Required<UploadQuotaOptions> | undefined {
  if (value === false || value === null) return undefined
  if (value === undefined) return { ...DEFAULT_UPLOAD_QUOTA }
  if (typeof value !== 'object' || Array.isArray(value))
    throw inputError(
      'uploadQuota must be an object { perUser, windowSeconds } or false',
      value,
      'uploadQuota',
    )
  const raw = value as Record<string, unknown>
  for (const key of Object.keys(raw))
    if (!KEYS.includes(key))
      throw inputError(`uploadQuota accepts only ${KEYS.join(', ')}`, key, 'uploadQuota')
  const perUser = whole(raw.perUser, 'perUser', 0, Number.MAX_SAFE_INTEGER, DEFAULT_UPLOAD_QUOTA.perUser)
  const windowSeconds = whole(
    raw.windowSeconds,
    'windowSeconds',
    1,
    30 * 86_400,
    DEFAULT_UPLOAD_QUOTA.windowSeconds,
  )
  return perUser === 0 ? undefined : { perUser, windowSeconds }
}

/** Bytes uploaded per user in the current window, against the quota. */
export class UploadQuota {
  readonly #limiter: RateLimiterMemory

  constructor(readonly options: Required<UploadQuotaOptions>) {
    this.#limiter = new RateLimiterMemory({ points: options.perUser, duration: options.windowSeconds })
  }

  /** Refuses before any byte is read when `user` has nothing left in this window. */
  async check(reply: FastifyReply, user: string): Promise<void> {
    const res = await this.#limiter.get(user)
    if (res && res.remainingPoints <= 0) throw this.#refusal(reply, user, res, 0)
  }

  /** Counts `bytes` uploaded by `user`; a 429 (nothing counted) when they pass what is left. */
  async take(reply: FastifyReply, user: string, bytes: number): Promise<void> {
    try {
      await this.#limiter.consume(user, bytes)
    } catch (rejected) {
      if (!(rejected instanceof RateLimiterRes)) throw rejected
      // What the refused upload added is given back: only kept bytes count.
      await this.#limiter.reward(user, bytes)
      throw this.#refusal(reply, user, rejected, bytes)
    }
  }

  #refusal(reply: FastifyReply, user: string, res: RateLimiterRes, bytes: number): EddyError {
    const retry = Math.max(1, Math.ceil(res.msBeforeNext / 1000))
    const left = Math.max(0, this.options.perUser - (res.consumedPoints - bytes))
    reply.header('retry-after', retry)
    return new EddyError(
      'RateLimitReached',
      `upload quota reached: ${user} may upload ${this.options.perUser} bytes per ${this.options.windowSeconds} s (files and images together); ${left} bytes left${bytes > 0 ? `, this upload is ${bytes}` : ''}; retry in ${retry} s`,
    )
  }
}
