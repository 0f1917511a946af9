/**
 * Rate limits like Stream's: every endpoint (method + route) has its own budget per window, for
 * the API key as a whole (every caller together) and for each user token's user, so one user
 * cannot spend the app's budget and a throttled follow does not stop feed reads. Over the limit is
 * Stream's 429 `RateLimitReached` (code 9); every limited response carries `X-Ratelimit-Limit`,
 * `X-Ratelimit-Remaining` and `X-Ratelimit-Reset` (unix seconds) for the tightest budget.
 *
 * Counting is rate-limiter-flexible's in-memory fixed window: exact for one process. Several
 * processes behind one key would each count their own; its Redis limiter is the drop-in for that.
 */
import type { FastifyReply } from 'fastify'
import { type RateLimiterAbstract, RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible'
import { EddyError, inputError } from '../engine/errors.js'
import type { Principal } from './auth.js'

/** Rate limit settings; a missing or 0 budget is unlimited. Off entirely by default. */
export interface RateLimitOptions {
  /** Requests per window to each endpoint under the API key, all callers together. */
  perKey?: number
  /** Requests per window to each endpoint by each user token's user (Stream's default: 60 a minute). */
  perUser?: number
  /** Window length in seconds (default 60, as on Stream). */
  windowSeconds?: number
}

/** Default window, Stream's: one minute. */
export const DEFAULT_WINDOW_SECONDS = 60

const KEYS = ['perKey', 'perUser', 'windowSeconds'] as const

function count(value: unknown, field: string, min: number, max: number): number | undefined {
  if (value === undefined) return undefined
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw inputError(
      `rateLimit.${field} must be an integer from ${min} to ${max}`,
      value,
      `rateLimit.${field}`,
    )
  }
  return value
}

/** Checks rate limit settings (from `createServer` or the `--config` file); false means off. */
export function rateLimitOptions(value: unknown): RateLimitOptions | undefined {
  if (value === undefined || value === null || value === false) return undefined
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw inputError(
      'rateLimit must be an object { perKey, perUser, windowSeconds } or false',
      value,
      'rateLimit',
    )
  }
  const raw = value as Record<string, unknown>
  for (const key of Object.keys(raw)) {
    if (!(KEYS as readonly string[]).includes(key))
      throw inputError(`rateLimit accepts only ${KEYS.join(', ')}`, key, 'rateLimit')
  }
  const options: RateLimitOptions = {}
  const perKey = count(raw.perKey, 'perKey', 0, 1e9)
  const perUser = count(raw.perUser, 'perUser', 0, 1e9)
  const windowSeconds = count(raw.windowSeconds, 'windowSeconds', 1, 86_400)
  if (perKey !== undefined) options.perKey = perKey
  if (perUser !== undefined) options.perUser = perUser
  if (windowSeconds !== undefined) options.windowSeconds = windowSeconds
  return options
}

/**
 * Parses the `--rate-limit` flag: `key=<n>,user=<n>,window=<seconds>` (any of them), or `off`.
 * Throws an error whose message says what is wrong.
 */
export function parseRateLimit(spec: string): RateLimitOptions | undefined {
  if (spec.trim() === 'off') return undefined
  const names = { key: 'perKey', user: 'perUser', window: 'windowSeconds' } as const
  const options: Record<string, number> = {}
  for (const part of spec.split(',')) {
    const match = /^\s*(key|user|window)\s*=\s*(\d+)\s*$/.exec(part)
    if (!match) throw new Error(`--rate-limit takes key=<n>,user=<n>,window=<seconds> or off, got ${spec}`)
    options[names[match[1] as keyof typeof names]] = Number(match[2])
  }
  return rateLimitOptions(options)
}

/** One budget: a limiter and what it is called in messages. */
interface Budget {
  limiter: RateLimiterAbstract
  points: number
  scope: string
}

/** The server's rate limiters; `take` counts one request. */
export class RateLimits {
  readonly #key: Budget | undefined
  readonly #user: Budget | undefined
  readonly #window: number

  constructor(options: RateLimitOptions) {
    this.#window = options.windowSeconds ?? DEFAULT_WINDOW_SECONDS
    const budget = (points: number | undefined, scope: string): Budget | undefined =>
      points
        ? { limiter: new RateLimiterMemory({ points, duration: this.#window }), points, scope }
        : undefined
    this.#key = budget(options.perKey, 'the API key')
    this.#user = budget(options.perUser, 'this user')
  }

  /** Whether any budget is set (otherwise the server skips the limiter altogether). */
  get active(): boolean {
    return this.#key !== undefined || this.#user !== undefined
  }

  /**
   * Counts one call of `endpoint` by `principal`: the user's budget first (a throttled user does
   * not spend the key's), then the key's. Sets the headers for the budget with the fewest calls
   * left; throws 429 RateLimitReached when one is exhausted.
   */
  async take(reply: FastifyReply, endpoint: string, principal: Principal): Promise<void> {
    let tightest: { budget: Budget; res: RateLimiterRes } | undefined
    const user = principal.kind === 'user' ? principal.userId : undefined
    for (const [budget, key] of [
      [user === undefined ? undefined : this.#user, `${user}\n${endpoint}`],
      [this.#key, endpoint],
    ] as const) {
      if (!budget) continue
      let res: RateLimiterRes
      try {
        res = await budget.limiter.consume(key)
      } catch (rejected) {
        if (!(rejected instanceof RateLimiterRes)) throw rejected
        this.#headers(reply, budget, rejected)
        const retry = Math.max(1, Math.ceil(rejected.msBeforeNext / 1000))
        reply.header('retry-after', retry)
        throw new EddyError(
          'RateLimitReached',
          `rate limit reached: ${budget.points} calls per ${this.#window} s to ${endpoint} for ${budget.scope}; retry in ${retry} s`,
        )
      }
      if (!tightest || res.remainingPoints < tightest.res.remainingPoints) tightest = { budget, res }
    }
    if (tightest) this.#headers(reply, tightest.budget, tightest.res)
  }

  #headers(reply: FastifyReply, budget: Budget, res: RateLimiterRes): void {
    reply.header('x-ratelimit-limit', budget.points)
    reply.header('x-ratelimit-remaining', res.remainingPoints)
    reply.header('x-ratelimit-reset', Math.ceil((Date.now() + res.msBeforeNext) / 1000))
  }
}

/** The server's limits for `options`, or undefined when no budget is set (nothing to count). */
export function rateLimits(options: RateLimitOptions | undefined): RateLimits | undefined {
  const limits = options && new RateLimits(options)
  return limits?.active ? limits : undefined
}
