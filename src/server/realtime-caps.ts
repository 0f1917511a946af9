/**
 * Realtime fairness: how many channels one Faye connection (client id) and one user may listen
 * to on this server, and how many connections the server keeps. Without them one user token
 * subscribing to 110,000 public `user` channels pushed the listening set past its cap and other
 * subscribers missed messages. Counts follow the Bayeux engine's own subscribe, unsubscribe,
 * handshake and disconnect events, so a connection that times out gives its channels back.
 */
import { inputError } from '../engine/errors.js'
import { intOption } from '../engine/options.js'
import type { Principal } from './auth.js'

/** The caps (docs/server.md, Realtime limits). */
export interface RealtimeLimits {
  /** Most channels one Faye connection (client id) may subscribe to (default 100). */
  channelsPerConnection: number
  /** Most channels one user may subscribe to over all its connections to this server (default 1,000). */
  channelsPerUser: number
  /** Most Faye connections (handshaken client ids) the server keeps at once (default 100,000). */
  connections: number
}

/** The default caps. */
export const DEFAULT_REALTIME_LIMITS: RealtimeLimits = {
  channelsPerConnection: 100,
  channelsPerUser: 1_000,
  connections: 100_000,
}

/** Validates `realtime` limits (each optional, a whole number from 1 to 10,000,000). */
export function realtimeLimits(value: unknown): RealtimeLimits {
  if (value === undefined) return { ...DEFAULT_REALTIME_LIMITS }
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    throw inputError(
      'realtime must be an object such as { channelsPerConnection: 100, channelsPerUser: 1000, connections: 100000 }',
      value,
      'realtime',
    )
  const given = value as Record<string, unknown>
  for (const key of Object.keys(given)) {
    if (!Object.hasOwn(DEFAULT_REALTIME_LIMITS, key))
      throw inputError(
        `realtime takes channelsPerConnection, channelsPerUser and connections, not ${key}`,
        key,
        'realtime',
      )
  }
  const limit = (key: keyof RealtimeLimits) =>
    intOption(given[key], `realtime.${key}`, 1, 10_000_000, DEFAULT_REALTIME_LIMITS[key])
  return {
    channelsPerConnection: limit('channelsPerConnection'),
    channelsPerUser: limit('channelsPerUser'),
    connections: limit('connections'),
  }
}

/**
 * Whose subscription a principal's is, for the per-user cap: a user token's user, a feed-scoped
 * server token's feeds; undefined for a server token scoped to every feed (the app's backend,
 * which holds the secret's power anyway and is held by neither cap).
 */
export function capKey(principal: Principal): string | undefined {
  if (principal.kind === 'user') return `user:${principal.userId}`
  if (principal.feedId.includes('*')) return undefined
  return `feeds:${principal.feedId.join(',')}`
}

/** Subscriptions per connection and per user, and live connections; see the module comment. */
export class SubscriptionCaps {
  readonly limits: RealtimeLimits
  /** Client id -> its channels -> whose subscription it is (undefined: uncapped). */
  readonly #clients = new Map<string, Map<string, string | undefined>>()
  readonly #users = new Map<string, number>()
  readonly #live = new Set<string>()
  /**
   * Live connections that listen to nothing (none yet, or none left), oldest first: what a full
   * server drops to make room. A handshake needs no token, so without this a token-less flood of
   * handshakes held every connection and locked every subscriber out until the flood timed out.
   */
  readonly #idle = new Set<string>()
  /** The server's own connections (its in-process publisher): never dropped. */
  readonly #trusted = new Set<string>()
  #expected: { clientId: string; channel: string; key: string | undefined } | undefined
  #trustedHandshake = false

  constructor(limits: RealtimeLimits) {
    this.limits = limits
  }

