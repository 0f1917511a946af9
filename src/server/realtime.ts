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
 */

import type { IncomingMessage, Server } from 'node:http'
import { createRequire } from 'node:module'
import type { Duplex } from 'node:stream'
import type { Engine } from '../engine/engine.js'
import { EddyError } from '../engine/errors.js'
import type { FeedRef } from '../engine/feed-groups.js'
import { type Authenticator, checkScope, leadingSlug, requireRead } from './auth.js'

/** The path the Faye endpoint answers on. */
export const FAYE_PATH = '/faye'

interface BayeuxMessage {
  channel: string
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
interface FayeAdapter {
  attach(server: Server): void
  addExtension(extension: FayeExtension): void
  getClient(): FayeClient
  on(event: 'subscribe' | 'unsubscribe', listener: (clientId: string, channel: string) => void): void
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
}

/** A Faye endpoint over the engine's feed events; `attach` it to the HTTP server, `close` it on shutdown. */
export class Realtime {
  readonly #adapter: FayeAdapter
  readonly #options: RealtimeOptions
  /** Per channel: how many subscribers, and the bus listener to stop when the last one leaves. */
  readonly #channels = new Map<string, { count: number; stop: () => void }>()
  readonly #sockets = new Set<Duplex>()
  #publisher: FayeClient | undefined

  constructor(options: RealtimeOptions) {
    this.#options = options
    // faye is CommonJS without types: the few members used are typed above.
    const faye = createRequire(import.meta.url)('faye') as FayeModule
    this.#adapter = new faye.NodeAdapter({ mount: FAYE_PATH, timeout: 45 })
    this.#adapter.addExtension({
      incoming: (message, request, callback) => {
        this.#authorize(message, request === null).then(
          () => callback(message),
          (error: unknown) => {
            message.error = `403::${error instanceof Error ? error.message : String(error)}`
            callback(message)
          },
        )
      },
    })
    this.#adapter.on('subscribe', (_client, channel) => this.#subscribed(channel))
    this.#adapter.on('unsubscribe', (_client, channel) => this.#unsubscribed(channel))
  }

  /** Serves `/faye` on `server` (other requests go on to the server's own handler). */
  attach(server: Server): void {
    this.#adapter.attach(server)
    // Long polls and WebSockets would hold the server's close for up to a poll timeout: they
    // are tracked here and ended by close().
    const track = (request: IncomingMessage, socket: Duplex) => {
      if (!request.url?.startsWith(FAYE_PATH)) return
      this.#sockets.add(socket)
      socket.once('close', () => this.#sockets.delete(socket))
    }
    server.on('request', (request: IncomingMessage) => track(request, request.socket))
    server.on('upgrade', track)
  }

  /** Stops publishing, closes the Faye engine and ends its connections. */
  close(): void {
    for (const { stop } of this.#channels.values()) stop()
    this.#channels.clear()
    // The in-process publishing client polls the engine: stop it before the engine goes.
    this.#publisher?.disconnect()
    this.#publisher = undefined
    this.#adapter.close()
    for (const socket of this.#sockets) socket.destroy()
    this.#sockets.clear()
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

  /** Lets only the server publish, and a subscription only with a token that may read the feed. */
  async #authorize(message: BayeuxMessage, local: boolean): Promise<void> {
    if (!message.channel.startsWith('/meta/')) {
      if (!local) throw new Error('only the server publishes')
      return
    }
    if (message.channel !== '/meta/subscribe') return
    const channels = [message.subscription ?? []].flat()
    if (channels.length !== 1) throw new Error('subscribe to one feed channel per message')
    const channel = channels[0]
    const { feed } = this.#parse(channel)
    const ext = message.ext ?? {}
    if (ext.user_id !== channel.slice(1)) throw new Error('ext.user_id must be the channel name')
    try {
      const principal = await this.#options.auth.authenticate(ext.api_key, 'jwt', ext.signature)
      checkScope(
        principal,
        { resource: 'feed', action: 'read', feedId: feed.id },
        this.#options.engine.groups,
      )
      requireRead(principal, feed, this.#options.publicRead)
    } catch (error) {
      throw new Error(error instanceof EddyError ? error.message : 'signature is not valid')
    }
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
      client.publish(channel, { ...message, app_id: appId })
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
