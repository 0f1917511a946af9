/**
 * Realtime over Faye (Bayeux), as Stream serves it (stream-api.md §3.8): the `faye` package's
 * Node adapter mounted at `/faye` on the server's HTTP server, so the official client's
 * `feed.subscribe(cb)` works with `fayeUrl: 'http://host:port/faye'`.
 *
 * A subscription to `/site-<appId>-feed-<slug><userId>` must carry the client's
 * `ext: { user_id: <the channel name>, api_key, signature: <feed or user token> }`: the token is
 * verified with the server's secret (the REST authenticator), and the caller must be allowed to
 * read the feed (a server token's scope, a user token's read permission). Only the server
 * publishes: it listens on the engine's event bus for each channel someone subscribed to, and
 * publishes Stream's message there with the channel's `app_id`.
 *
 * Requests and WebSocket messages reach the Bayeux server through faye-transport.ts (bounded,
 * CORS as configured); subscriptions are capped per connection and per user (realtime-caps.ts).
 */

import type { Server } from 'node:http'
import { createRequire } from 'node:module'
import type { Engine } from '../engine/engine.js'
import { EddyError } from '../engine/errors.js'
import type { FeedRef } from '../engine/feed-groups.js'
import { type Authenticator, checkScope, leadingSlug, type Principal, requireRead } from './auth.js'
import type { CorsOption } from './cors.js'
import { type FayeAdapterInternals, FayeTransport } from './faye-transport.js'
import { capKey, type RealtimeLimits, SubscriptionCaps } from './realtime-caps.js'
import type { UploadBudget } from './upload-budget.js'

/** The path the Faye endpoint answers on. */
export const FAYE_PATH = '/faye'

interface BayeuxMessage {
  channel: string
  clientId?: unknown
  subscription?: string | string[]
  ext?: { user_id?: unknown; api_key?: unknown; signature?: unknown }
  error?: string
}
type Next = (message: BayeuxMessage) => void
interface FayeExtension {
  incoming?(message: BayeuxMessage, request: unknown, callback: Next): void
}
interface FayeClient {
  publish(channel: string, data: unknown): unknown
  disconnect(): unknown
}
type FayeEvent = 'subscribe' | 'unsubscribe' | 'handshake' | 'disconnect'
interface FayeAdapter extends FayeAdapterInternals {
  addExtension(extension: FayeExtension): void
  getClient(): FayeClient
  on(event: FayeEvent, listener: (clientId: string, channel: string) => void): void
  close(): void
}
interface FayeModule {
  NodeAdapter: new (options: { mount: string; timeout: number; ping?: number }) => FayeAdapter
}

const CHANNEL = /^\/site-([^/]+?)-feed-([^/]+)$/

/** What the Faye endpoint needs from the server. */
export interface RealtimeOptions {
  engine: Engine
  auth: Authenticator
  publicRead: Set<string>
  /** Largest request body or WebSocket message, in bytes (the server's body limit). */
  bodyLimit: number
  /** Browser origins allowed, as for the REST routes. */
  cors: CorsOption
  /** The server's upload budget, shared with the API routes. */
  uploads: UploadBudget
  /** Subscription and connection caps (realtime-caps.ts). */
  limits: RealtimeLimits
}

/** A subscription that passed authorization: whose it is, for the caps. */
interface Admitted {
  clientId: string
  channel: string
  key: string | undefined
  /** The user whose token subscribed (undefined: a server token). */
  userId: string | undefined
}

/** A Faye endpoint over the engine's feed events; `attach` it to the HTTP server, `close` it on shutdown. */
export class Realtime {
  readonly #adapter: FayeAdapter
  readonly #transport: FayeTransport
  readonly #options: RealtimeOptions
  /** Subscriptions per connection and per user, and live connections. */
  readonly caps: SubscriptionCaps
  /** Per channel: how many subscribers, and the bus listener to stop when the last one leaves. */
  readonly #channels = new Map<string, { count: number; stop: () => void }>()
  /** Per connection, the channels it subscribed to with a user's token, and whose: a deactivation ends them. */
  readonly #userChannels = new Map<string, Map<string, string>>()
  /** Per user, the connections holding such channels. */
  readonly #clientsOf = new Map<string, Set<string>>()
  /** Stops hearing deactivations. */
  readonly #stopStanding: () => void
  #publisher: FayeClient | undefined