  /**
   * Why a new connection is refused now, or undefined. At the cap, the oldest connection that
   * listens to nothing is dropped (`drop` ends it in the Bayeux engine) to make room; only when
   * every connection listens is the handshake refused.
   */
  connectionRefusal(drop: (clientId: string) => void): string | undefined {
    if (this.#live.size < this.limits.connections) return undefined
    const [oldest] = this.#idle
    if (oldest !== undefined) {
      this.closed(oldest)
      drop(oldest)
      return undefined
    }
    return `the server holds its most realtime connections (${this.limits.connections}); retry later`
  }

  /** Runs `handshake` (synchronous with the memory engine); the connection it opens is the server's own. */
  trustedHandshake(handshake: () => void): void {
    this.#trustedHandshake = true
    try {
      handshake()
    } finally {
      this.#trustedHandshake = false
    }
  }

  /** Why `clientId` may not subscribe to `channel` for `key` now, or undefined (a repeat is always fine). */
  subscribeRefusal(clientId: string, channel: string, key: string | undefined): string | undefined {
    if (key === undefined) return undefined
    const channels = this.#clients.get(clientId)
    if (channels?.has(channel)) return undefined
    const { channelsPerConnection, channelsPerUser } = this.limits
    if (countCapped(channels) >= channelsPerConnection)
      return `a connection may listen to at most ${channelsPerConnection} channels; unsubscribe from one first (realtime channelsPerConnection)`
    if ((this.#users.get(key) ?? 0) >= channelsPerUser)
      return `a user may listen to at most ${channelsPerUser} channels on this server; unsubscribe from one first (realtime channelsPerUser)`
    return undefined
  }

  /**
   * Runs `subscribe` (the Bayeux server's handling of the message, synchronous with the memory
   * engine), attributing the subscription it reports to `key`.
   */
  attribute(clientId: string, channel: string, key: string | undefined, subscribe: () => void): void {
    this.#expected = { clientId, channel, key }
    try {
      subscribe()
    } finally {
      this.#expected = undefined
    }
  }

  /** The engine subscribed `clientId` to `channel`. */
  subscribed(clientId: string, channel: string): void {
    const expected = this.#expected
    const key = expected?.clientId === clientId && expected.channel === channel ? expected.key : undefined
    const channels = this.#clients.get(clientId) ?? new Map<string, string | undefined>()
    this.#clients.set(clientId, channels)
    this.#idle.delete(clientId)
    if (channels.has(channel)) return
    channels.set(channel, key)
    if (key !== undefined) this.#users.set(key, (this.#users.get(key) ?? 0) + 1)
  }

  /** The engine unsubscribed `clientId` from `channel` (also when the client went away). */
  unsubscribed(clientId: string, channel: string): void {
    const channels = this.#clients.get(clientId)
    if (!channels?.has(channel)) return
    const key = channels.get(channel)
    channels.delete(channel)
    if (channels.size === 0) {
      this.#clients.delete(clientId)
      // Listening to nothing again: droppable, so subscribing and unsubscribing cannot pin a slot.
      if (this.#live.has(clientId) && !this.#trusted.has(clientId)) this.#idle.add(clientId)
    }
    if (key === undefined) return
    const left = (this.#users.get(key) ?? 1) - 1
    if (left > 0) this.#users.set(key, left)
    else this.#users.delete(key)
  }

  /** A client handshook. */
  opened(clientId: string): void {
    this.#live.add(clientId)
    if (this.#trustedHandshake) this.#trusted.add(clientId)
    else this.#idle.add(clientId)
  }

  /** A client disconnected or timed out (the engine unsubscribed its channels first). */
  closed(clientId: string): void {
    this.#live.delete(clientId)
    this.#idle.delete(clientId)
    this.#trusted.delete(clientId)
  }

  /** Current counts, for tests and metrics. */
  counts(): { connections: number; users: number; subscriptions: number } {
    let subscriptions = 0
    for (const channels of this.#clients.values()) subscriptions += channels.size
    return { connections: this.#live.size, users: this.#users.size, subscriptions }
  }
}

function countCapped(channels: Map<string, string | undefined> | undefined): number {
  if (!channels) return 0
  let n = 0
  for (const key of channels.values()) if (key !== undefined) n++
  return n
}

const FLAG_KEYS: Record<string, keyof RealtimeLimits> = {
  connection: 'channelsPerConnection',
  user: 'channelsPerUser',
  connections: 'connections',
}

/** `eddy serve --realtime-limit connection=<n>,user=<n>,connections=<n>` (each optional) as limits to validate. */
export function parseRealtimeLimit(spec: string): Partial<RealtimeLimits> {
  const limits: Partial<RealtimeLimits> = {}
  for (const part of spec.split(',')) {
    const [name, value, extra] = part.trim().split('=')
    if (!Object.hasOwn(FLAG_KEYS, name) || extra !== undefined || !/^\d+$/.test(value ?? ''))
      throw inputError(
        '--realtime-limit takes connection=<n>,user=<n>,connections=<n> (each optional), e.g. connection=100,user=1000',
        part,
        'realtime',
      )
    limits[FLAG_KEYS[name]] = Number(value)
  }
  realtimeLimits(limits) // each within its range, else the error names it
  return limits
}
