/**
 * How many guests CreateGuest makes: each call stores a new user, and anyone holding the app's key
 * (which every browser holds) may call it, so without a bound one script fills the users table.
 * Stream lets an app turn guest creation off; Eddy does that (`guests: false`) and, by default,
 * bounds the guests made per client address and window. Like the rate limits, the count is per
 * server process (rate-limiter-flexible's in-memory fixed window).
 */
import type { FastifyReply } from 'fastify'
import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible'
import { EddyError, inputError } from '../engine/errors.js'
import { intOption } from '../engine/options.js'

/** The `guests` option: guests made per client address and window (`perAddress: 0`: unbounded). */
export interface GuestOptions {
  /** CreateGuest calls per client address and window (default 60). */
  perAddress?: number
  /** Window length in seconds (default 3600). */
  windowSeconds?: number
}

/** Default: 60 CreateGuest calls per address per hour. */
export const DEFAULT_GUESTS: Required<GuestOptions> = { perAddress: 60, windowSeconds: 3600 }

/** Checks the `guests` option (createServer or the `--config` file): false turns CreateGuest off. */
export function guestOption(value: unknown): Required<GuestOptions> | false {
  if (value === false) return false
  if (value === undefined || value === null) return { ...DEFAULT_GUESTS }
  if (typeof value !== 'object' || Array.isArray(value))
    throw inputError('guests must be an object { perAddress, windowSeconds } or false', value, 'guests')
  const raw = value as Record<string, unknown>
  for (const key of Object.keys(raw))
    if (!Object.hasOwn(DEFAULT_GUESTS, key))
      throw inputError('guests accepts only perAddress and windowSeconds', key, 'guests')
  return {
    perAddress: intOption(raw.perAddress, 'guests.perAddress', 0, 1e9, DEFAULT_GUESTS.perAddress),
    windowSeconds: intOption(raw.windowSeconds, 'guests.windowSeconds', 1, 30 * 86_400, 3600),
  }
}

/** Counts CreateGuest calls per client address; refuses them all when guests are off. */
export class GuestBudget {
  readonly #options: Required<GuestOptions> | false
  readonly #limiter: RateLimiterMemory | undefined

  constructor(options: Required<GuestOptions> | false) {
    this.#options = options
    this.#limiter =
      options && options.perAddress > 0
        ? new RateLimiterMemory({ points: options.perAddress, duration: options.windowSeconds })
        : undefined
  }

  /** Counts one call from `address`: 403 when guests are off, 429 with Retry-After past the budget. */
  async take(reply: FastifyReply, address: string): Promise<void> {
    const options = this.#options
    if (!options)
      throw new EddyError(
        'NotAllowedException',
        'guest users are turned off on this server (its guests option); sign users in with a user token',
      )
    try {
      await this.#limiter?.consume(address)
    } catch (rejected) {
      if (!(rejected instanceof RateLimiterRes)) throw rejected
      const retry = Math.max(1, Math.ceil(rejected.msBeforeNext / 1000))
      reply.header('retry-after', retry)
      throw new EddyError(
        'RateLimitReached',
        `guest limit reached: ${options.perAddress} guests per ${options.windowSeconds} s from one address; retry in ${retry} s`,
      )
    }
  }
}