  constructor(options: RealtimeOptions) {
    this.#options = options
    this.caps = new SubscriptionCaps(options.limits)
    // faye is CommonJS without types: the few members used are typed above.
    const faye = createRequire(import.meta.url)('faye') as FayeModule
    this.#adapter = new faye.NodeAdapter({ mount: FAYE_PATH, timeout: 45 })
    this.#transport = new FayeTransport(this.#adapter, {
      path: FAYE_PATH,
      bodyLimit: options.bodyLimit,
      cors: options.cors,
      uploads: options.uploads,
    })
    this.#adapter.addExtension({
      incoming: (message, request, callback) => {
        this.#authorize(message, request === null)
          .then(
            (admitted) => {
              // Checked and handed on in one step: the engine's subscribe event follows synchronously,
              // so a batch of subscriptions cannot all pass the check before any is counted.
              const refusal = this.#refusal(message, admitted)
              if (refusal !== undefined) message.error = `403::${refusal}`
              // The server's own handshake (its in-process publisher) opens a connection never dropped.
              if (request === null && message.channel === '/meta/handshake' && refusal === undefined)
                return this.caps.trustedHandshake(() => callback(message))
              if (admitted === undefined || refusal !== undefined) return callback(message)
              if (admitted.userId !== undefined)
                this.#remember(admitted.userId, admitted.clientId, admitted.channel)
              this.caps.attribute(admitted.clientId, admitted.channel, admitted.key, () => callback(message))
            },
            (error: unknown) => {
              message.error = `403::${error instanceof Error ? error.message : String(error)}`
              callback(message)
            },
          )
          // Whatever the Bayeux server throws while handling a message stays here: a rejection
          // nobody handles would end the process.
          .catch(() => undefined)
      },
    })
    this.#adapter.on('subscribe', (client, channel) => {
      this.caps.subscribed(client, channel)
      this.#subscribed(channel)
    })
    this.#adapter.on('unsubscribe', (client, channel) => {
      this.caps.unsubscribed(client, channel)
      this.#unsubscribed(channel)
      this.#forget(client, channel)
    })
    this.#adapter.on('handshake', (client) => this.caps.opened(client))
    this.#adapter.on('disconnect', (client) => {
      this.caps.closed(client)
      for (const channel of [...(this.#userChannels.get(client)?.keys() ?? [])]) this.#forget(client, channel)
    })
    // A deactivated user's subscriptions end, on every server (the engine hears it on the bus);
    // the connection stays for what else it holds, and a new subscribe is refused by #authorize.
    this.#stopStanding = options.engine.standing.onDeactivated((ids) => {
      for (const id of ids)
        for (const clientId of [...(this.#clientsOf.get(id) ?? [])])
          for (const [channel, userId] of [...(this.#userChannels.get(clientId) ?? [])])
            if (userId === id) this.#adapter._server._engine.unsubscribe(clientId, channel)
    })
  }

  /** Notes that `clientId` subscribes to `channel` with `userId`'s token. */
  #remember(userId: string, clientId: string, channel: string): void {
    const channels = this.#userChannels.get(clientId) ?? new Map<string, string>()
    channels.set(channel, userId)
    this.#userChannels.set(clientId, channels)
    const clients = this.#clientsOf.get(userId) ?? new Set<string>()
    clients.add(clientId)
    this.#clientsOf.set(userId, clients)
  }

  /** Forgets `clientId`'s subscription to `channel` (it ended). */
  #forget(clientId: string, channel: string): void {
    const channels = this.#userChannels.get(clientId)
    const userId = channels?.get(channel)
    if (!channels || userId === undefined) return
    channels.delete(channel)
    if (channels.size === 0) this.#userChannels.delete(clientId)
    if ([...channels.values()].includes(userId)) return
    const clients = this.#clientsOf.get(userId)
    if (clients?.delete(clientId) && clients.size === 0) this.#clientsOf.delete(userId)
  }

  /** Serves `/faye` on `server` (other requests go on to the server's own handler). */
  attach(server: Server): void {
    this.#transport.attach(server)
  }

  /** Stops publishing, closes the Faye engine and ends its connections. */
  close(): void {
    this.#stopStanding()
    for (const { stop } of this.#channels.values()) stop()
    this.#channels.clear()
    // The in-process publishing client polls the engine: stop it before the engine goes.
    this.#publisher?.disconnect()
    this.#publisher = undefined
    this.#adapter.close()
    this.#transport.close()
  }

  /** Why the caps refuse `message` now, or undefined. */
  #refusal(message: BayeuxMessage, admitted: Admitted | undefined): string | undefined {
    if (message.channel === '/meta/handshake')
      return this.caps.connectionRefusal((clientId) => this.#adapter._server._engine.destroyClient(clientId))
    if (admitted === undefined) return undefined
    return this.caps.subscribeRefusal(admitted.clientId, admitted.channel, admitted.key)
  }

  /** Feed and app id of a Stream channel, or an error saying why it is not one. */
  #parse(channel: string): { feed: FeedRef; appId: string } {
    const match = CHANNEL.exec(channel)
    if (!match) throw new Error(`channel ${channel.slice(0, 200)} is not /site-<appId>-feed-<slug><userId>`)
    const [, appId, together] = match
    // The client joins slug and user id without a separator: the longest configured slug wins.
    const slug = leadingSlug(together, this.#options.engine.groups.keys())
    if (slug === undefined) throw new Error(`channel ${channel.slice(0, 200)} names no configured feed group`)
    return { feed: this.#options.engine.feed(slug, together.slice(slug.length)), appId }
  }

  /**
   * Lets only the server publish, and a subscription only with a token that may read the feed;
   * resolves with the subscription to count against the caps.
   */
  async #authorize(message: BayeuxMessage, local: boolean): Promise<Admitted | undefined> {
    if (typeof message.channel !== 'string') throw new Error('a message needs a channel')
    if (!message.channel.startsWith('/meta/')) {
      if (!local) throw new Error('only the server publishes')
      return undefined
    }
    if (message.channel !== '/meta/subscribe' || local) return undefined
    const channels = [message.subscription ?? []].flat()
    if (channels.length !== 1 || typeof channels[0] !== 'string')
      throw new Error('subscribe to one feed channel per message')
    const channel = channels[0]
    const { feed } = this.#parse(channel)
    const ext = message.ext ?? {}
    if (ext.user_id !== channel.slice(1)) throw new Error('ext.user_id must be the channel name')
    let principal: Principal
    try {
      principal = await this.#options.auth.authenticate(ext.api_key, 'jwt', ext.signature)
      if (principal.kind === 'user') await this.#options.engine.standing.requireActive(principal.userId)
      checkScope(
        principal,
        { resource: 'feed', action: 'read', feedId: feed.id },
        this.#options.engine.groups,
      )
      requireRead(principal, feed, this.#options.publicRead)
    } catch (error) {
      throw new Error(error instanceof EddyError ? error.message : 'signature is not valid')
    }
    const clientId = typeof message.clientId === 'string' ? message.clientId : ''
    const userId = principal.kind === 'user' ? principal.userId : undefined
    return { clientId, channel, key: capKey(principal), userId }
  }

  #subscribed(channel: string): void {
    const known = this.#channels.get(channel)
    if (known) {
      known.count++
      return
    }
    let parsed: { feed: FeedRef; appId: string }
    try {
      parsed = this.#parse(channel)
    } catch {
      return // only authorized (parsed) channels get here; a meta channel has nothing to publish
    }
    const { feed, appId } = parsed
    this.#publisher ??= this.#adapter.getClient()
    const client = this.#publisher
    const stop = this.#options.engine.events.listen(feed.id, (message) => {
      // deleted_v3_ids is for Feeds V3's sockets, not part of Stream's V1 message.
      const { deleted_v3_ids: _v3, ...v1 } = message
      client.publish(channel, { ...v1, app_id: appId })
    })
    this.#channels.set(channel, { count: 1, stop })
  }

  #unsubscribed(channel: string): void {
    const known = this.#channels.get(channel)
    if (!known) return
    if (--known.count > 0) return
    known.stop()
    this.#channels.delete(channel)
  }
}
