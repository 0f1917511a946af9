/**
 * Realtime for Feeds V3: which WebSocket connection watches which feeds, and the `feeds.*`
 * events they get. Everything travels on the engine's feed event bus (`engine.events`) and so
 * through the same transport as Faye (in process, or Redis pub/sub across servers):
 * - a watched feed's V1 messages (adds, fan-out deliveries, removals) become
 *   `feeds.activity.added` / `feeds.activity.deleted` events;
 * - events only V3 has (feed updated, follows, reactions, comments...) are published under the
 *   bus feed `v3~<fid>`;
 * - a watch request that reaches a server other than the one holding the connection is
 *   published under `v3~~conn:<connection id>`, which only the holder listens to.
 */
import { randomBytes } from 'node:crypto'
import type { Activity } from '../engine/activity.js'
import type { FeedMessage } from '../engine/events.js'
import type { ServerContext } from '../server/context.js'
import { activityResponses } from './activities.js'
import { addCurrentFeeds } from './feed-extras.js'
import type { ActivityResponse } from './gen/spec.js'
import { notificationUpdate } from './notifications.js'

/** Most feeds one connection may watch (a watch past it is refused). */
export const MAX_WATCHED_FEEDS = 200

/** What the hub needs from a socket. */
export interface Sink {
  send(text: string): void
  /** Closes the socket (the hub's disconnects: a deactivated user). */
  close(code?: number, reason?: string): void
}

interface Connection {
  id: string
  userId: string
  sink: Sink
  watched: Map<string, () => void>
  stopControl: () => void
}

const bus = (fid: string) => `v3~${fid}`
// `~` never starts a feed group (word characters only), so these never meet a feed's bus.
const control = (connectionId: string) => `v3~~conn:${connectionId}`
/** Events for one user's own connections only (bookmarks). */
const personal = (userId: string) => `v3~~user:${userId}`

/** The command on a user's personal bus that closes its connections (never sent to a client: `!` starts no event type). */
const DISCONNECT = '!disconnect'

/** The user id the hub files anonymous connections under (no user id can take it: `!` is not allowed). */
export const ANONYMOUS = '!anon'

/** Whose connections a caller may steer: its own user's, anonymous callers anonymous ones, the app any. */
export function watcherOf(caller: { kind: string; userId?: string }): string | undefined {
  if (caller.kind === 'user') return caller.userId
  return caller.kind === 'anonymous' ? ANONYMOUS : undefined
}

/** A V3 event with the fields every event has. */
export function v3Event(type: string, fields: Record<string, unknown>): Record<string, unknown> {
  return { type, created_at: new Date().toISOString(), custom: {}, ...fields }
}

/** The V3 realtime hub of one server. */
export class Hub {
  readonly #ctx: ServerContext
  readonly #connections = new Map<string, Connection>()
  /** Each message's added activities as responses, shared by the connections watching its feed. */
  readonly #shown = new WeakMap<FeedMessage, Promise<ActivityResponse[]>>()

  constructor(ctx: ServerContext) {
    this.#ctx = ctx
  }

