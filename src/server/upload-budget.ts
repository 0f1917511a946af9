/**
 * The upload budget: how many request-body bytes the whole server reads at once, on the API
 * (Fastify's parser) and on Faye's transports alike. The body limit bounds one request; without
 * this, N concurrent uploads held N × the limit (200 × 1.9 MiB grew the server by 132 MiB).
 * A request takes its declared Content-Length up front (a chunked one, each chunk as it comes)
 * and gives it all back when its response closes; one that would pass the budget gets a 503
 * ServiceUnavailableException and its connection is closed, so what it still sends is dropped.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import { Transform, type TransformCallback } from 'node:stream'
import type { FastifyInstance } from 'fastify'
import { EddyError, inputError } from '../engine/errors.js'

/** Default budget: 64 MiB of request bodies read at once, 32 bodies at the 2 MiB limit. */
export const DEFAULT_UPLOAD_BUDGET = 64 * 1024 * 1024

/** The 503 a request gets when its body would take the server past its budget. */
export function uploadBudgetError(limit: number): EddyError {
  return new EddyError(
    'ServiceUnavailableException',
    `the server is reading its upload budget of ${limit} bytes of request bodies at once; retry in a moment`,
  )
}

/** `value` as an upload budget in bytes (default {@link DEFAULT_UPLOAD_BUDGET}), or a 400 naming the rule. */
export function uploadBudgetOption(value: unknown, field = 'uploadBudget'): number {
  if (value === undefined) return DEFAULT_UPLOAD_BUDGET
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1024)
    throw inputError(`${field} must be a whole number of bytes, at least 1024`, value, field)
  return value
}

/** The bytes being read at once across the server, against one limit. */
export class UploadBudget {
  readonly limit: number
  #used = 0

  constructor(limit: number) {
    this.limit = limit
  }

  /** Bytes taken now. */
  get used(): number {
    return this.#used
  }

  /**
   * A meter for one request: takes its declared length now (false when that passes the budget)
   * and gives back everything it took when `response` closes.
   */
  open(request: IncomingMessage, response: ServerResponse): Meter | null {
    const declared = Number(request.headers['content-length'])
    const meter = new Meter(this)
    if (Number.isFinite(declared) && declared > 0 && !meter.take(declared)) return null
    meter.declared = Number.isFinite(declared) && declared >= 0
    response.once('close', () => meter.release())
    return meter
  }

  /** @internal */
  reserve(n: number): boolean {
    if (this.#used + n > this.limit) return false
    this.#used += n
    return true
  }

  /** @internal */
  free(n: number): void {
    this.#used -= n
  }
}

/** What one request took from an {@link UploadBudget}. */
export class Meter {
  readonly #budget: UploadBudget
  #taken = 0
  /** Whether the request declared its length (Node's parser then stops the body there). */
  declared = false

  constructor(budget: UploadBudget) {
    this.#budget = budget
  }

  /** Takes `n` more bytes; false when that would pass the budget (nothing taken). */
  take(n: number): boolean {
    if (!this.#budget.reserve(n)) return false
    this.#taken += n
    return true
  }

  /** Gives back all it took (once). */
  release(): void {
    this.#budget.free(this.#taken)
    this.#taken = 0
  }
}

/**
 * After an answer that refuses a body: what the client still sends is read and dropped (closing
 * at once would reset the connection under its upload, and the answer with it), and a client
 * still sending a second after the answer is cut off; the connection is not kept alive.
 */
export function dropRest(request: IncomingMessage, response: ServerResponse): void {
  let ended = request.readableEnded
  request.once('end', () => {
    ended = true
  })
  response.shouldKeepAlive = false
  response.once('finish', () => {
    if (!ended) setTimeout(() => ended || request.socket.destroy(), 1000).unref()
  })
  request.resume()
}

/** Counts a chunked body's bytes against its meter as they pass; errors with the 503 past the budget. */
class Metered extends Transform {
  readonly #meter: Meter
  readonly #limit: number

  constructor(meter: Meter, limit: number) {
    super()
    this.#meter = meter
    this.#limit = limit
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    if (this.#meter.take(chunk.length)) callback(null, chunk)
    else callback(uploadBudgetError(this.#limit))
  }
}

/** Whether `request` carries a body of at most `bodyLimit` bytes (larger ones get the limit's 413 unread). */
export function carriesBody(request: IncomingMessage, bodyLimit: number): boolean {
  const length = request.headers['content-length']
  if (length !== undefined) return Number(length) > 0 && Number(length) <= bodyLimit
  return request.headers['transfer-encoding'] !== undefined
}

/** Puts every Fastify request with a body under `budget` (a preParsing hook). */
export function registerUploadBudget(app: FastifyInstance, budget: UploadBudget, bodyLimit: number): void {
  app.addHook('preParsing', (request, reply, payload, done) => {
    const raw = request.raw
    if (!carriesBody(raw, bodyLimit)) return done(null, payload)
    const meter = budget.open(raw, reply.raw)
    if (meter === null) {
      dropRest(raw, reply.raw)
      return done(uploadBudgetError(budget.limit))
    }
    // A declared length was taken whole, and Node's parser delivers no byte past it.
    if (meter.declared) return done(null, payload)
    const metered = new Metered(meter, budget.limit)
    metered.once('error', () => {
      payload.unpipe(metered)
      dropRest(raw, reply.raw)
    })
    done(null, payload.pipe(metered))
  })
}
