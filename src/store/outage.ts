/**
 * Outages of PostgreSQL and Redis, as people read them: one line per state change of a server
 * (down, with what to check, and back), never a driver's stack per reconnection attempt, and
 * reasons in plain words instead of a driver's internals ("max retries per request limit").
 */

/** Where outage lines go; `eddy: ` lines on stderr unless replaced (setOutageLog). */
let sink: (line: string) => void = (line) => process.stderr.write(`eddy: ${line}\n`)

/** Sends outage lines elsewhere (an app's logger); returns the previous sink. */
export function setOutageLog(next: (line: string) => void): (line: string) => void {
  const previous = sink
  sink = next
  return previous
}

const CODES: Record<string, string> = {
  ECONNREFUSED: 'nothing accepts connections there (connection refused)',
  ECONNRESET: 'the server closed the connection',
  EPIPE: 'the server closed the connection',
  ETIMEDOUT: 'no answer (timed out)',
  EHOSTUNREACH: 'the host is unreachable',
  ENETUNREACH: 'the network is unreachable',
  ENOTFOUND: 'the host name does not resolve',
  EAI_AGAIN: 'the host name does not resolve (DNS)',
}

/** A driver error in plain words: what happened, without the driver's internals. */
export function plainReason(error: unknown): string {
  const e = error as { code?: unknown; message?: unknown } | undefined
  const code = typeof e?.code === 'string' ? e.code : undefined
  if (code && CODES[code]) return CODES[code]
  const message = typeof e?.message === 'string' ? e.message : String(error)
  const named =
    /\b(ECONNREFUSED|ECONNRESET|EPIPE|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|ENOTFOUND|EAI_AGAIN)\b/.exec(
      message,
    )?.[1]
  if (named) return CODES[named]
  // ioredis's words for "the connection is down and my retries for this command ran out".
  if (/Connection terminated unexpectedly|server closed the connection unexpectedly/i.test(message))
    return 'the server closed the connection'
  if (/max retries per request|Connection is closed|Stream isn't writeable|connection lost/i.test(message))
    return 'the connection is down'
  if (/NOAUTH|WRONGPASS|invalid password|password authentication failed/i.test(message))
    return 'the server refused the password'
  return message
}

/**
 * The state of one server (by the name messages show, e.g. `Redis at redis://host:6379`), shared
 * by every connection to it, so an outage seen by five connections is still one line each way.
 */
export class Outage {
  readonly #name: string
  readonly #advice: string
  /** Connections seen failing since the last good answer; empty while the server is up. */
  readonly #down = new Set<object>()
  #since = 0

  constructor(name: string, advice: string) {
    this.#name = name
    this.#advice = advice
  }

  /** `connection` failed with `error`: logs "down" if it is the first since the server was up. */
  down(connection: object, error: unknown): void {
    const first = this.#down.size === 0
    this.#down.add(connection)
    if (!first) return
    this.#since = Date.now()
    sink(`${this.#name} is down: ${plainReason(error)}; retrying until it is back (${this.#advice})`)
  }

  /** `connection` works again: logs "back" once no connection is failing any more. */
  up(connection: object): void {
    if (!this.#down.delete(connection) || this.#down.size > 0) return
    const seconds = Math.max(1, Math.round((Date.now() - this.#since) / 1000))
    sink(`${this.#name} is back after ${seconds} s`)
  }

  /** `connection` was closed on purpose: it no longer counts, and logs nothing. */
  forget(connection: object): void {
    this.#down.delete(connection)
  }
}

const outages = new Map<string, Outage>()

/** The shared state of the server `name`; `advice` says what to check while it is down. */
export function outageOf(name: string, advice: string): Outage {
  let outage = outages.get(name)
  if (!outage) {
    outage = new Outage(name, advice)
    outages.set(name, outage)
  }
  return outage
}

/** The events of an ioredis client that outage tracking listens to. */
interface Watched {
  on(event: 'error' | 'ready' | 'end', listener: (error?: unknown) => void): unknown
}

/** Last error each Redis connection reported, for messages: ioredis's own rejection hides it. */
const lastErrors = new WeakMap<object, unknown>()

/**
 * Tracks a Redis connection: its first failure after it worked logs "down", its recovery "back"
 * (once every connection to that Redis works again). Failures before it ever worked are the
 * opener's to report (connectChecked), so they log nothing here.
 */
export function watchRedis(client: Watched, shown: string): void {
  const outage = outageOf(`Redis at ${shown}`, `check that Redis is running and reachable at ${shown}`)
  let worked = false
  client.on('error', (error) => {
    lastErrors.set(client, error)
    if (worked) outage.down(client, error)
  })
  client.on('ready', () => {
    worked = true
    lastErrors.delete(client)
    outage.up(client)
  })
  client.on('end', () => outage.forget(client))
}

/**
 * Why a Redis command failed, in plain words with what to check: the connection's own last error
 * when ioredis only says its retries ran out.
 */
export function redisFailure(client: object, error: unknown, shown: string): string {
  const said = plainReason(error)
  const last = lastErrors.get(client)
  const reason = said === 'the connection is down' && last !== undefined ? plainReason(last) : said
  return `${reason}; check that Redis is running and reachable at ${shown} (Eddy reconnects by itself)`
}