  /** Registers a connected socket for `userId`; returns its connection id. */
  open(userId: string, sink: Sink): string {
    const id = randomBytes(18).toString('base64url')
    const events = this.#ctx.engine.events
    const stopCommands = events.listen(control(id), (m) => this.#onControl(id, m))
    const stopPersonal = events.listen(personal(userId), (m) => {
      const conn = this.#connections.get(id)
      if (!conn) return
      for (const event of m.v3 ?? []) {
        if (event.type !== DISCONNECT) this.#send(conn, event)
        else {
          this.#send(conn, v3Event('connection.error', { connection_id: id, error: event.error }))
          conn.sink.close(1000, String(event.reason ?? '').slice(0, 120))
        }
      }
    })
    const stopControl = () => {
      stopCommands()
      stopPersonal()
    }
    this.#connections.set(id, { id, userId, sink, watched: new Map(), stopControl })
    return id
  }

  /** Forgets a connection and its watches. */
  close(connectionId: string): void {
    const conn = this.#connections.get(connectionId)
    if (!conn) return
    this.#connections.delete(connectionId)
    conn.stopControl()
    for (const stop of conn.watched.values()) stop()
  }

  /** How many connections this server holds. */
  get size(): number {
    return this.#connections.size
  }

  /** Asks the connection's server to start (or stop) sending `fid`'s events to it, for `userId`. */
  watch(connectionId: string, userId: string | undefined, fid: string, on = true): void {
    const conn = this.#connections.get(connectionId)
    if (conn) {
      this.#setWatch(conn, userId, fid, on)
      return
    }
    this.#ctx.engine.events.publish(
      this.#message(control(connectionId), [
        { type: on ? 'watch' : 'unwatch', fid, user_id: userId ?? null },
      ]),
    )
  }

  /** Publishes V3 events of feed `fid` to every connection watching it, on every server. */
  publish(fid: string, events: Record<string, unknown>[]): void {
    if (events.length === 0) return
    this.#ctx.engine.events.publish(this.#message(bus(fid), events))
  }

  /** Publishes V3 events to `userId`'s own connections, on every server. */
  publishToUser(userId: string, events: Record<string, unknown>[]): void {
    if (events.length === 0) return
    this.#ctx.engine.events.publish(this.#message(personal(userId), events))
  }

  /** Closes every connection of `userId`, on every server, after a `connection.error` carrying `error` (V3's error body). */
  disconnectUser(userId: string, error: { message: string }): void {
    this.#ctx.engine.events.publish(
      this.#message(personal(userId), [{ type: DISCONNECT, error, reason: error.message }]),
    )
  }

  #message(feed: string, events: Record<string, unknown>[]): FeedMessage {
    return {
      feed,
      new: [],
      deleted: [],
      deleted_foreign_ids: [],
      app_id: '',
      published_at: new Date().toISOString(),
      v3: events,
    }
  }

  #onControl(connectionId: string, message: FeedMessage): void {
    const conn = this.#connections.get(connectionId)
    if (!conn) return
    for (const command of message.v3 ?? []) {
      if (typeof command.fid !== 'string') continue
      const user = typeof command.user_id === 'string' ? command.user_id : undefined
      this.#setWatch(conn, user, command.fid, command.type === 'watch')
    }
  }

  #setWatch(conn: Connection, userId: string | undefined, fid: string, on: boolean): void {
    // A request may steer only its own user's connection (a server token: any).
    if (userId !== undefined && userId !== conn.userId) return
    const existing = conn.watched.get(fid)
    if (!on) {
      existing?.()
      conn.watched.delete(fid)
      return
    }
    if (existing || conn.watched.size >= MAX_WATCHED_FEEDS) return
    const events = this.#ctx.engine.events
    const stopV1 = events.listen(fid, (m) => void this.#fromV1(conn, fid, m))
    const stopV3 = events.listen(bus(fid), (m) => {
      for (const event of m.v3 ?? []) this.#send(conn, event)
    })
    conn.watched.set(fid, () => {
      stopV1()
      stopV3()
    })
  }

  /** Turns a feed's V1 message (adds, removals) into V3 activity events. */
  async #fromV1(conn: Connection, fid: string, message: FeedMessage): Promise<void> {
    if (message.new.length > 0) {
      const shown = await this.#added(fid, message)
      for (const activity of shown) this.#send(conn, v3Event('feeds.activity.added', { fid, activity }))
    }
    // Each removed activity once, by its V3 id: its own id when it was added with one, else the
    // engine's (V1 foreign ids are not V3 ids).
    const ownIds = new Map(message.deleted_v3_ids ?? [])
    for (const engineId of new Set(message.deleted)) {
      const id = ownIds.get(engineId) ?? engineId
      this.#send(conn, v3Event('feeds.activity.deleted', { fid, activity: { id, feeds: [fid] } }))
    }
    if (message.new.length > 0 || message.deleted.length > 0) {
      // Notification feeds: the groups the adds joined and the feed's new status (notifications.ts).
      const update = await notificationUpdate(this.#ctx, fid, message.new as Activity[], conn.userId).catch(
        () => undefined,
      )
      if (update) this.#send(conn, update)
    }
  }

  /**
   * A message's added activities as V3 responses, built once per message however many of this
   * server's connections watch its feed (every listener gets the same message object).
   */
  #added(fid: string, message: FeedMessage): Promise<ActivityResponse[]> {
    let shown = this.#shown.get(message)
    if (!shown) {
      const added = message.new as Activity[]
      // With current_feed (no own fields: an event is the same for every watcher), which tells the
      // client to fetch its own fields of a feed it has not seen yet (OwnBatch, own-fields.ts).
      // Only an activity of one feed has one: as Stream's, the event of an activity added to several
      // feeds leaves it out, and the client keeps what its last read said (whether this event comes
      // before or after the AddActivity response; the suite's activity-websocket-events pins it).
      const single = added.flatMap((a, i) => (ofOneFeed(a) ? [i] : []))
      shown = activityResponses(this.#ctx, added, fid)
        .then(async (responses) => {
          await addCurrentFeeds(
            this.#ctx,
            single.map((i) => added[i] as Activity),
            single.map((i) => responses[i] as ActivityResponse),
            fid,
          )
          return responses
        })
        .catch(() => [])
      this.#shown.set(message, shown)
    }
    return shown
  }

  #send(conn: Connection, event: Record<string, unknown>): void {
    if (!this.#connections.has(conn.id)) return
    try {
      conn.sink.send(JSON.stringify(event))
    } catch {
      // A socket that fails is closed by its own handlers.
    }
  }
}

/** Whether an activity was added to one feed only (its events can name the feed it is in). */
function ofOneFeed(activity: Activity): boolean {
  return !Array.isArray(activity.feeds) || activity.feeds.length <= 1
}
